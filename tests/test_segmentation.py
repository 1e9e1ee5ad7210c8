"""segmentation: scores checked by hand, the loader on small files it makes, the split against the archive."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from PIL import Image

from helpers import config, models, plots, segmentation
from helpers.errors import ResourceNotAvailableError


def _masks(*rows: str) -> np.ndarray:
    """One 1-row mask per string: '1' is polyp."""
    return np.array([[[c == "1" for c in row]] for row in rows])


def test_dice_and_iou_match_hand_counts():
    truth = _masks("1100", "1111", "0000")
    guess = _masks("1000", "0011", "0000")
    # image 0: |A|=2, |B|=1, overlap 1 -> Dice 2/3, IoU 1/2; image 1: 4, 2, 2 -> 4/6, 2/4; both empty -> 1
    np.testing.assert_allclose(segmentation.dice_scores(truth, guess), [2 / 3, 2 / 3, 1.0])
    np.testing.assert_allclose(segmentation.iou_scores(truth, guess), [1 / 2, 1 / 2, 1.0])
    np.testing.assert_allclose(segmentation.pixel_accuracy(truth, guess), [3 / 4, 2 / 4, 1.0])


def test_a_miss_scores_zero_and_iou_is_a_function_of_dice():
    rng = np.random.default_rng(0)
    truth, guess = rng.random((20, 8, 8)) < 0.3, rng.random((20, 8, 8)) < 0.3
    dice, iou = segmentation.dice_scores(truth, guess), segmentation.iou_scores(truth, guess)
    np.testing.assert_allclose(iou, dice / (2 - dice))
    assert segmentation.dice_scores(truth, ~truth).max() == 0


def test_channel_last_masks_are_accepted_and_mismatches_explained():
    truth = np.ones((2, 4, 4), bool)
    np.testing.assert_allclose(segmentation.dice_scores(truth[..., None], truth), [1, 1])
    with pytest.raises(ValueError, match="same images at the same size"):
        segmentation.dice_scores(truth, np.ones((2, 5, 5), bool))
    with pytest.raises(ValueError, match="shape"):
        segmentation.dice_scores(np.ones((4, 4)), np.ones((4, 4)))


def test_size_share_is_the_covered_fraction():
    np.testing.assert_allclose(segmentation.size_share(_masks("1100", "0000")), [0.5, 0.0])


def test_dice_cross_entropy_is_cross_entropy_plus_one_minus_soft_dice():
    y = np.array([[[[1.0], [0.0]], [[1.0], [1.0]]]], np.float32)
    logits = np.array([[[[2.0], [-1.0]], [[0.5], [3.0]]]], np.float32)
    p = 1 / (1 + np.exp(-logits))
    cross_entropy = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    soft_dice = 2 * np.sum(y * p) / (np.sum(y) + np.sum(p))
    loss = float(segmentation.dice_cross_entropy(y, logits))
    assert loss == pytest.approx(cross_entropy + 1 - soft_dice, rel=1e-5)
    assert float(segmentation.dice_cross_entropy(y, (2 * y - 1) * 30)) < 1e-6  # confident and right


def test_batches_shuffle_reproducibly_drop_incomplete_batches_and_cast():
    inputs = [np.arange(10, dtype=np.float16).reshape(10, 1, 1, 1)]
    masks = np.zeros((10, 1, 1), bool)
    dataset = segmentation.batches(inputs, masks, batch_size=4, seed=3)
    assert int(dataset.cardinality()) == 2  # 10 examples, 2 full batches of 4
    first = [x[0].numpy().ravel().tolist() for x, _ in dataset]
    second = [x[0].numpy().ravel().tolist() for x, _ in dataset]
    assert first != second  # a new order every epoch ...
    again = [x[0].numpy().ravel().tolist() for x, _ in segmentation.batches(inputs, masks, 4, seed=3)]
    assert again == first  # ... the same orders on every run
    x, y = next(iter(segmentation.batches(inputs, masks, 4, seed=None)))  # one input: a tensor, not a tuple
    assert x.dtype == "float32" and y.shape == (4, 1, 1, 1)
    assert x.numpy().ravel().tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="one entry per mask"):
        segmentation.batches([np.zeros((3, 1))], masks)


@pytest.fixture()
def tiny_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3))
    return keras.Model(inputs, keras.layers.Conv2D(1, 3, padding="same")(inputs))


def test_predict_logits_keeps_order_and_count_with_a_padded_last_batch(tiny_model):
    images = np.random.default_rng(0).random((7, 8, 8, 3)).astype(np.float32)
    logits = segmentation.predict_logits(tiny_model, [images], batch_size=4)
    assert logits.shape == (7, 8, 8)
    np.testing.assert_allclose(logits, np.asarray(tiny_model(images))[..., 0], atol=1e-5)


def test_restart_optimizer_zeroes_the_moments_and_sets_the_rate(tiny_model):
    tiny_model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=segmentation.dice_cross_entropy)
    images, masks = np.ones((4, 8, 8, 3), np.float32), np.ones((4, 8, 8), bool)
    tiny_model.fit(segmentation.batches([images], masks, 2), epochs=1, verbose=0, shuffle=False)
    assert any(np.any(np.asarray(v)) for v in tiny_model.optimizer.variables[1:])
    segmentation.restart_optimizer(tiny_model, 1e-4)
    state = [v for v in tiny_model.optimizer.variables if "learning_rate" not in v.path]
    assert state and not any(np.any(np.asarray(v)) for v in state)  # step count and moments
    assert float(tiny_model.optimizer.learning_rate) == pytest.approx(1e-4)


def test_validation_dice_scores_every_epoch_and_lets_go_of_the_model(tiny_model):
    tiny_model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=segmentation.dice_cross_entropy)
    images, masks = np.ones((4, 8, 8, 3), np.float32), np.ones((4, 8, 8), bool)
    log = segmentation.ValidationDice([images], masks)
    tiny_model.fit(segmentation.batches([images], masks, 2), epochs=3, callbacks=[log], verbose=0, shuffle=False)
    assert len(log.scores) == 3 and all(0 <= s <= 1 for s in log.scores)
    assert log.model is None


def test_encode_returns_every_output_as_float16_in_order():
    inputs = keras.Input((8, 8, 3))
    pooled = keras.layers.AveragePooling2D(2)(inputs)
    encoder = keras.Model(inputs, [inputs, pooled])
    images = np.random.default_rng(0).integers(0, 255, (5, 8, 8, 3)).astype(np.uint8)
    maps = segmentation.encode(encoder, lambda x: x / 255.0, images, batch_size=2)
    assert [m.shape for m in maps] == [(5, 8, 8, 3), (5, 4, 4, 3)] and maps[0].dtype == np.float16
    np.testing.assert_allclose(maps[0], images / 255.0, atol=1e-3)


def test_set_batchnorm_momentum_reaches_nested_layers():
    inner = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization()])
    outer = keras.Sequential([keras.Input((4,)), inner, keras.layers.BatchNormalization()])
    assert models.set_batchnorm_momentum(outer, 0.9) == 2
    assert inner.layers[0].momentum == 0.9
    with pytest.raises(ValueError, match="momentum"):
        models.set_batchnorm_momentum(outer, 1.0)


def _kvasir_folder(tmp_path, ids):
    for sub in ("images", "masks"):
        (tmp_path / sub).mkdir()
    for i in ids:
        Image.fromarray(np.full((40, 60, 3), 90, np.uint8)).save(tmp_path / "images" / f"{i}.jpg")
        mask = np.zeros((40, 60), np.uint8)
        mask[:, :30] = 255  # the left half is polyp
        Image.fromarray(mask).save(tmp_path / "masks" / f"{i}.jpg")
    return tmp_path


def test_read_pairs_resizes_and_thresholds_masks(tmp_path):
    folder = _kvasir_folder(tmp_path, ["a", "b"])
    pairs = segmentation.read_pairs(folder, ["b", "a"], 32)
    assert pairs.images.shape == (2, 32, 32, 3) and pairs.masks.dtype == bool and pairs.ids == ("b", "a")
    assert 0.45 < pairs.masks.mean() < 0.55
    assert pairs.subset(np.array([1])).ids == ("a",)


def test_read_pairs_names_missing_ids(tmp_path):
    folder = _kvasir_folder(tmp_path, ["a"])
    with pytest.raises(FileNotFoundError, match=r"1 id\(s\).*'zz'"):
        segmentation.read_pairs(folder, ["a", "zz"], 32)


def test_a_missing_archive_offline_says_what_to_do(monkeypatch):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://datasets.simula.no/downloads/kvasir-seg.zip: None")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(ResourceNotAvailableError, match="KERAS_HOME"):
        segmentation.kvasir_folder()


def test_image_size_must_halve_five_times():
    with pytest.raises(ValueError, match="multiple of 32"):
        segmentation.load_kvasir(100)


def test_the_official_split_has_880_and_120_distinct_ids():
    split = segmentation.official_split()
    assert (len(split["train"]), len(split["test"])) == (880, 120)
    assert len(set(split["train"])) == 880 and not set(split["train"]) & set(split["test"])


def test_the_official_split_matches_the_archive():
    archive = config.keras_home() / "datasets" / "kvasir-seg.zip"
    if not archive.exists():
        pytest.skip(f"no Kvasir-SEG archive in {archive.parent} (notebook 13 downloads it)")
    split = segmentation.official_split()
    assert segmentation.archive_ids(archive) == set(split["train"]) | set(split["test"])


def test_segmentation_overlays_draw_one_row_per_image():
    images = np.zeros((2, 8, 8, 3), np.uint8)
    masks = np.zeros((2, 8, 8), bool)
    masks[:, 2:5, 2:5] = True
    figure = plots.segmentation_overlays(images, masks, masks, ["a", "b"])
    assert len(figure.axes) == 4
    with pytest.raises(ValueError, match="as many"):
        plots.segmentation_overlays(images, masks, masks, ["a"])


def test_scores_refuse_probabilities_instead_of_masks():
    truth = np.ones((1, 2, 2), bool)
    with pytest.raises(ValueError, match="threshold them first"):
        segmentation.dice_scores(truth, np.full((1, 2, 2), 0.3))
    np.testing.assert_allclose(segmentation.dice_scores(truth, np.ones((1, 2, 2), int)), [1.0])  # 0/1 is fine


def test_unshuffled_batches_keep_the_last_one_and_a_small_set_is_one_batch():
    inputs, masks = [np.zeros((10, 1), np.float16), np.ones((10, 2), np.float16)], np.zeros((10, 1, 1), bool)
    sizes = [len(y) for _, y in segmentation.batches(inputs, masks, 4, seed=None)]
    assert sizes == [4, 4, 2]
    (first, second), _ = next(iter(segmentation.batches(inputs, masks, 4, seed=None)))  # several inputs: a tuple
    assert first.shape == (4, 1) and second.shape == (4, 2)
    assert [len(y) for _, y in segmentation.batches(inputs[:1], masks, 16, seed=1)] == [10]  # fewer than a batch


def test_predict_logits_feeds_every_input_of_a_multi_input_model():
    a, b = keras.Input((4, 4, 1)), keras.Input((4, 4, 1))
    model = keras.Model([a, b], keras.layers.Subtract()([a, b]))
    first, second = np.random.default_rng(0).random((2, 5, 4, 4, 1)).astype(np.float32)
    np.testing.assert_allclose(segmentation.predict_logits(model, [first, second], batch_size=2),
                               (first - second)[..., 0], atol=1e-6)


def test_encode_traces_once_for_any_number_of_images_and_forgets_deleted_encoders():
    import gc

    inputs = keras.Input((4, 4, 3))
    encoder = keras.Model(inputs, [inputs])
    for count in (5, 7, 3):  # last batches of 1, 3 and 3 are padded to full size
        assert segmentation.encode(encoder, lambda x: x, np.zeros((count, 4, 4, 3), np.uint8), 4)[0].shape[0] == count
    assert segmentation._ENCODERS[encoder][1].experimental_get_tracing_count() == 1
    del encoder
    gc.collect()
    assert not len(segmentation._ENCODERS)


def test_scores_agree_with_scikit_learn_on_random_masks():
    from sklearn import metrics

    rng = np.random.default_rng(1)
    truth, guess = rng.random((12, 6, 7)) < 0.4, rng.random((12, 6, 7)) < 0.3
    truth[:, 0, 0] = guess[:, 0, 1] = True  # no empty mask: scikit-learn scores an empty pair 0, not 1
    np.testing.assert_allclose(segmentation.dice_scores(truth, guess),
                               [metrics.f1_score(t.ravel(), g.ravel()) for t, g in zip(truth, guess)], atol=1e-12)
    np.testing.assert_allclose(segmentation.iou_scores(truth, guess),
                               [metrics.jaccard_score(t.ravel(), g.ravel()) for t, g in zip(truth, guess)], atol=1e-12)
