"""The own-photos helper: folder checks, skipped files, the split, and the recipe end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers import own_images
from helpers.own_images import ImageFolderError


@pytest.fixture(scope="module")
def photos(flowers) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The first 40 training photos of tf_flowers at 64 px (small files, real content)."""
    batch = next(iter(flowers.batches("train", batch_size=40)))
    images = batch[0].numpy()[:, ::4, ::4]  # 224 -> 56 px: enough for folder tests
    return images, batch[1].numpy(), flowers.class_names


def _folder(tmp_path: Path, photos, classes: int = 2) -> Path:
    images, labels, names = photos
    keep = labels < classes
    return own_images.write_example_folder(images[keep], labels[keep], names, tmp_path / "my_photos")


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
    with pytest.raises(ImageFolderError, match=r"\{'empty_class': 1\}.*at least 5"):
        own_images.scan_image_folder(folder)


def test_unreadable_files_are_skipped_and_reported(tmp_path, photos) -> None:
    folder = _folder(tmp_path, photos)
    first_class = sorted(p.name for p in folder.iterdir())[0]
    (folder / first_class / "broken.jpg").write_bytes(b"this is not a JPEG")
    (folder / first_class / "notes.txt").write_text("shot on my phone")
    images, skipped = own_images.scan_image_folder(folder)
    reasons = {path.name: why for path, why in skipped}
    assert reasons == {"broken.jpg": "cannot be decoded as an image",
                       "notes.txt": "not an image type (.bmp, .gif, .jpeg, .jpg, .png)"}
    assert all(p.suffix == ".jpg" and p.name != "broken.jpg" for files in images.values() for p in files)


def test_load_splits_every_readable_image_once(tmp_path, tmp_cache, photos, capsys) -> None:
    folder_path = _folder(tmp_path, photos)
    (folder_path / sorted(p.name for p in folder_path.iterdir())[1] / "bad.png").write_bytes(b"\x89PNG broken")
    folder = own_images.load_image_folder(folder_path, validation_fraction=0.25, batch_size=4)
    assert capsys.readouterr().out == "", "loading a folder prints nothing (no 'Using N files')"
    labels = [int(y) for ds in (folder.train, folder.validation) for _, batch in ds for y in batch]
    assert len(labels) == sum(folder.counts.values())
    assert np.bincount(labels).tolist() == [folder.counts[name] for name in folder.class_names]
    images, _ = next(iter(folder.train))
    assert images.shape[1:] == (224, 224, 3) and float(images.numpy().max()) > 1.0  # [0, 255]
    assert "skipped" in folder.summary() and "bad.png" in folder.summary()
    with pytest.raises(ValueError, match="validation_fraction"):
        own_images.load_image_folder(folder_path, validation_fraction=1.0)


def test_split_is_per_class_seeded_and_complete() -> None:
    images = {"a": [Path(f"a/{i}.jpg") for i in range(10)], "b": [Path(f"b/{i}.jpg") for i in range(3)],
              "c": [Path("c/0.jpg")]}
    train, validation = own_images.split_files(images, 0.2, seed=1)
    assert {name: len(files) for name, files in validation.items()} == {"a": 2, "b": 1, "c": 0}
    for name, files in images.items():
        assert sorted(train[name] + validation[name]) == sorted(files)  # each file once
        assert not set(train[name]) & set(validation[name])
    assert own_images.split_files(images, 0.2, seed=1) == (train, validation)
    assert own_images.split_files(images, 0.2, seed=2)[1]["a"] != validation["a"]


def test_run_recipe_reports_both_stages(tmp_path, tmp_cache, photos) -> None:
    folder = own_images.load_image_folder(_folder(tmp_path, photos), batch_size=8)
    report = own_images.run_recipe(folder, head_epochs=3, fine_tune_epochs=1)
    assert report.train_images + report.validation_images == sum(folder.counts.values())
    assert 0.0 <= report.feature_extraction_accuracy <= 1.0
    assert report.fine_tuned_accuracy is not None and 0.0 <= report.fine_tuned_accuracy <= 1.0
    assert "feature extraction" in str(report)
