"""The recipe on a folder of own photos: the run, its report, predict, save and reload."""

from __future__ import annotations

import inspect
from pathlib import Path

import keras
import numpy as np
import pytest

from helpers import models, own_images, progress, recipe, significance
from helpers.own_images import ImageFolderError


def _folder(directory: Path, photos, classes: int = 2) -> Path:
    images, labels, names = photos
    keep = labels < classes
    return own_images.write_example_folder(images[keep], labels[keep], names, directory / "my_photos")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, photos) -> tuple[own_images.ImageFolder, recipe.Classifier]:
    """The recipe run once, briefly, on two classes of flower photos."""
    folder = own_images.load_image_folder(_folder(tmp_path_factory.mktemp("recipe"), photos),
                                          validation_fraction=0.4, test_fraction=0.15, batch_size=8)
    assert len(folder.parts["validation"]) != len(folder.parts["test"])  # a swap would show
    return folder, recipe.run_recipe(folder, head_epochs=3, fine_tune_epochs=2)


def test_progress_bar_only_when_reading_takes_a_while(tmp_path, photos, capsys, monkeypatch) -> None:
    folder = own_images.load_image_folder(_folder(tmp_path, photos), batch_size=2)
    corners, labels = recipe._run_over(lambda images: images[:, 0, 0], folder, "train")
    assert len(corners) == len(labels) == len(folder.parts["train"]) and capsys.readouterr().out == ""
    monkeypatch.setattr(progress, "DELAY_SECONDS", 0.0)  # as if reading were slow
    recipe._run_over(lambda images: images[:, 0, 0], folder, "train")
    shown = capsys.readouterr().out
    total = len(folder.parts["train"])
    assert "reading the train photos" in shown and f"{total}/{total}" in shown
    assert inspect.signature(recipe.run_recipe).parameters["progress"].default is True  # passed to its passes


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
    assert recipe._choose({"feature extraction": 0.8, "fine-tuned": 0.9}) == "fine-tuned"
    assert recipe._choose({"feature extraction": 0.9, "fine-tuned": 0.8}) == "feature extraction"
    assert recipe._choose({"feature extraction": 0.9, "fine-tuned": 0.9}) == "feature extraction"


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
    recipe._fine_tune(base, "Conv_1", top, head, maps, epochs=1, learning_rate=1e-2, patience=1)
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


def test_predict_runs_one_compiled_function_and_agrees_with_the_model(trained) -> None:
    """An eager call of the whole model would keep every layer's output of a batch alive at once."""
    import copy

    import tensorflow as tf

    from helpers import photos

    folder, _ = trained
    paths = [path for path, _ in folder.parts["test"]][:3]

    def tiny(seed: int) -> keras.Model:
        keras.utils.set_random_seed(seed)
        return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255), keras.layers.Flatten(),
                                 keras.layers.Dense(2, activation="softmax")])

    classifier = recipe.Classifier(tiny(0), ["a", "b"])
    for size in (3, 2, 1):  # three batch sizes, one trace: it accepts any batch size
        predictions = classifier.predict(paths[:size], batch_size=size)
    assert isinstance(classifier._forward[1], tf.types.experimental.PolymorphicFunction)
    assert classifier._forward[1].experimental_get_tracing_count() == 1
    images = np.stack([photos.read_photo(path, classifier.image_size) for path in paths]).astype(np.float32)
    for model in (classifier.model, tiny(1)):  # a replaced model is the one that predicts
        classifier.model = model
        expected = model.predict(images, verbose=0)
        predictions = classifier.predict(paths)
        assert [row.class_name for row in predictions.rows] == [["a", "b"][i] for i in expected.argmax(1)]
        assert [row.probability for row in predictions.rows] == pytest.approx(expected.max(1), abs=1e-5)
    assert copy.copy(classifier)._forward is None and classifier._forward is not None


def test_save_and_reload_predict_identically(tmp_path, trained) -> None:
    folder, classifier = trained
    path = classifier.save(tmp_path / "my_classifier.keras")
    reloaded = recipe.load_classifier(path)
    assert reloaded.class_names == folder.class_names and reloaded.report is None
    images = next(iter(folder.test))[0]
    assert np.array_equal(reloaded.model.predict(images, verbose=0), classifier.model.predict(images, verbose=0))
    assert recipe._stored_class_names(path) == folder.class_names  # in the archive's metadata.json
    with pytest.raises(ValueError, match=r"ending in \.keras"):
        classifier.save(tmp_path / "my_classifier.h5")
    with pytest.raises(FileNotFoundError, match="No saved classifier"):
        recipe.load_classifier(tmp_path / "absent.keras")


@pytest.fixture(scope="module")
def test_images(trained) -> tuple[np.ndarray, np.ndarray]:
    folder, classifier = trained
    batches = list(folder.test)
    return np.concatenate([b[0].numpy() for b in batches]), classifier.model.predict(
        np.concatenate([b[0].numpy() for b in batches]), verbose=0)


@pytest.fixture(scope="module")
def float32_file(trained, tmp_path_factory) -> Path:
    """One float32 export, shared: a conversion takes seconds."""
    return trained[1].export(tmp_path_factory.mktemp("export") / "float32.tflite")


@pytest.mark.parametrize("quantize, largest", [(None, 1e-4), ("float16", 0.02)])
def test_exported_file_predicts_like_the_keras_model(tmp_path, trained, test_images, float32_file, quantize,
                                                     largest) -> None:
    from helpers import litert

    _, classifier = trained
    images, keras_probabilities = test_images
    path = float32_file if quantize is None else classifier.export(tmp_path / "exported.tflite", quantize=quantize)
    exported = litert.LiteRTModel(path)
    probabilities = exported.predict(images)
    assert probabilities.shape == keras_probabilities.shape and exported.image_size == classifier.image_size
    assert np.abs(probabilities - keras_probabilities).max() < largest
    assert np.array_equal(probabilities.argmax(1), keras_probabilities.argmax(1))
    assert exported.latency_per_image(repeats=2) > 0


def test_int8_export_is_calibrated_on_photos_and_a_quarter_of_the_size(tmp_path, trained, test_images,
                                                                        float32_file) -> None:
    """Only what holds for any model: how close int8 comes is measured in chapter 14, on a trained one."""
    from helpers import litert

    folder, classifier = trained
    images, keras_probabilities = test_images
    float32 = float32_file
    int8 = classifier.export(tmp_path / "int8.tflite", quantize="int8", representative=folder, representative_photos=8)
    assert int8.stat().st_size < 0.4 * float32.stat().st_size
    exported = litert.LiteRTModel(int8)
    types = exported.tensor_types()
    assert types.get("int8", 0) > types.get("float32", 0), f"activations and weights in int8: {types}"
    assert litert.LiteRTModel(float32).tensor_types().get("int8", 0) == 0
    probabilities = exported.predict(images)
    assert probabilities.shape == keras_probabilities.shape
    assert np.allclose(probabilities.sum(axis=1), 1, atol=0.02) and probabilities.min() >= 0


def test_export_refuses_what_it_cannot_do_and_says_why(tmp_path, trained) -> None:
    folder, classifier = trained
    with pytest.raises(ValueError, match="tf2onnx"):
        classifier.export(tmp_path / "m.onnx", format="onnx")
    with pytest.raises(ValueError, match="choose one of"):
        classifier.export(tmp_path / "m.tflite", quantize="int4")
    with pytest.raises(ValueError, match=r"ending in \.tflite"):
        classifier.export(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="representative=folder"):
        classifier.export(tmp_path / "m.tflite", quantize="int8")
    with pytest.raises(ValueError, match="only used by int8 quantization"):
        classifier.export(tmp_path / "m.tflite", quantize="float16", representative=folder)
    with pytest.raises(ValueError, match=r"\(n, 224, 224, 3\)"):
        classifier.export(tmp_path / "m.tflite", quantize="int8", representative=np.zeros((4, 32, 32, 3)))
    assert not list(tmp_path.iterdir()), "nothing written when the arguments are wrong"


def test_litert_model_refuses_a_missing_file_and_wrong_photos(tmp_path, float32_file) -> None:
    from helpers import litert

    with pytest.raises(FileNotFoundError, match="export one"):
        litert.LiteRTModel(tmp_path / "absent.tflite")
    model = litert.LiteRTModel(float32_file)
    with pytest.raises(ValueError, match=r"\(n, 224, 224, 3\)"):
        model.predict(np.zeros((2, 32, 32, 3)))


def test_command_line_errors_and_help_are_readable(tmp_path, capsys) -> None:
    assert recipe.main(["train", str(tmp_path / "no_such_folder")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert recipe.main(["train", str(tmp_path), "--out", str(tmp_path / "mine.h5")]) == 2
    assert "before the training" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:
        recipe.main(["train", str(tmp_path), "--fine-tune-epochs", "-1"])
    assert refused.value.code == 2 and "give 0" in capsys.readouterr().err
    assert recipe.main(["predict", str(tmp_path / "absent.keras"), "x.jpg"]) == 2
    assert "No saved classifier" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        recipe.main(["--help"])
    assert done.value.code == 0 and "train" in capsys.readouterr().out


def test_command_line_trains_predicts_and_exports(tmp_path, photos) -> None:
    """The three commands as a user types them, each in its own process."""
    import subprocess
    import sys

    folder = _folder(tmp_path, photos)
    model = tmp_path / "mine.keras"

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "helpers.recipe", *args], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parent.parent, timeout=300)

    trained = run("train", str(folder), "--out", str(model), "--fine-tune-epochs", "0")
    assert trained.returncode == 0, trained.stderr
    assert "test accuracy (unseen until now)" in trained.stdout and model.is_file()
    photo = next(folder.rglob("*.jpg"))
    another_class = sorted(p for p in folder.iterdir() if p != photo.parent)[0]
    predicted = run("predict", str(model), str(photo), str(another_class))  # a file and a folder
    assert predicted.returncode == 0 and f"{photo}: " in predicted.stdout, predicted.stderr
    assert all(f"{p}: " in predicted.stdout for p in another_class.glob("*.jpg")) and "could not" not in predicted.stdout
    exported = run("export", str(model), "--quantize", "float16")
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "mine-float16.tflite").is_file() and "class names in order" in exported.stdout
    wrong = run("export", str(model), "--quantize", "int8")
    assert wrong.returncode == 2 and "representative" in wrong.stderr and "Traceback" not in wrong.stderr


def test_refit_trains_the_chosen_configuration_on_train_and_validation(trained) -> None:
    folder, chosen_on_validation = trained
    refitted = recipe.run_recipe(folder, head_epochs=3, fine_tune_epochs=2, refit=True)
    report = refitted.report
    assert report.trained_on == "train + validation" and chosen_on_validation.report.trained_on == "train"
    assert report.chosen == chosen_on_validation.report.chosen, "the same choices: refitting comes after them"
    assert report.epochs == chosen_on_validation.report.epochs and 1 <= report.epochs["head"] <= 3
    assert "trained on the train + validation photos (head" in str(report)
    assert report.images == chosen_on_validation.report.images and report.confusion.sum() == report.images["test"]


def test_a_head_without_validation_trains_exactly_the_epochs_asked() -> None:
    x, y = np.random.default_rng(0).normal(size=(20, 8)).astype("float32"), np.arange(20) % 2
    head, history = models.train_head((x, y), None, 2, epochs=4)
    assert len(history.history["loss"]) == 4 and "val_accuracy" not in history.history


def test_calibration_photos_are_a_sample_of_every_class(trained, monkeypatch) -> None:
    folder, _ = trained
    seen = []
    real = recipe.photos.dataset
    monkeypatch.setattr(recipe.photos, "dataset", lambda paths, labels, *a: seen.extend(labels) or real(paths, labels, *a))
    chosen = recipe._representative(folder, 224, limit=4)
    assert chosen.shape == (4, 224, 224, 3) and set(seen) == {0, 1}, "the training part lists one class first"
    with pytest.raises(ValueError, match="representative_photos"):
        recipe._representative(folder, 224, limit=0)


def test_refit_really_trains_on_train_and_validation(trained, monkeypatch) -> None:
    folder, _ = trained
    rows = []
    real = models.train_head
    monkeypatch.setattr(recipe.models, "train_head", lambda train, validation, *a, **k: rows.append(
        (len(train[1]), validation is None)) or real(train, validation, *a, **k))
    recipe.run_recipe(folder, head_epochs=2, fine_tune_epochs=0, refit=True)
    labelled = len(folder.parts["train"]) + len(folder.parts["validation"])
    assert rows == [(len(folder.parts["train"]), False), (labelled, True)]


def test_a_saved_classifier_loads_with_keras_alone(tmp_path, trained) -> None:
    """A colleague's machine or a server without the course: plain Keras, in a Python that never imports helpers."""
    import json
    import os
    import subprocess
    import sys
    import zipfile

    folder, classifier = trained
    path = classifier.save(tmp_path / "my_classifier.keras")
    with zipfile.ZipFile(path) as archive:
        assert json.loads(archive.read("metadata.json"))["class_names"] == folder.class_names
        assert sorted(archive.namelist()) == ["config.json", "metadata.json", "model.weights.h5"], "as Keras wrote it"
    code = ("import sys, keras; m = keras.models.load_model(sys.argv[1]); "
            "print(m.output_shape, any(name.split('.')[0] == 'helpers' for name in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=tmp_path,
                            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, timeout=300)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert loaded.stdout.strip().splitlines()[-1] == f"(None, {len(folder.class_names)}) False"
    assert recipe.load_classifier(path).class_names == folder.class_names


def test_loading_refuses_what_the_recipe_did_not_save_and_reads_older_files(tmp_path) -> None:
    def tiny(outputs: int) -> keras.Model:
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(outputs, activation="softmax")])

    inputs = keras.Input((4,))  # as the recipe saved classifiers before: names in a ClassNames layer
    older = keras.Model(inputs, recipe.ClassNames(["cat", "dog"], name="class_names")(tiny(2)(inputs)))
    older.save(tmp_path / "older.keras")
    assert recipe.load_classifier(tmp_path / "older.keras").class_names == ["cat", "dog"]
    tiny(3).save(tmp_path / "plain.keras")
    with pytest.raises(ValueError, match="without the recipe's class names"):
        recipe.load_classifier(tmp_path / "plain.keras")
    (tmp_path / "photo.keras").write_bytes(b"\xff\xd8\xff a JPEG photo, renamed")
    with pytest.raises(ValueError, match="not a classifier saved by the recipe"):
        recipe.load_classifier(tmp_path / "photo.keras")
    with pytest.raises(ValueError, match="2 class names for a model with 3 outputs"):
        recipe.Classifier(tiny(3), ["a", "b"]).save(tmp_path / "mismatched.keras")
    assert not (tmp_path / "mismatched.keras").exists()
    saved = recipe.Classifier(tiny(3), ["a", "b", "c"]).save(tmp_path / "tiny.keras")
    assert recipe.load_classifier(saved).class_names == ["a", "b", "c"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["older.keras", "photo.keras", "plain.keras", "tiny.keras"]


def test_command_line_predict_with_a_photo_first_says_what_the_first_argument_is(tmp_path, photos) -> None:
    """A photo where the classifier belongs: one plain line, not Keras' advice about SavedModel."""
    import subprocess
    import sys

    folder = _folder(tmp_path, photos)
    photo = next(folder.rglob("*.jpg"))
    wrong = subprocess.run([sys.executable, "-m", "helpers.recipe", "predict", str(photo), str(folder)],
                           capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent, timeout=300)
    assert wrong.returncode == 2 and wrong.stdout == ""
    errors = [line for line in wrong.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "must be a classifier saved by train (a .keras file)" in errors[0], wrong.stderr
    assert "TFSMLayer" not in wrong.stderr and "SavedModel" not in wrong.stderr and "Traceback" not in wrong.stderr
    assert recipe.main(["export", str(photo)]) == 2  # export reads its model the same way


def test_command_line_predict_with_one_photo_only_or_no_photo_says_what_is_missing(tmp_path, photos, capsys) -> None:
    photo = next(_folder(tmp_path, photos).rglob("*.jpg"))
    assert recipe.main(["predict", str(photo)]) == 2  # argparse alone would say "photos are required"
    assert "must be a classifier saved by train (a .keras file)" in capsys.readouterr().err
    assert recipe.main(["predict", str(tmp_path / "mine.keras")]) == 2
    assert "give at least one photo or folder after the classifier" in capsys.readouterr().err
