"""The own-photos path: folder checks, the split, the recipe, predict, save and reload."""

from __future__ import annotations

import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from helpers import models, own_images, significance
from helpers.own_images import ImageFolderError


@pytest.fixture(scope="module")
def photos(flowers) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The first 40 training photos of tf_flowers at 56 px (small files, real content)."""
    batch = next(iter(flowers.batches("train", batch_size=40)))
    images = batch[0].numpy()[:, ::4, ::4]  # 224 -> 56 px: enough for folder tests
    return images, batch[1].numpy(), flowers.class_names


def _folder(directory: Path, photos, classes: int = 2) -> Path:
    images, labels, names = photos
    keep = labels < classes
    return own_images.write_example_folder(images[keep], labels[keep], names, directory / "my_photos")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, photos) -> tuple[own_images.ImageFolder, own_images.Classifier]:
    """The recipe run once, briefly, on two classes of flower photos."""
    folder = own_images.load_image_folder(_folder(tmp_path_factory.mktemp("recipe"), photos),
                                          validation_fraction=0.4, test_fraction=0.15, batch_size=8)
    assert len(folder.parts["validation"]) != len(folder.parts["test"])  # a swap would show
    return folder, own_images.run_recipe(folder, head_epochs=3, fine_tune_epochs=2)


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


def test_progress_bar_only_when_reading_takes_a_while(tmp_path, photos, capsys, monkeypatch) -> None:
    folder = own_images.load_image_folder(_folder(tmp_path, photos), batch_size=2)
    corners, labels = own_images._run_over(lambda images: images[:, 0, 0], folder, "train")
    assert len(corners) == len(labels) == len(folder.parts["train"]) and capsys.readouterr().out == ""
    monkeypatch.setattr(own_images, "PROGRESS_AFTER_SECONDS", 0.0)
    own_images._run_over(lambda images: images[:, 0, 0], folder, "train")
    shown = capsys.readouterr().out
    total = len(folder.parts["train"])
    assert "reading the train photos" in shown and f"{total}/{total}" in shown


def test_run_recipe_reports_on_photos_it_never_chose_with(trained) -> None:
    folder, classifier = trained
    report = classifier.report
    assert report.images == {part: len(folder.parts[part]) for part in own_images.PARTS}
    assert set(report.validation_accuracies) == {"feature extraction", "fine-tuned"}
    best = max(report.validation_accuracies.values())
    assert report.validation_accuracies[report.chosen] == best
    assert report.confusion.sum() == report.images["test"]
    assert report.confusion.sum(axis=1).tolist() == report.test.support.tolist()
    correct = int(np.trace(report.confusion))
    assert report.test_accuracy == pytest.approx(correct / report.images["test"])
    assert report.test_interval == significance.accuracy_interval(correct, report.images["test"])
    text = str(report)
    for piece in ("chose epochs and stage", "test accuracy (unseen until now)", "95% interval", "recall",
                  *folder.class_names):
        assert piece in text
    assert str(classifier) == text


def test_the_stage_kept_is_the_best_on_validation_and_feature_extraction_on_a_tie() -> None:
    assert own_images._choose({"feature extraction": 0.8, "fine-tuned": 0.9}) == "fine-tuned"
    assert own_images._choose({"feature extraction": 0.9, "fine-tuned": 0.8}) == "feature extraction"
    assert own_images._choose({"feature extraction": 0.9, "fine-tuned": 0.9}) == "feature extraction"


def test_fine_tuning_trains_the_top_but_leaves_batchnorm_alone() -> None:
    base = models.build_backbone("mobilenet_v2")
    base.trainable = False
    _, top = models.split_at(base, "Conv_1")
    rng = np.random.default_rng(0)
    maps = {part: (rng.normal(size=(8, 7, 7, 320)).astype("float32"), np.arange(8) % 2)
            for part in ("train", "validation")}
    head = keras.Sequential([keras.Input((1280,)), keras.layers.Dense(2)], name="head")
    kernel = base.get_layer("Conv_1").kernel.numpy()
    batchnorm = [w.numpy() for w in base.get_layer("Conv_1_bn").weights]
    own_images._fine_tune(base, "Conv_1", top, head, maps, epochs=1, learning_rate=1e-2, patience=1)
    assert not np.array_equal(base.get_layer("Conv_1").kernel.numpy(), kernel), "the top is trained"
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(batchnorm, base.get_layer("Conv_1_bn").weights))
    assert not base.trainable_weights, "frozen again afterwards"


def test_classifier_is_one_model_from_photos_with_batchnorm_frozen(trained) -> None:
    folder, classifier = trained
    test_files = [path for path, _ in folder.parts["test"]]
    predicted = classifier.predict(test_files)
    truth = [folder.class_names[label] for _, label in folder.parts["test"]]
    accuracy = np.mean([row.class_name == name for row, name in zip(predicted.rows, truth)])
    assert accuracy == pytest.approx(classifier.report.test_accuracy), "the model returned is the one scored"
    images = next(iter(folder.test))[0]
    inside = classifier.model.get_layer("head")(classifier.model.get_layer("mobilenetv2_1.00_224")(
        keras.applications.mobilenet_v2.preprocess_input(images.numpy().copy())))
    assert np.allclose(classifier.model(images), keras.activations.softmax(inside), atol=1e-5), \
        "the model takes pixels in [0, 255]: MobileNetV2's preprocessing is inside"
    before = models.batchnorm_moving_statistics(classifier.model)
    probabilities = classifier.model(images, training=True).numpy()
    assert all(np.array_equal(a, b) for a, b in zip(before, models.batchnorm_moving_statistics(classifier.model)))
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert classifier.model.input_shape[1:] == (224, 224, 3)


def test_predict_names_a_class_per_file_and_lists_unreadable_ones(tmp_path, trained) -> None:
    folder, classifier = trained
    new = tmp_path / "new_photos"
    new.mkdir()
    for index, (path, _) in enumerate(folder.parts["test"][:3]):
        (new / f"{index}.jpg").write_bytes(path.read_bytes())
    (new / "broken.jpg").write_bytes(b"half a photo")
    (new / "readme.txt").write_text("not a photo")
    predictions = classifier.predict(new)
    assert [row.path.name for row in predictions.rows] == ["0.jpg", "1.jpg", "2.jpg"]
    assert all(row.class_name in folder.class_names and 0.5 <= row.probability <= 1 for row in predictions.rows)
    assert {path.name for path, _ in predictions.skipped} == {"broken.jpg", "readme.txt"}
    assert "could not read" in str(predictions) and "0.jpg: " in str(predictions)
    alone = classifier.predict(new / "0.jpg").rows[0]  # one file: a batch of one
    assert alone[:2] == predictions.rows[0][:2] and alone.probability == pytest.approx(predictions.rows[0].probability)
    with pytest.raises(ImageFolderError, match="No file or folder at"):
        classifier.predict(tmp_path / "absent")


def test_save_and_reload_predict_identically(tmp_path, trained) -> None:
    folder, classifier = trained
    path = classifier.save(tmp_path / "my_classifier.keras")
    reloaded = own_images.load_classifier(path)
    assert reloaded.class_names == folder.class_names and reloaded.report is None
    images = next(iter(folder.test))[0]
    assert np.array_equal(reloaded.model.predict(images, verbose=0), classifier.model.predict(images, verbose=0))
    assert keras.models.load_model(path, safe_mode=True).get_layer("class_names").class_names == folder.class_names
    with pytest.raises(ValueError, match=r"ending in \.keras"):
        classifier.save(tmp_path / "my_classifier.h5")
    with pytest.raises(FileNotFoundError, match="No saved classifier"):
        own_images.load_classifier(tmp_path / "absent.keras")
