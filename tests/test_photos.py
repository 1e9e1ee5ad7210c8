"""Reading real photos: orientation, colour modes, size, unreadable files, streaming."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from helpers import photos

RED, BLUE = (220, 20, 20), (20, 20, 220)


def _portrait(height: int = 40, width: int = 20) -> Image.Image:
    """An upright portrait: red top half, blue bottom half."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[: height // 2], pixels[height // 2:] = RED, BLUE
    return Image.fromarray(pixels)


def _is_red(pixels: np.ndarray) -> bool:
    return bool(pixels[..., 0].mean() > 150 and pixels[..., 2].mean() < 100)


def test_phone_orientation_tag_is_applied(tmp_path) -> None:
    # A phone stores the sensor's landscape pixels and a tag "rotate 90 degrees clockwise to view" (6).
    stored = _portrait().transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "portrait.jpg"
    stored.save(path, exif=exif, quality=95)
    sideways = tf.io.decode_jpeg(tf.io.read_file(str(path))).numpy()
    assert sideways.shape[:2] == (20, 40), "TensorFlow ignores the tag: the photo arrives on its side"
    upright = photos.read_photo(path, image_size=32)
    assert upright.shape == (32, 32, 3) and upright.dtype == np.uint8
    assert _is_red(upright[:12]) and not _is_red(upright[-12:]), "red must be on top once upright"


def test_grayscale_palette_and_transparent_pngs_become_rgb(tmp_path) -> None:
    Image.new("L", (10, 10), 128).save(tmp_path / "gray.png")
    Image.new("RGB", (10, 10), RED).convert("P").save(tmp_path / "palette.gif")
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[:, :5] = (*BLUE, 255)  # left half opaque blue, right half fully transparent
    Image.fromarray(rgba).save(tmp_path / "logo.png")
    assert np.all(photos.read_photo(tmp_path / "gray.png", 8) == 128)
    assert _is_red(photos.read_photo(tmp_path / "palette.gif", 8))
    logo = photos.read_photo(tmp_path / "logo.png", 10)
    assert logo.shape == (10, 10, 3)
    assert np.all(logo[:, -3:] == 255), "transparent parts become white, not black"
    assert np.array_equal(logo[:, 1], np.tile(BLUE, (10, 1)))


def test_a_large_photo_is_reduced_while_it_is_decoded(tmp_path) -> None:
    _portrait(4000, 3000).save(tmp_path / "big.jpg", quality=90)  # 12 megapixels
    with Image.open(tmp_path / "big.jpg") as image:
        assert image.draft("RGB", (64, 64)) is not None, "JPEG decoding at a reduced scale is available"
    small = photos.read_photo(tmp_path / "big.jpg", image_size=64)
    assert small.shape == (64, 64, 3) and _is_red(small[:30]) and not _is_red(small[-30:])


@pytest.mark.parametrize("name, content, reason", [
    ("broken.jpg", b"not a JPEG at all", "cannot be decoded as an image"),
    ("notes.txt", b"shot on my phone", "not an image type (.bmp, .gif, .jpeg, .jpg, .png, .webp)"),
    ("IMG_0001.HEIC", b"\x00\x00\x00\x18ftypheic", "HEIC is not supported: export the photo as JPEG"),
])
def test_unreadable_files_say_why(tmp_path, name, content, reason) -> None:
    (tmp_path / name).write_bytes(content)
    assert photos.problem(tmp_path / name) is not None and photos.problem(tmp_path / name).startswith(reason)
    with pytest.raises(photos.UnreadablePhotoError, match=reason.split(" (")[0]):
        photos.read_photo(tmp_path / name)


def test_truncated_and_missing_files_are_unreadable(tmp_path) -> None:
    _portrait(200, 100).save(tmp_path / "whole.jpg")
    data = (tmp_path / "whole.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])  # a copy interrupted half-way
    assert photos.problem(tmp_path / "whole.jpg") is None
    assert photos.problem(tmp_path / "cut.jpg").startswith("cannot be decoded")
    assert photos.problem(tmp_path / "absent.jpg") == "no such file"


def test_dataset_reads_files_when_iterated_in_order(tmp_path) -> None:
    paths = []
    for index, colour in enumerate([RED, BLUE, RED]):
        paths.append(tmp_path / f"{index}.png")
        Image.new("RGB", (12, 12), colour).save(paths[-1])
    batches = photos.dataset(paths, [0, 1, 0], image_size=8, batch_size=2)
    Image.new("RGB", (12, 12), BLUE).save(paths[2])  # changed after the dataset was made
    images, labels = zip(*[(x.numpy(), y.numpy()) for x, y in batches])
    assert [len(x) for x in images] == [2, 1] and images[0].dtype == np.float32
    assert np.concatenate(labels).tolist() == [0, 1, 0]
    assert _is_red(images[0][0]) and not _is_red(images[0][1])
    assert not _is_red(images[1][0]), "files are read from disk when iterated, not held in memory"
    with pytest.raises(ValueError, match="No photos"):
        photos.dataset([], [])
