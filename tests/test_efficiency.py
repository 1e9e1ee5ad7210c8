import keras
import numpy as np
import pytest

from helpers import efficiency, models


@pytest.fixture()
def sampler():
    labels = np.array([0] * 30 + [1] * 12 + [2] * 50)
    return efficiency.PerClassSampler(labels, seeds=3)


def test_draws_are_balanced_nested_and_seeded(sampler):
    five, twenty = sampler.draw(5, seed=1), sampler.draw(10, seed=1)
    assert np.bincount(sampler.labels[five]).tolist() == [5, 5, 5]
    assert set(five) <= set(twenty)
    np.testing.assert_array_equal(five, sampler.draw(5, seed=1))
    assert not np.array_equal(five, sampler.draw(5, seed=2))
    assert np.all(np.diff(twenty) > 0)


def test_rarest_class_limits_the_draw(sampler):
    assert sampler.smallest_class == 12
    assert len(sampler.draw(12)) == 36
    with pytest.raises(ValueError, match="rarest class has only 12: use per_class <= 12"):
        sampler.draw(13)
    with pytest.raises(ValueError, match="seed 3 was not prepared"):
        sampler.draw(5, seed=3)
    with pytest.raises(ValueError, match="per_class must be a positive integer"):
        sampler.draw(0)


def test_runs_repeat_only_the_smallest_sizes():
    assert efficiency.runs_for([5, 20, 80, 10], seeds=3) == [
        (5, 0), (5, 1), (5, 2), (20, 0), (80, 0), (10, 0), (10, 1), (10, 2)]
    assert efficiency.runs_for([5, 20], seeds=1) == [(5, 0), (20, 0)]


def _model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def test_restart_gives_the_same_training_as_a_fresh_model():
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = _model()
    initial = model.get_weights()
    first = efficiency.fit_steps(model, x, y, steps=7, seed=1).get_weights()
    assert int(model.optimizer.iterations.numpy()) == 7
    efficiency.restart(model, initial)
    assert int(model.optimizer.iterations.numpy()) == 0
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.05)  # kept, not zeroed
    again = efficiency.fit_steps(model, x, y, steps=7, seed=1).get_weights()
    for a, b in zip(first, again):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert not np.allclose(first[0], initial[0])


def test_measure_curve_collects_one_score_per_run(sampler):
    seen = []

    def method(indices, seed):
        seen.append((len(indices), seed))
        return len(indices) / 100

    curve = efficiency.measure_curve({"m": method}, sampler, efficiency.runs_for([2, 10], seeds=2))
    assert seen == [(6, 0), (6, 1), (30, 0), (30, 1)]
    assert curve == {"m": {2: [0.06, 0.06], 10: [0.3, 0.3]}}
    assert efficiency.mean_curve(curve) == {"m": {2: pytest.approx(0.06), 10: pytest.approx(0.3)}}


@pytest.mark.parametrize("scores, patience, monitor, mode", [
    ([0.3, 0.5, 0.4, 0.45, 0.6, 0.5, 0.5, 0.5, 0.7], 3, "val_accuracy", "max"),
    ([0.3, 0.5, 0.4, 0.45, 0.6, 0.5, 0.5, 0.5, 0.7], 5, "val_accuracy", "max"),
    ([0.3, 0.5, 0.4, 0.45, 0.6, 0.5, 0.5, 0.5, 0.7], 3, "val_loss", "min"),
    ([0.5, 0.5, 0.5], 1, "val_loss", "min"),
    ([0.1, 0.2, 0.3], 2, "val_accuracy", "max"),
])
def test_early_stopping_replay_matches_the_keras_callback(scores, patience, monitor, mode):
    model = _model()
    callback = keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=patience, restore_best_weights=True)
    callback.set_model(model)
    callback.on_train_begin()
    last = len(scores) - 1
    for epoch, score in enumerate(scores):
        callback.on_epoch_end(epoch, {monitor: score})
        if model.stop_training:
            last = epoch
            break
    assert efficiency.early_stopping_epochs(scores, patience, mode) == (last, callback.best_epoch)


def test_early_stopping_needs_a_history_and_a_mode():
    with pytest.raises(ValueError, match="history is empty"):
        efficiency.early_stopping_epochs([], 3)
    with pytest.raises(ValueError, match="mode must be 'min'"):
        efficiency.early_stopping_epochs([0.1], 3, mode="max_accuracy")


def test_small_cnn_takes_pixels_and_gives_logits():
    model = models.small_cnn(32, 5, dropout=0.5)
    assert model.input_shape == (None, 32, 32, 3) and model.output_shape == (None, 5)
    assert 90_000 < model.count_params() < 110_000
    flip = models.small_cnn(32, 3, extra_layers=[keras.layers.RandomFlip("horizontal")])
    assert isinstance(flip.layers[0], keras.layers.RandomFlip)


def test_three_methods_train_each_model_and_fine_tune_from_the_trained_head():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    labels = {"train": np.repeat([0, 1], 20), "test": np.repeat([0, 1], 10)}
    signal = {split: (y[:, None] * 2.0 - 1.0).astype("float32") for split, y in labels.items()}
    pooled = {s: np.hstack([signal[s], rng.normal(size=(len(y), 3))]).astype("float32") for s, y in labels.items()}
    inputs = {
        "scratch": {s: rng.integers(0, 255, (len(y), 8, 8, 3)).astype("uint8") for s, y in labels.items()},
        "head": pooled,
        "fine_tuner": pooled,  # the top below is the identity: the fine-tuner sees what the head sees
    }
    scratch = models.compile_classifier(models.small_cnn(8, 2, filters=(4,)))
    head = models.compile_classifier(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]), learning_rate=0.1)
    top = keras.layers.Dense(4, kernel_initializer="identity", trainable=False)
    source = keras.Input((4,))
    fine_tuner = models.compile_classifier(keras.Model(source, keras.layers.Dense(2)(top(source))), learning_rate=0.0)
    methods = efficiency.three_methods(scratch, head, fine_tuner, inputs, labels, steps=30, fine_tune_steps=2)
    assert list(methods) == ["scratch", "feature extraction", "fine-tuning"]
    indices = np.arange(40)
    assert 0.0 <= methods["scratch"](indices, 0) <= 1.0
    assert methods["feature extraction"](indices, 0) == 1.0  # the first feature is the label
    assert methods["fine-tuning"](indices, 0) == 1.0  # learning rate 0: exactly the trained head
    for a, b in zip(fine_tuner.layers[-1].get_weights(), head.layers[-1].get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"inputs\['head'\] needs 'train' and 'test' arrays"):
        efficiency.three_methods(scratch, head, fine_tuner, {**inputs, "head": {"train": 1}}, labels, 1, 1)


def test_compile_classifier_uses_logits_and_accuracy():
    model = models.compile_classifier(keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)]), learning_rate=0.01)
    assert model.loss.get_config()["from_logits"] is True
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.01)
    assert model.steps_per_execution == 10
