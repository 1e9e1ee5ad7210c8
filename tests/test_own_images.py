"""The own-photos folder: folder checks, unreadable files, the split and the imbalance warning."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import own_images
from helpers.own_images import ImageFolderError


def _folder(directory: Path, photos, classes: int = 2) -> Path:
    images, labels, names = photos
    keep = labels < classes
    return own_images.write_example_folder(images[keep], labels[keep], names, directory / "my_photos")


def test_missing_folder_says_how_to_lay_it_out(tmp_path) -> None:
    with pytest.raises(ImageFolderError, match=r"No folder at .*one subfolder per class"):
        own_images.scan_image_folder(tmp_path / "absent")


def test_a_single_class_is_refused_and_loose_images_are_pointed_out(tmp_path, photos) -> None:
    folder = _folder(tmp_path, photos, classes=1)
    (folder / "stray.jpg").write_bytes((next(folder.rglob("*.jpg"))).read_bytes())
    with pytest.raises(ImageFolderError, match=r"1 class subfolder.*at least two.*1 images lie directly"):
        own_images.scan_image_folder(folder)


def test_a_class_with_too_few_images_is_named(tmp_path, photos) -> None:
    folder = _folder(tmp_path, photos)
    (folder / "empty_class").mkdir()
    (folder / "empty_class" / "one.jpg").write_bytes(next(folder.rglob("*.jpg")).read_bytes())
    with pytest.raises(ImageFolderError, match=r"\{'empty_class': 1\}.*at least 5.*Add photos"):
        own_images.scan_image_folder(folder)
    with pytest.raises(ValueError, match="at least 3: one each for training, validation and test"):
        own_images.scan_image_folder(folder, min_images_per_class=2)


def test_unreadable_files_are_skipped_and_reported(tmp_path, photos) -> None:
    folder = _folder(tmp_path, photos)
    first_class = sorted(p.name for p in folder.iterdir())[0]
    (folder / first_class / "broken.jpg").write_bytes(b"this is not a JPEG")
    (folder / first_class / "notes.txt").write_text("shot on my phone")
    images, skipped = own_images.scan_image_folder(folder)
    reasons = {path.name: why for path, why in skipped}
    assert reasons == {"broken.jpg": "cannot be decoded as an image (UnidentifiedImageError)",
                       "notes.txt": "not an image type (.bmp, .gif, .jpeg, .jpg, .png, .webp)"}
    assert all(p.suffix == ".jpg" and p.name != "broken.jpg" for files in images.values() for p in files)


def test_load_splits_every_readable_image_once(tmp_path, photos, capsys) -> None:
    folder_path = _folder(tmp_path, photos)
    (folder_path / sorted(p.name for p in folder_path.iterdir())[1] / "bad.png").write_bytes(b"\x89PNG broken")
    folder = own_images.load_image_folder(folder_path, validation_fraction=0.25, batch_size=4)
    assert capsys.readouterr().out == "", "loading a folder prints nothing"
    files = [path for part in own_images.PARTS for path, _ in folder.parts[part]]
    assert len(files) == len(set(files)) == sum(folder.counts.values())
    labels = [int(y) for part in own_images.PARTS for _, batch in folder.batches(part) for y in batch]
    assert np.bincount(labels).tolist() == [folder.counts[name] for name in folder.class_names]
    images, _ = next(iter(folder.train))
    assert images.shape[1:] == (224, 224, 3) and float(images.numpy().max()) > 1.0  # [0, 255]
    assert "skipped" in folder.summary() and "bad.png" in folder.summary()
    for fractions in ((1.0, 0.2), (0.5, 0.5)):
        with pytest.raises(ValueError, match="leave photos for training"):
            own_images.load_image_folder(folder_path, *fractions)


def test_split_is_per_class_seeded_and_complete() -> None:
    images = {"a": [Path(f"a/{i}.jpg") for i in range(10)], "b": [Path(f"b/{i}.jpg") for i in range(3)]}
    train, validation, test = own_images.split_files(images, 0.2, 0.3, seed=1)
    assert {name: len(files) for name, files in validation.items()} == {"a": 2, "b": 1}
    assert {name: len(files) for name, files in test.items()} == {"a": 3, "b": 1}
    for name, files in images.items():
        assert sorted(train[name] + validation[name] + test[name]) == sorted(files)  # each file once
    assert own_images.split_files(images, 0.2, 0.3, seed=1) == (train, validation, test)
    assert own_images.split_files(images, 0.2, 0.3, seed=2)[2]["a"] != test["a"]


def test_imbalance_is_warned_about_and_shown(tmp_path) -> None:
    for name, count in (("ants", 15), ("bees", 5)):
        (tmp_path / name).mkdir()
        for index in range(count):
            Image.new("RGB", (8, 8), (index * 10, 0, 0)).save(tmp_path / name / f"{index}.png")
    with pytest.warns(own_images.ImbalanceWarning, match=r"'ants' has 15 photos, 'bees' only 5 \(3.0 times"):
        folder = own_images.load_image_folder(tmp_path)
    assert "warning: class imbalance" in folder.summary() and "per-class recall" in folder.summary()
    (tmp_path / "ants" / "0.png").unlink()  # 14 against 5: below three times
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert own_images.load_image_folder(tmp_path).imbalance() is None


def test_flower_folder_keeps_the_asked_classes_and_starts_empty(tmp_path, flowers):
    directory = tmp_path / "mine"
    (directory / "old").mkdir(parents=True)
    (directory / "old" / "stale.jpg").write_bytes(b"from an earlier run")
    own_images.write_flower_folder(flowers, directory, 12, ["daisy", "roses"])
    written = sorted(p.parent.name for p in directory.rglob("*.jpg"))
    assert set(written) <= {"daisy", "roses"} and written and not (directory / "old").exists()
    with pytest.raises(ValueError, match="not flower classes"):
        own_images.write_flower_folder(flowers, directory, 12, ["tulip"])


def test_summary_names_the_folder_without_the_machines_folders(tmp_path, monkeypatch) -> None:
    """A printed page shows "cache/my_photos", not where the machine that ran it keeps the course."""
    course, elsewhere = tmp_path / "course", tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setattr(own_images.config, "project_dir", lambda: course)

    def first_line(directory: Path) -> str:
        folder = own_images.ImageFolder(directory, ["a", "b"], {"a": 3, "b": 3})
        return folder.summary().splitlines()[0]

    monkeypatch.chdir(elsewhere)
    assert first_line(course / "cache" / "my_photos").startswith("cache/my_photos: 2 classes, 6 images")
    assert first_line(elsewhere / "photos" / "mine").startswith("photos/mine: "), "relative to the current folder"
    assert first_line(Path("mine")).startswith("mine: ")
    assert first_line(tmp_path / "build" / "my_photos_14").startswith("my_photos_14: "), "elsewhere: the name only"
    assert first_line(elsewhere).startswith("elsewhere: ")
    assert str(tmp_path) not in "".join(first_line(d) for d in (course / "x", elsewhere / "y", tmp_path / "z"))
