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


def test_within_gives_the_same_draws_as_positions_among_the_rows_kept(sampler):
    runs = [(5, 0), (5, 1), (8, 0)]
    drawn = np.unique(np.concatenate([sampler.draw(n, seed) for n, seed in runs]))
    kept = sampler.within(drawn)
    values = np.arange(len(sampler.labels)) * 10  # an array over the whole split, and the same rows kept
    for n, seed in runs:
        np.testing.assert_array_equal(values[drawn][kept.draw(n, seed)], values[sampler.draw(n, seed)])
        np.testing.assert_array_equal(sampler.labels[drawn][kept.draw(n, seed)], sampler.labels[sampler.draw(n, seed)])
    assert sampler.rows is None  # the original still indexes the whole split
    with pytest.raises(ValueError, match="not among the rows kept"):
        kept.draw(9, 0)  # one more photo per class than any draw kept
    with pytest.raises(ValueError, match="not among the rows kept"):
        kept.draw(5, 2)  # another seed's photos
    for rows in ([3, 1], [1, 1], [-1, 2], [0, len(sampler.labels)]):
        with pytest.raises(ValueError, match="distinct indices"):
            sampler.within(rows)


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


def _three_methods_setup(steps=50, fine_tune_steps=20):
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
    scratch = models.compile_classifier(models.small_cnn(8, 2, filters=(4,)), steps_per_execution=1)
    head = models.compile_classifier(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]), learning_rate=0.1,
                                     steps_per_execution=1)
    top = keras.layers.Dense(4, kernel_initializer="identity", trainable=False)
    source = keras.Input((4,))
    fine_tuner = models.compile_classifier(keras.Model(source, keras.layers.Dense(2)(top(source))), learning_rate=0.0,
                                           steps_per_execution=1)
    predictions = {}
    methods = efficiency.three_methods(scratch, head, fine_tuner, inputs, labels, steps=steps,
                                       fine_tune_steps=fine_tune_steps, predictions=predictions)
    return methods, (scratch, head, fine_tuner), inputs, labels, predictions


def test_three_methods_give_both_transfer_arms_the_same_budget():
    steps, extra = 50, 20
    methods, (scratch, head, fine_tuner), inputs, labels, predictions = _three_methods_setup(steps, extra)
    assert list(methods) == ["scratch", "feature extraction", "fine-tuning"]
    initial_head = head.get_weights()
    indices = np.arange(40)
    scratch_accuracy = methods["scratch"](indices, 0)
    assert int(scratch.optimizer.iterations.numpy()) == steps
    # the returned figure is the trained model's accuracy on the test split, and its predictions are kept
    recomputed = np.argmax(scratch.predict(inputs["scratch"]["test"], verbose=0), axis=-1)
    np.testing.assert_array_equal(predictions["scratch"][(20, 0)], recomputed)
    assert scratch_accuracy == pytest.approx(np.mean(recomputed == labels["test"]))
    assert methods["feature extraction"](indices, 0) == 1.0  # the first feature is the label
    assert int(head.optimizer.iterations.numpy()) == steps  # the same budget as scratch
    final_head = head.get_weights()
    assert methods["fine-tuning"](indices, 0) == 1.0
    assert int(fine_tuner.optimizer.iterations.numpy()) == extra
    # learning rate 0: the fine-tuner holds exactly the head as it was after steps - extra steps, not after all
    efficiency.restart(head, initial_head)
    after_steps = efficiency.fit_steps(head, inputs["head"]["train"], labels["train"], steps - extra, 0).get_weights()
    assert not np.allclose(after_steps[0], final_head[0])  # the extra steps did move the head
    for a, b in zip(fine_tuner.layers[-1].get_weights(), after_steps):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert set(predictions) == {"scratch", "feature extraction", "fine-tuning"}


def test_three_methods_check_their_inputs_and_order():
    methods, (scratch, head, fine_tuner), inputs, labels, _ = _three_methods_setup()
    with pytest.raises(RuntimeError, match="Run 'feature extraction' before 'fine-tuning'"):
        methods["fine-tuning"](np.arange(40), 0)
    with pytest.raises(ValueError, match=r"inputs\['head'\] needs 'train' and 'test' arrays"):
        efficiency.three_methods(scratch, head, fine_tuner, {**inputs, "head": {"train": 1}}, labels, 2, 1)
    with pytest.raises(ValueError, match=r"fine_tune_steps \(40\) must be below steps \(40\)"):
        efficiency.three_methods(scratch, head, fine_tuner, inputs, labels, 40, 40)


def test_spread_curve_is_the_sample_standard_deviation_over_draws():
    curve = {"m": {5: [0.5, 0.7], 20: [0.9]}}  # ddof=1: sqrt(((0.1)^2 + (0.1)^2) / 1)
    assert efficiency.spread_curve(curve) == {"m": {5: pytest.approx(0.1 * 2 ** 0.5), 20: 0.0}}


def test_compile_classifier_uses_logits_and_accuracy():
    model = models.compile_classifier(keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)]), learning_rate=0.01)
    assert model.loss.get_config()["from_logits"] is True
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.01)
    assert model.steps_per_execution == 10


def _pixels(side: int, n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, side, side, 3)).astype(np.uint8)


def test_scratch_by_input_size_trains_each_size_and_chooses_on_validation():
    labels = {"train": np.arange(12) % 3, "validation": np.arange(6) % 3, "test": np.arange(9) % 3}
    images = {side: {split: _pixels(side, len(y), seed) for seed, (split, y) in enumerate(labels.items())}
              for side in (16, 24)}
    search = efficiency.scratch_by_input_size(images, labels, np.arange(12), steps=10)
    assert set(search.validation) == {16, 24} and all(0 <= v <= 1 for v in search.validation.values())
    assert all(p.shape == (9,) and p.max() < 3 for p in search.predicted.values())
    assert search.chosen == max(search.validation, key=search.validation.get)
    again = efficiency.scratch_by_input_size(images, labels, np.arange(12), steps=10)
    assert again.validation == search.validation  # seeded: the same weights and batches


def test_scratch_search_chooses_the_best_validation_and_the_smallest_on_a_tie():
    assert efficiency.ScratchSearch({32: 0.5, 64: 0.7, 96: 0.6}, {}).chosen == 64
    assert efficiency.ScratchSearch({96: 0.7, 32: 0.7}, {}).chosen == 32


def test_scratch_by_input_size_refuses_bad_inputs():
    labels = {"train": np.arange(4) % 2, "validation": np.arange(4) % 2, "test": np.arange(4) % 2}
    with pytest.raises(ValueError, match="at least one input size"):
        efficiency.scratch_by_input_size({}, labels, np.arange(4), steps=2)
    with pytest.raises(ValueError, match="lacks the split"):
        efficiency.scratch_by_input_size({8: {"train": _pixels(8, 4, 0)}}, labels, np.arange(4), steps=2)
    wrong = {8: {split: _pixels(10, 4, 0) for split in labels}}
    with pytest.raises(ValueError, match="not 8x8"):
        efficiency.scratch_by_input_size(wrong, labels, np.arange(4), steps=2)


def test_fit_steps_trains_exactly_the_steps_asked_or_says_why_it_cannot():
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = _model()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), steps_per_execution=10,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    efficiency.fit_steps(model, x, y, steps=30, seed=1)
    assert int(model.optimizer.iterations.numpy()) == 30
    with pytest.raises(ValueError, match=r"multiple of the model's steps_per_execution \(10\).*would train 30"):
        efficiency.fit_steps(model, x, y, steps=25, seed=1)  # Keras would round it up to 30 steps
    assert int(model.optimizer.iterations.numpy()) == 30  # refused before training
