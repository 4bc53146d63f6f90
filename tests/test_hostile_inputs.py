"""Hostile inputs (issue 11): nothing lost in silence, no silently wrong number, no traceback, no hang.

Each test first checks the loader itself (cheap, and it fails without hanging on the code before the fix),
then, where it matters, the command line: a result plus a warning, or one error line and exit 2.
"""
import io
import json
import os
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

import genmetrics
from genmetrics import GenmetricsError
from genmetrics.cache import input_identity
from genmetrics.data import BadImage, open_images
from genmetrics.testing import synthetic_images, write_image_folder
from tests.test_cli import fails_cleanly, run


def rgb(seed, size=(8, 6)):
    return np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)


def two_images(folder):
    write_image_folder(folder, synthetic_images(2, size=16, seed=0))
    return folder


def warning_lines(err):
    return [line for line in err.splitlines() if line.startswith("genmetrics: warning:")]


def n_scored(folder, weights, *extra):
    """The number of images `genmetrics is` scored, and its stderr; fails on any non-zero exit."""
    code, out, err = run("is", folder, "--weights", weights, "--splits", "1", "--json", "-q", *extra)
    assert code == 0 and "Traceback" not in err, (code, out, err)
    return json.loads(out)["n"], err


# ---------------------------------------------------------------- 1. symbolic link loops
def test_symlink_loop_counts_each_image_once(tmp_path, weights):
    folder = two_images(tmp_path / "loop")
    (folder / "sub").mkdir()
    (folder / "sub" / "up").symlink_to("..")  # before the fix: 2 images listed 82 times over 40 levels
    with pytest.warns(UserWarning, match=r"skipped 1 folder reached a second time .*: sub/up -> \.\."):
        source = open_images(folder)
    assert source.files == ["00000.png", "00001.png"]
    n, err = n_scored(folder, weights)
    assert n == 2 and len(warning_lines(err)) == 1 and "sub/up" in err


def test_linked_in_data_set_is_still_read(tmp_path):
    outside = two_images(tmp_path / "outside")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "set").symlink_to(outside, target_is_directory=True)
    (tmp_path / "data" / "set2").symlink_to(outside, target_is_directory=True)  # one folder, two links
    with pytest.warns(UserWarning, match="set2 -> "):
        assert open_images(tmp_path / "data").files == ["set/00000.png", "set/00001.png"]


# ---------------------------------------------------------------- 2. netpbm files; what is not an image
def test_netpbm_images_are_read_like_pil(tmp_path):
    # pytorch-fid reads .ppm and .pgm (its IMAGE_EXTENSIONS); PIL also reads .pbm and .pnm
    base = Image.fromarray(rgb(0))
    base.save(tmp_path / "a.ppm")
    base.convert("L").save(tmp_path / "b.pgm")
    base.convert("1").save(tmp_path / "c.pbm")
    base.save(tmp_path / "d.PNM", format="PPM")
    source = open_images(tmp_path)
    assert source.files == ["a.ppm", "b.pgm", "c.pbm", "d.PNM"]
    for i, name in enumerate(source.files):
        assert np.array_equal(source.load(i), np.asarray(Image.open(tmp_path / name).convert("RGB"))), name


def test_files_that_are_not_images_are_counted(tmp_path, weights):
    folder = two_images(tmp_path / "mixed")
    for name in ("notes.txt", "labels.csv", "x.gif"):
        (folder / name).write_text("x")
    (folder / ".DS_Store").write_text("x")  # hidden: ignored by design, not reported
    with pytest.warns(UserWarning, match=r"skipped 3 files that are not images, e\.g\. labels\.csv"):
        open_images(folder)
    n, err = n_scored(folder, weights)
    assert n == 2 and len(warning_lines(err)) == 1 and "3 files" in err


# ---------------------------------------------------------------- 3. named pipes, devices, broken links
def test_named_pipe_is_skipped_and_said(tmp_path, weights):
    folder = two_images(tmp_path / "pipe")
    os.mkfifo(folder / "x.png")  # before the fix it was listed, and opening it blocked for ever
    with pytest.warns(UserWarning, match=r"skipped 1 entry that is not a regular file: x\.png \(named pipe\)"):
        assert open_images(folder).files == ["00000.png", "00001.png"]
    n, err = n_scored(folder, weights)
    assert n == 2 and "x.png (named pipe)" in err


def test_broken_link_with_the_cache_on(tmp_path, weights, monkeypatch):
    monkeypatch.delenv("GENMETRICS_NO_CACHE")  # the traceback came from the cache's stat of the link
    folder = two_images(tmp_path / "broken")
    (folder / "y.png").symlink_to(tmp_path / "gone.png")
    with pytest.warns(UserWarning, match=r"skipped 1 broken symbolic link: y\.png"):
        assert open_images(folder).files == ["00000.png", "00001.png"]
    n, err = n_scored(folder, weights)
    assert n == 2 and "broken symbolic link: y.png" in err


def test_link_to_dev_zero_with_hash_content(tmp_path, weights, monkeypatch):
    monkeypatch.delenv("GENMETRICS_NO_CACHE")
    folder = two_images(tmp_path / "zero")
    (folder / "z.png").symlink_to("/dev/zero")  # before the fix --hash-content read it for ever
    with pytest.warns(UserWarning, match=r"z\.png \(character device\)"):
        assert open_images(folder).files == ["00000.png", "00001.png"]
    n, err = n_scored(folder, weights, "--hash-content")
    assert n == 2 and "character device" in err


def test_folder_of_only_skipped_entries_is_a_clear_error(tmp_path, weights):
    folder = tmp_path / "nothing"
    folder.mkdir()
    os.mkfifo(folder / "x.png")
    (folder / "y.png").symlink_to(tmp_path / "gone.png")
    with pytest.raises(GenmetricsError, match="no images found .*x.png \\(named pipe\\).*broken symbolic link: y.png"):
        open_images(folder)
    fails_cleanly(["is", folder, "--weights", weights], "no images found", "named pipe")


def test_single_file_and_file_list_must_be_regular_files(tmp_path, weights):
    os.mkfifo(tmp_path / "x.png")
    (tmp_path / "y.png").symlink_to(tmp_path / "gone.png")
    Image.fromarray(rgb(0)).save(tmp_path / "ok.png")
    with pytest.raises(GenmetricsError, match=r"x\.png is a named pipe, not a regular file"):
        open_images(tmp_path / "x.png")
    with pytest.raises(GenmetricsError, match=r"y\.png is a broken symbolic link"):
        open_images(tmp_path / "y.png")
    with pytest.raises(GenmetricsError, match=r"x\.png is a named pipe"):
        open_images([tmp_path / "ok.png", tmp_path / "x.png"])
    with pytest.raises(GenmetricsError, match=r"y\.png is a broken symbolic link"):
        open_images([tmp_path / "ok.png", tmp_path / "y.png"])
    with pytest.raises(GenmetricsError, match="character device"):
        open_images("/dev/zero")
    fails_cleanly(["is", tmp_path / "x.png", "--weights", weights], "x.png", "named pipe")


# ---------------------------------------------------------------- 4. the cache cannot read a file
def test_cache_identity_of_an_unreadable_file_is_a_clear_error(tmp_path, monkeypatch):
    folder = two_images(tmp_path / "set")
    source = open_images(folder)
    (folder / "00001.png").unlink()  # gone between listing and keying: FileNotFoundError before the fix
    for hash_content in (False, True):
        with pytest.raises(GenmetricsError, match=r"00001\.png: cannot read it to key the cache"):
            input_identity(source, hash_content)
    # an unreadable file (tests run as root, so chmod cannot make one: the open is refused instead)
    two_images(folder)
    real_open = open

    def refuse(path, *args, **kwargs):
        if str(path).endswith("00001.png"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refuse)
    with pytest.raises(GenmetricsError, match=r"00001\.png: cannot read it to key the cache \(Permission denied\)"):
        input_identity(source, hash_content=True)


# ---------------------------------------------------------------- 5. lists and iterables of images
def chw_images(n=4, seed=0):
    return [torch.from_numpy(rgb(seed + i)).permute(2, 0, 1) for i in range(n)]


def test_list_of_single_images_is_a_list_of_images():
    images = chw_images()  # before the fix: read as 4 batches of 3 grayscale (6, 8) images, 12 in all
    expected = [rgb(i) for i in range(4)]
    for given in (images, tuple(images), [x.permute(1, 2, 0).numpy() for x in images],
                  [x.float() / 255 for x in images]):
        source = open_images(given)
        assert len(source) == 4
        assert all(np.array_equal(source.load(i), expected[i]) for i in range(4))
    gray = [rgb(i)[..., 0] for i in range(3)]
    source = open_images(gray + [rgb(9, (5, 7))])  # (H,W) images and a different size
    assert len(source) == 4 and np.array_equal(source.load(1), np.repeat(gray[1][..., None], 3, -1))
    graded = [x.float().div(255).requires_grad_() for x in images]  # .numpy() refused these
    assert np.array_equal(open_images(graded).load(0), expected[0])


def test_half_precision_images_are_quantised_in_float32():
    # bfloat16 tensors could not be .numpy()'d (a traceback); in bfloat16 itself 255 * x + 0.5 keeps 8
    # bits and about a quarter of uniform values land one level off. Exact: the same float32 arithmetic.
    x = torch.rand(1, 3, 10, 100, generator=torch.Generator().manual_seed(0)).bfloat16()
    exact = open_images(x.float()).load(0)
    assert np.array_equal(open_images(x).load(0), exact)
    assert np.array_equal(open_images([x[0]]).load(0), exact)
    assert np.array_equal(open_images(x.half().numpy()).load(0), open_images(x.half().float().numpy()).load(0))
    assert np.array_equal(next(open_images(iter([x])).batches())[0].permute(1, 2, 0).numpy(), exact)


def test_list_of_images_gives_one_feature_row_per_image(weights):
    images = chw_images()
    ours = genmetrics.compute_features(images, weights=weights, dims=64, progress=False)
    stacked = genmetrics.compute_features(torch.stack(images), weights=weights, dims=64, progress=False)
    assert ours.features.shape == (4, 64)  # 12 before the fix
    np.testing.assert_array_equal(ours.features, stacked.features)  # the same images, the same batches


def test_list_with_a_4d_item_is_a_list_of_batches():
    batches = [np.zeros((2, 4, 4, 3), np.uint8), torch.ones(3, 1, 4, 4)]
    assert [tuple(b.shape) for b in open_images(batches).batches()] == [(2, 3, 4, 4), (3, 3, 4, 4)]
    with pytest.raises(GenmetricsError, match=r"item 1: got shape \(4, 4\)"):
        list(open_images([np.zeros((2, 4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8)]).batches())


def test_list_of_3d_items_without_a_channel_axis_is_refused():
    with pytest.raises(GenmetricsError, match=r"item 0 of the list has shape \(5, 8, 8\).*\(N,1,H,W\)"):
        open_images([np.zeros((5, 8, 8), np.uint8)] * 2)


@pytest.mark.parametrize("make", [
    lambda images: (x for x in images),
    lambda images: iter(images),
    lambda images: torch.utils.data.DataLoader(images, batch_size=None),
], ids=["generator", "iterator", "dataloader-batch-size-none"])
def test_iterable_of_single_images_is_refused(make):
    with pytest.raises(GenmetricsError, match=r"item 0: got shape \(3, 8, 6\).*unsqueeze\(0\)"):
        list(open_images(make(chw_images())).batches())


def test_iterable_of_grayscale_nhw_batches_is_refused_but_arrays_are_not():
    with pytest.raises(GenmetricsError, match=r"item 0: got shape \(5, 8, 8\).*\(N,1,H,W\)"):
        list(open_images(np.zeros((5, 8, 8), np.uint8) for _ in range(2)).batches())
    assert len(open_images(np.zeros((5, 8, 8), np.uint8))) == 5  # an (N,H,W) ARRAY stays a grayscale batch


def test_iterable_of_image_label_pairs_is_refused():
    pairs = [(torch.zeros(2, 3, 8, 8), torch.zeros(2))]
    with pytest.raises(GenmetricsError, match=r"item 0 is a tuple of 2.*images for images, _ in loader"):
        list(open_images(iter(pairs)).batches())


def test_integer_arrays_are_refused_when_opened():
    # before: accepted, then a ValueError traceback from the first image decoded
    with pytest.raises(GenmetricsError, match="must be uint8 or float in \\[0, 1\\], got int64"):
        open_images(np.zeros((2, 8, 8, 3), np.int64))
    with pytest.raises(GenmetricsError, match="item 1 of the list is torch.int32"):
        open_images([torch.zeros(3, 8, 8, dtype=torch.uint8), torch.zeros(3, 8, 8, dtype=torch.int32)])


# ---------------------------------------------------------------- 6. zip members zipfile cannot read
def zip_with_patched_member(path, flag_bits=0, method=None):
    """A zip of a.png, b.png, c.png whose b.png header says encrypted (flag bit 0) or another method.

    zipfile cannot write either, so the flag/method fields of b.png's local and central headers are
    patched (PKWARE APPNOTE.TXT 4.3.7 and 4.3.12: flags at +6/+8, method at +8/+10).
    """
    with zipfile.ZipFile(path, "w") as out:
        for i, name in enumerate("abc"):
            buffer = io.BytesIO()
            Image.fromarray(rgb(i)).save(buffer, format="PNG")
            out.writestr(f"{name}.png", buffer.getvalue())
        local = out.getinfo("b.png").header_offset
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02")
    while data[central + 46:central + 51] != b"b.png":
        central = data.find(b"PK\x01\x02", central + 4)
    for flags, method_at in ((local + 6, local + 8), (central + 8, central + 10)):
        data[flags] |= flag_bits
        if method is not None:
            data[method_at:method_at + 2] = method.to_bytes(2, "little")
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("patch, reason", [
    (dict(flag_bits=0x1), "encrypted"),
    (dict(method=9), "compression method 9"),  # 9: Deflate64, which zipfile lacks
])
def test_unreadable_zip_member_is_a_bad_image(tmp_path, weights, patch, reason):
    archive = zip_with_patched_member(tmp_path / "set.zip", **patch)
    source = open_images(archive)
    assert source.files == ["a.png", "b.png", "c.png"]
    with pytest.raises(BadImage, match=f"set.zip:b.png: .*{reason}"):
        source.load(1)
    assert np.array_equal(source.load(2), rgb(2))
    # the same member seen only when read (RuntimeError / NotImplementedError before the fix)
    with pytest.raises(BadImage, match="set.zip:b.png: cannot read from the zip"):
        type(source)(archive, source.files).load(1)
    fails_cleanly(["is", archive, "--weights", weights, "--splits", "1"], "set.zip:b.png", reason, "--skip-bad")
    code, out, err = run("is", archive, "--weights", weights, "--splits", "1", "--skip-bad", "--json", "-q")
    assert code == 0 and json.loads(out)["n"] == 2 and json.loads(out)["skipped"] == 1, (out, err)
