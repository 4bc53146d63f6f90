"""The image loader: inputs, ordering, colour policy and bad input."""
import io
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from genmetrics import GenmetricsError
from genmetrics.data import ArraySource, BadImage, FolderSource, IterableSource, open_images


def rgb(seed, size=(8, 6)):
    return np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)


def test_folder_is_recursive_case_insensitive_and_sorted(tmp_path):
    (tmp_path / "b").mkdir()
    Image.fromarray(rgb(0)).save(tmp_path / "b" / "z.PNG")
    Image.fromarray(rgb(1)).save(tmp_path / "a.JpEg", format="JPEG")
    Image.fromarray(rgb(2)).save(tmp_path / "c.webp", format="WEBP")
    Image.fromarray(rgb(3)).save(tmp_path / "d.tif")
    Image.fromarray(rgb(4)).save(tmp_path / "e.bmp")
    (tmp_path / "notes.txt").write_text("not an image")
    source = open_images(tmp_path)
    assert isinstance(source, FolderSource)
    assert source.files == ["a.JpEg", "b/z.PNG", "c.webp", "d.tif", "e.bmp"]
    assert np.array_equal(source.load(1), rgb(0))


def test_colour_policy_matches_pil_convert_rgb(tmp_path):
    # The reference tools all call Image.open(p).convert('RGB'): grayscale, RGBA and palette must match it.
    base = Image.fromarray(rgb(5, (10, 12)))
    variants = {"gray.png": base.convert("L"), "rgba.png": base.convert("RGBA"),
                "pal.png": base.convert("P"), "la.png": base.convert("LA")}
    for name, image in variants.items():
        image.save(tmp_path / name)
    source = open_images(tmp_path)
    for i, name in enumerate(source.files):
        expected = np.asarray(Image.open(tmp_path / name).convert("RGB"))
        assert np.array_equal(source.load(i), expected), name
        assert source.load(i).shape == (10, 12, 3)


def test_sixteen_bit_grayscale_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)  # exact multiples of 257 map to 0,1,128,255
    Image.fromarray(values).save(tmp_path / "deep.png")
    loaded = open_images(tmp_path / "deep.png").load(0)
    assert loaded[..., 0].tolist() == [[0, 1, 128, 255]]
    assert np.array_equal(loaded[..., 0], loaded[..., 2])


def test_zip_matches_folder(tmp_path):
    images = [rgb(i) for i in range(3)]
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for i, image in enumerate(images):
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, format="PNG")
            out.writestr(f"imgs/{2 - i}.png", buffer.getvalue())
        out.writestr("readme.md", "x")
    source = open_images(archive)
    assert source.files == ["imgs/0.png", "imgs/1.png", "imgs/2.png"]
    assert np.array_equal(source.load(0), images[2])


@pytest.mark.parametrize("layout", ["nhwc", "nchw", "nhw", "nhw1", "n1hw"])
def test_array_layouts(tmp_path, layout):
    gray = np.random.default_rng(0).integers(0, 256, (4, 9, 7), dtype=np.uint8)
    color = np.random.default_rng(0).integers(0, 256, (4, 9, 7, 3), dtype=np.uint8)
    array, expected = {
        "nhwc": (color, color), "nchw": (color.transpose(0, 3, 1, 2), color),
        "nhw": (gray, np.repeat(gray[..., None], 3, -1)),
        "nhw1": (gray[..., None], np.repeat(gray[..., None], 3, -1)),
        "n1hw": (gray[:, None], np.repeat(gray[..., None], 3, -1)),
    }[layout]
    np.save(tmp_path / "a.npy", array)
    np.savez(tmp_path / "a.npz", images=array, labels=np.arange(4))
    for source in (open_images(tmp_path / "a.npy"), open_images(tmp_path / "a.npz"), open_images(array),
                   open_images(torch.from_numpy(array))):
        assert len(source) == 4
        assert np.array_equal(source.load(3), expected[3])


def test_float_arrays_are_quantised_like_save_image(tmp_path):
    from torchvision.utils import save_image

    x = torch.rand(1, 3, 5, 4, generator=torch.Generator().manual_seed(0))
    save_image(x, tmp_path / "saved.png")
    from_png = np.asarray(Image.open(tmp_path / "saved.png").convert("RGB"))
    assert np.array_equal(open_images(x).load(0), from_png)


def test_iterable_of_batches():
    batches = [np.zeros((2, 4, 4, 3), np.uint8), torch.ones(3, 1, 4, 4)]
    source = open_images(iter(batches))
    assert isinstance(source, IterableSource)
    out = list(source.batches())
    assert [tuple(b.shape) for b in out] == [(2, 3, 4, 4), (3, 3, 4, 4)]
    assert out[1].dtype == torch.uint8 and int(out[1].max()) == 255


def test_corrupt_image_is_named(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    source = open_images(tmp_path)
    with pytest.raises(BadImage, match="bad.png"):
        source.load(0)


def test_truncated_image_is_named(tmp_path):
    Image.fromarray(rgb(0, (64, 64))).save(tmp_path / "t.png")
    data = (tmp_path / "t.png").read_bytes()
    (tmp_path / "t.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(BadImage, match="t.png"):
        open_images(tmp_path).load(0)


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing", "does not exist"),
    (lambda p: p, "empty folder"),
    (lambda p: (p / "x.txt").write_text("x") and p, "no images found"),
    (lambda p: (p / "x.gif").write_bytes(b"GIF89a") and p / "x.gif", "unsupported file type"),
])
def test_bad_paths(tmp_path, make, message):
    with pytest.raises(GenmetricsError, match=message):
        open_images(make(tmp_path))


def test_bad_arrays(tmp_path):
    np.save(tmp_path / "f.npy", np.zeros((2, 4, 4, 3), np.float32))
    with pytest.raises(GenmetricsError, match="must be uint8"):
        open_images(tmp_path / "f.npy")
    np.save(tmp_path / "s.npy", np.zeros((2, 4, 4, 5), np.uint8))
    with pytest.raises(GenmetricsError, match="channel axis"):
        open_images(tmp_path / "s.npy")
    np.savez(tmp_path / "stats.npz", mu=np.zeros(3), sigma=np.eye(3))
    with pytest.raises(GenmetricsError, match="statistics"):
        open_images(tmp_path / "stats.npz")
    np.savez(tmp_path / "multi.npz", a=np.zeros((1, 2, 2, 3), np.uint8), b=np.zeros(3))
    with pytest.raises(GenmetricsError, match="several arrays"):
        open_images(tmp_path / "multi.npz")
    assert isinstance(open_images(np.zeros((1, 2, 2, 3), np.uint8)), ArraySource)


def test_list_of_paths_keeps_the_given_order(tmp_path):
    for i in range(3):
        Image.fromarray(rgb(i)).save(tmp_path / f"{i}.png")
    source = open_images([tmp_path / "2.png", str(tmp_path / "0.png")])
    assert len(source) == 2 and np.array_equal(source.load(0), rgb(2))
    assert source.item_name(1).endswith("0.png")
    with pytest.raises(GenmetricsError, match="does not exist"):
        open_images([tmp_path / "9.png"])
