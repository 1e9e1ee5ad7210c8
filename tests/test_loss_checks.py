import numpy as np
import pytest

from helpers import loss_checks

P = np.array([[0.2, 0.8], [0.6, 0.4]])


def test_valid_inputs_pass_through_as_arrays():
    np.testing.assert_array_equal(loss_checks.check_probabilities(P.tolist()), P)
    np.testing.assert_array_equal(loss_checks.check_one_hot([[0, 1], [1, 0]], P), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(loss_checks.check_class_indices([1.0, 0.0], P), [1, 0])
    assert loss_checks.check_probabilities([0.3, 1.0], axis=None).shape == (2,)


@pytest.mark.parametrize(("p", "axis", "message"), [
    ([[2.0, -1.0]], -1, "Are these logits"),
    ([[0.5, 0.6]], -1, "must sum to 1"),
    ([np.nan, 0.5], None, "must lie in"),
    ([], None, "empty"),
])
def test_bad_probabilities(p, axis, message):
    with pytest.raises(ValueError, match=message):
        loss_checks.check_probabilities(p, axis=axis)


def test_integer_labels_for_the_categorical_loss_point_to_the_sparse_one():
    with pytest.raises(ValueError, match=r"labels have shape \(2,\) but predictions \(2, 2\).*sparse"):
        loss_checks.check_one_hot([1, 0], P)
    with pytest.raises(ValueError, match="one-hot"):
        loss_checks.check_one_hot([[0.5, 0.5], [1, 0]], P)


@pytest.mark.parametrize(("labels", "message"), [
    ([1, 2], "from 0 to 1"),
    ([0.5, 1], "whole numbers"),
    ([-1, 0], "whole numbers"),
    ([0], r"shape \(N,\)"),
    ([[0, 1], [1, 0]], r"shape \(N,\)"),
])
def test_bad_class_indices(labels, message):
    with pytest.raises(ValueError, match=message):
        loss_checks.check_class_indices(labels, P)
