"""Networks at the data's native resolution (``native_size``): the digits are 8x8 images upsampled to 32x32,
so the default digits run trains its networks at 8x8 and resamples as the data were resampled."""
import pytest
import torch
import torch.nn.functional as F

from genmetrics import GenmetricsError
from genmetrics.trainers import prepare
from genmetrics.trainers.data import load_digits
from genmetrics.trainers.nets import build_discriminator, build_generator, conv_layout

pytest.importorskip("sklearn")  # digits come from scikit-learn (an optional extra)

SMALL = dict(g_width=8, d_width=8, z_dim=8, batch_size=8, device="cpu")


def upsampling_matrix(native: int, size: int) -> torch.Tensor:
    """The (size^2, native^2) linear map of bilinear upsampling, column by column."""
    basis = torch.eye(native * native, dtype=torch.float64).view(-1, 1, native, native)
    up = F.interpolate(basis, size=(size, size), mode="bilinear", align_corners=False)
    return up.view(native * native, size * size).T


def residual_outside(images: torch.Tensor, basis: torch.Tensor) -> float:
    """The largest distance of an image from the span of ``basis``'s columns (least squares)."""
    flat = images.double().flatten(1).T
    coefficients = torch.linalg.lstsq(basis, flat).solution
    return float((basis @ coefficients - flat).norm(dim=0).max())


def moved_within_blocks(x: torch.Tensor) -> torch.Tensor:
    """``x`` with brightness moved between rows inside every 4x4 block: the same 8x8 area average."""
    moved = x.clone()
    moved[..., ::4, :] += 0.3
    moved[..., 1::4, :] -= 0.3
    return moved


def assert_blind_within_blocks(net, x: torch.Tensor) -> None:
    """``net`` (working at 8x8 on 32 px input) gives the same output for ``x`` and ``moved_within_blocks(x)``,
    to float32 round-off relative to the output's scale (1e-5: N(0, 0.02) weights give small outputs), while
    its output does depend on the 8x8 image (a mirrored input moves it by more than 1e-2 of that scale)."""
    with torch.no_grad():
        out = net(x)
        scale = out.abs().max()
        assert (net(moved_within_blocks(x)) - out).abs().max() < 1e-5 * scale
        assert (net(x.flip(-1)) - out).abs().max() > 1e-2 * scale


def test_digits_networks_work_at_8px_and_generate_32px_images_in_the_datas_space():
    config = prepare("dcgan", "digits", "unused", **SMALL)[0]
    assert (config.image_size, config.native_size) == (32, 8)
    generator = build_generator(config).eval()
    with torch.no_grad():
        images = generator(torch.randn(16, config.z_dim, generator=torch.Generator().manual_seed(0)))
    assert images.shape == (16, 1, 32, 32) and images.abs().max() <= 1
    basis = upsampling_matrix(8, 32)
    # Every generated image is a bilinear upsampling of an 8x8 image (float64 least squares: residual at
    # float32 round-off, 1e-5), as the training digits are up to their uint8 rounding (half a grey level,
    # 0.5 / 255 per pixel, at most 0.5 / 255 * 32 = 0.063 over 1,024 pixels).
    assert residual_outside(images, basis) < 1e-5
    real = load_digits(32)[0][:64].double() / 255
    assert residual_outside(real, basis) < 0.063
    # ... while unconstrained 32x32 images are not.
    assert residual_outside(torch.rand(4, 1, 32, 32), basis) > 1


def test_the_discriminator_sees_the_area_average_at_native_size():
    config = prepare("dcgan", "digits", "unused", **SMALL)[0]
    discriminator = build_discriminator(config).eval()
    # Moving brightness within each 4x4 block leaves the 8x8 average, hence D's output, unchanged.
    assert_blind_within_blocks(discriminator, torch.rand(4, 1, 32, 32, generator=torch.Generator().manual_seed(1)))


def test_native_size_zero_trains_at_the_image_size_and_bad_values_are_refused():
    config = prepare("dcgan", "digits", "unused", native_size=0, **SMALL)[0]
    assert conv_layout(8) == (2, 2) and conv_layout(32) == (4, 3)
    generator = build_generator(config)
    assert generator.native == 0 and generator.body[1].kernel_size == (4, 4)  # 4x4 base of the 32 px layout
    for bad in (2, 64):
        with pytest.raises(GenmetricsError, match="native_size"):
            prepare("dcgan", "digits", "unused", native_size=bad, **SMALL)
    with pytest.raises(GenmetricsError, match="native_size 8.*for image data"):
        prepare("gan", "ring8", "unused", native_size=8)


def test_progan_grows_to_the_native_size_and_every_sample_is_an_upsampled_8x8_image():
    from genmetrics.trainers.progan import process_reals

    config = prepare("progan", "digits", "unused", **SMALL)[0]
    generator, discriminator = build_generator(config).eval(), build_discriminator(config).eval()
    assert len(generator.to_rgb) == 2  # 4x4 and 8x8: no layers for 16 or 32
    # The span of 4x4 images rendered as G renders them at level 0: nearest to 8x8, then bilinear to 32x32.
    coarse = F.interpolate(torch.eye(16, dtype=torch.float64).view(-1, 1, 4, 4), size=8, mode="nearest")
    coarse = F.interpolate(coarse, size=32, mode="bilinear", align_corners=False).view(16, -1).T
    z = torch.randn(8, config.z_dim, generator=torch.Generator().manual_seed(0))
    real = load_digits(32)[0][:8].float() / 127.5 - 1
    for level in (0.0, 0.5, 1.0):
        generator.level.fill_(level)
        with torch.no_grad():
            images = generator(z)
        assert images.shape == (8, 1, 32, 32)
        # float64 least squares of float32 images: residuals at round-off (1e-5), as for dcgan above.
        assert residual_outside(images, upsampling_matrix(8, 32)) < 1e-5
        assert (residual_outside(images, coarse) < 1e-5) == (level == 0.0)  # 4x4 content only at level 0
        # The reals D sees are rendered the same way: 4x4 averages at level 0 (round-off only), the digits as
        # they are from the 8x8 fade-in on (their uint8 rounding, 0.063 on [0, 1] above, twice that on [-1, 1]).
        shown = process_reals(real, level, config.native_size)
        assert residual_outside(shown, upsampling_matrix(8, 32)) < (1e-5 if level == 0 else 0.126)
        assert (residual_outside(shown, coarse) < 1e-5) == (level == 0.0)
    assert torch.equal(process_reals(real, 1.0, 8), real)
    # D area-averages to 8x8 first: brightness moved within 4x4 blocks does not change its output.
    discriminator.level.fill_(1.0)
    assert_blind_within_blocks(discriminator, torch.rand(4, 1, 32, 32, generator=torch.Generator().manual_seed(1)))


@pytest.mark.parametrize("model", ["ebgan", "began"])
def test_autoencoder_discriminators_work_at_native_size(model):
    from genmetrics.trainers.autoencoder import reconstruction_error

    config = prepare(model, "digits", "unused", ae_code=8, **SMALL)[0]
    autoencoder = build_discriminator(config).eval()
    x = torch.rand(4, 1, 32, 32, generator=torch.Generator().manual_seed(2)) * 2 - 1
    within_blocks = moved_within_blocks(x)
    with torch.no_grad():
        assert autoencoder(x).shape == (4, 1, 8, 8)  # it reconstructs the 8x8 area average
        energy = reconstruction_error(autoencoder, x, 2)
        # The energy is the per-pixel mean over the 8x8 image (64 values), not over 32x32.
        expected = (autoencoder(x) - F.adaptive_avg_pool2d(x, 8)).pow(2).flatten(1).mean(1)
        torch.testing.assert_close(energy, expected, rtol=0, atol=1e-7)  # the same ops: round-off
        # float32 round-off of the block averages (1e-6 relative to energies of order 0.1-1).
        torch.testing.assert_close(reconstruction_error(autoencoder, within_blocks, 2), energy, rtol=1e-5, atol=1e-6)
        # ... while what it reconstructs depends on the 8x8 image (relative to the small outputs of N(0, 0.02)
        # weights, whose energy is about the mean square of the input: a flip alone would not change it).
    assert_blind_within_blocks(autoencoder, x)
