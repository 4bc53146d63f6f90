"""Every GAN family, imported so that each registers itself, and the lookup by name.

The family files import base.py (``Family``, ``register``) and nothing imports them but this module, so
adding a family is one file plus one name in the import below.
"""
from __future__ import annotations

from ..errors import GenmetricsError
from . import aae, acgan, dcgan, gan, lsgan, nade, pixelcnn, unrolled, vae, wgan, wgan_gp  # noqa: F401  (they register)
from .base import FAMILIES, Family


def get_family(name: str) -> Family:
    """The registered family ``name``; a GenmetricsError listing the choices otherwise."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise GenmetricsError(f"unknown model {name!r}: choose one of {', '.join(sorted(FAMILIES))}") from None
