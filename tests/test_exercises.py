import numpy as np

from helpers import exercises


def test_verdict_displays_its_message_and_is_truthy_only_when_correct():
    assert bool(exercises.report(True, "h")) and repr(exercises.report(True, "h")) == "Correct!"
    wrong = exercises.report(False, "look again")
    assert not wrong and repr(wrong) == "Not yet. Hint: look again"
    untried = exercises.report(None, "h")
    assert not untried and "Not attempted yet" in repr(untried)


def test_class_count_check(flowers):
    truth = flowers.class_counts("validation")["roses"]
    assert exercises.check_class_count(truth, flowers, "validation", "roses")
    assert not exercises.check_class_count(truth + 1, flowers, "validation", "roses")
    assert "Not attempted" in repr(exercises.check_class_count(None, flowers, "validation", "roses"))


def test_check_close_compares_values_and_shapes():
    assert exercises.check_close(np.array([1.0, 2.0]), [1.0, 2.0 + 1e-9], "h")
    assert not exercises.check_close(np.array([1.0, 2.1]), [1.0, 2.0], "h")
    shape = exercises.check_close(np.ones(3), np.ones(2), "h")
    assert not shape and "expected shape (2,)" in repr(shape)


def test_conv_checks():
    from helpers import conv_arithmetic

    assert exercises.check_conv_output_size(112)
    assert not exercises.check_conv_output_size(111)
    assert exercises.check_conv_parameter_count(5 * 5 * 16 * 32 + 32)
    assert not exercises.check_conv_parameter_count(5 * 5 * 16 * 32)
    assert conv_arithmetic.conv_output_size(224, 3, 2, "SAME") == 112


def test_a_count_must_be_a_whole_number_not_one_that_rounds_down_to_it():
    assert exercises.check_conv_output_size(112.0)
    assert not exercises.check_conv_output_size(112.9)  # int(112.9) would be 112
    assert not exercises.check_conv_output_size("a lot")
    assert not exercises.check_head_parameter_count(6405.5, 1280, 5)


def test_conv1d_check_accepts_cross_correlation_and_explains_mistakes():
    def correct(x, w):
        return np.array([np.dot(x[i : i + len(w)], w) for i in range(len(x) - len(w) + 1)])

    def flipped(x, w):
        return correct(x, w[::-1])

    def crashing(x, w):
        raise IndexError("oops")

    assert exercises.check_conv1d(correct)
    assert "no kernel flip" in repr(exercises.check_conv1d(flipped))
    assert "raised IndexError" in repr(exercises.check_conv1d(crashing))
    assert "Not attempted" in repr(exercises.check_conv1d(None))


def test_conv1d_check_treats_an_unfinished_stub_as_not_attempted():
    assert "Not attempted" in repr(exercises.check_conv1d(lambda x, w: None))


def test_log_softmax_check_requires_stability():
    def naive(z):
        return np.log(np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True))

    def stable(z):
        shifted = z - z.max(axis=-1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))

    assert exercises.check_log_softmax(stable)
    assert "subtract the row maximum" in repr(exercises.check_log_softmax(naive))
    assert "Not attempted" in repr(exercises.check_log_softmax(lambda z: None))


def test_head_checks():
    import keras

    assert exercises.check_head_parameter_count(6405, 1280, 5)
    assert not exercises.check_head_parameter_count(6400, 1280, 5)
    features = np.eye(4, dtype="float32")
    labels = np.arange(4)
    perfect = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4, use_bias=False)])
    perfect.layers[0].set_weights([np.eye(4)])
    assert exercises.check_head_accuracy(perfect, features, labels, minimum=0.9)
    perfect.layers[0].set_weights([np.roll(np.eye(4), 1, axis=1)])
    assert "reaches 0.000" in repr(exercises.check_head_accuracy(perfect, features, labels, minimum=0.9))


def test_unfrozen_parameter_count_check_restores_the_model():
    import keras

    from helpers import models

    base = models.build_backbone("mobilenet_v2_0.35", weights=None)
    base.trainable = False
    model = keras.Sequential([base, keras.layers.Dense(2)])
    head_only = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    models.unfreeze_top_layers(base, "block_16_expand")
    truth = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    base.trainable = False
    assert exercises.check_unfrozen_parameter_count(truth, model, base, "block_16_expand")
    assert not exercises.check_unfrozen_parameter_count(head_only, model, base, "block_16_expand")
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == head_only  # restored


def test_choice_check():
    options = ["instance", "feature", "parameter", "relation"]
    assert exercises.check_choice("Feature", "feature", options, "h")
    assert not exercises.check_choice("instance", "feature", options, "h")
    assert "answer with one of" in repr(exercises.check_choice("features", "feature", options, "h"))
