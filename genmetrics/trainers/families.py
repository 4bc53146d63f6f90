"""Every GAN family, imported so that each registers itself, and the lookup by name.

The family files import base.py (``Family``, ``register``) and nothing imports them but this module, so
adding a family is one file plus one name in the import below.
"""
from __future__ import annotations

from . import acgan, began, cgan, dcgan, ebgan, gan, infogan, lsgan, progan, sgan, unrolled, wgan, wgan_gp  # noqa: F401  (they register)
from . import cyclegan, discogan, pix2pix, stargan  # noqa: F401  (translation families: they register)
from . import aae, nade, pixelcnn, vae  # noqa: F401  (they register)
from . import stackgan  # noqa: F401  (text to image: it registers)
from .base import Family, lookup_family


def get_family(name: str) -> Family:
    """The registered family ``name``; a GenmetricsError listing the choices otherwise."""
    return lookup_family(name)
