"""Fine-tuning keeps BatchNormalization in inference mode and frozen layers frozen.

What was measured here (Keras 3.15.1, TensorFlow 2.21): calling the base with
``training=False`` inside a functional model does *not* keep BatchNormalization in
inference mode during ``fit`` once the base is unfrozen; freezing the BatchNormalization
layers themselves (``trainable=False``, as ``models.unfreeze_top_layers`` does) does.
The tests prove both, so each check is shown able to fail.
"""

import keras
import numpy as np
import pytest

from helpers import models, timing


def _classifier(base: keras.Model, training: bool) -> keras.Model:
    inputs = keras.Input((224, 224, 3))
    features = base(keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs), training=training)
    return keras.Model(inputs, keras.layers.Dense(5)(features))


def _one_step(model: keras.Model, batch) -> None:
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(*batch, batch_size=len(batch[1]), epochs=1, verbose=0)


@pytest.fixture(scope="module")
def batch(flowers):
    images, labels = next(iter(flowers.batches("train", batch_size=16)))
    return images.numpy(), labels.numpy()


def _changed(before, after):
    return [not np.array_equal(b, a) for b, a in zip(before, after)]


def test_fully_unfrozen_base_called_in_training_mode_overwrites_statistics(batch):
    keras.utils.set_random_seed(0)
    base = models.build_backbone("mobilenet_0.25")
    model = _classifier(base, training=True)
    base.trainable = True  # the naive unfreeze, BatchNormalization included
    before = models.batchnorm_moving_statistics(model)
    _one_step(model, batch)
    assert all(_changed(before, models.batchnorm_moving_statistics(model)))


def test_training_false_alone_does_not_protect_statistics_during_fit(batch):
    """Keras 3.15: fit() passes training=True into the functional model, and Functional.call
    forwards it to every inner layer, overriding the training=False given when the model
    was built. Once BatchNormalization is trainable again, its statistics move.

    If this test starts failing, Keras changed the behaviour: update notebook 05's text.
    """
    keras.utils.set_random_seed(0)
    base = models.build_backbone("mobilenet_0.25")
    model = _classifier(base, training=False)
    base.trainable = True
    before = models.batchnorm_moving_statistics(model)
    _one_step(model, batch)
    assert all(_changed(before, models.batchnorm_moving_statistics(model)))


def test_unfreeze_top_layers_trains_only_the_top_and_keeps_statistics(batch):
    keras.utils.set_random_seed(0)
    base = models.build_backbone("mobilenet_v2_0.35")
    model = _classifier(base, training=False)
    count = models.unfreeze_top_layers(base, "block_16_expand")
    assert count == 4  # block_16 expand, depthwise, project convolutions and Conv_1
    frozen = [w for layer in base.layers if not layer.trainable for w in layer.weights]
    unfrozen = [w for layer in base.layers if layer.trainable for w in layer.weights]
    assert all("batch_normalization" not in w.path and "_bn" not in w.path.split("/")[-2] for w in unfrozen)
    frozen_before = [w.numpy().copy() for w in frozen]
    unfrozen_before = [w.numpy().copy() for w in unfrozen]
    statistics_before = models.batchnorm_moving_statistics(model)
    _one_step(model, batch)
    assert not any(_changed(frozen_before, [w.numpy() for w in frozen]))
    assert all(_changed(unfrozen_before, [w.numpy() for w in unfrozen]))
    assert not any(_changed(statistics_before, models.batchnorm_moving_statistics(model)))


def test_unfreezing_deeper_trains_more_weights():
    base = models.build_backbone("mobilenet_v2_0.35", weights=None)
    shallow = models.unfreeze_top_layers(base, "block_16_expand")
    shallow_weights = len(base.trainable_weights)
    deeper = models.unfreeze_top_layers(base, "block_14_expand")
    assert deeper > shallow and len(base.trainable_weights) > shallow_weights


def test_unknown_layer_name_shows_real_names():
    base = models.build_backbone("mobilenet_v2_0.35", weights=None)
    with pytest.raises(ValueError, match=r"no layer 'block_99_expand'.*'block_1_expand'"):
        models.unfreeze_top_layers(base, "block_99_expand")


def test_train_head_learns_separable_features_and_restores_the_best_epoch():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 300)
    features = rng.normal(size=(300, 16)).astype("float32") + 3 * np.eye(3, 16)[labels]
    head, history = models.train_head((features[:200], labels[:200]), (features[200:], labels[200:]),
                                      num_classes=3, epochs=20, hidden_units=8, learning_rate=0.01)
    assert head.output_shape == (None, 3)
    assert max(history.history["val_accuracy"]) > 0.9
    _, accuracy = head.evaluate(features[200:], labels[200:], verbose=0)
    assert accuracy == pytest.approx(max(history.history["val_accuracy"]), abs=1e-6)


def test_stopwatch_measures_its_block():
    import time

    with timing.Stopwatch() as watch:
        time.sleep(0.05)
    assert 0.04 < watch.seconds < 1.0


def test_epoch_timer_records_one_duration_per_epoch():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    timer = timing.epoch_timer()
    model.fit(np.zeros((8, 2)), np.zeros(8), epochs=3, verbose=0, callbacks=[timer])
    assert len(timer.seconds) == 3 and all(0 < s < 10 for s in timer.seconds)
