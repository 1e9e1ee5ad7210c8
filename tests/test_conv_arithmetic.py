import numpy as np
import pytest
import tensorflow as tf

from helpers import conv_arithmetic as ca


@pytest.mark.parametrize("size", [1, 5, 7, 28, 224])
@pytest.mark.parametrize("kernel", [1, 3, 5])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", ["VALID", "SAME", 0, 1, 2])
def test_output_size_matches_tensorflow(size, kernel, stride, padding):
    x = tf.zeros((1, size, size, 1))
    w = tf.zeros((kernel, kernel, 1, 1))
    tf_padding = padding if isinstance(padding, str) else [[0, 0], [padding] * 2, [padding] * 2, [0, 0]]
    if padding == "VALID" and kernel > size or isinstance(padding, int) and kernel > size + 2 * padding:
        with pytest.raises(ValueError, match="does not fit"):
            ca.conv_output_size(size, kernel, stride, padding)
        return
    expected = tf.nn.conv2d(x, w, strides=stride, padding=tf_padding).shape[1]
    assert ca.conv_output_size(size, kernel, stride, padding) == expected


@pytest.mark.parametrize(("size", "kernel", "stride", "expected"), [(5, 3, 1, (1, 1)), (224, 3, 2, (0, 1)), (6, 4, 1, (1, 2)), (4, 1, 2, (0, 0))])
def test_same_padding_reproduces_tensorflow(size, kernel, stride, expected):
    assert ca.same_padding(size, kernel, stride) == expected
    x = np.random.default_rng(0).normal(size=(1, size, size, 1)).astype("float32")
    w = np.random.default_rng(1).normal(size=(kernel, kernel, 1, 1)).astype("float32")
    before, after = expected
    padded = np.pad(x, [(0, 0), (before, after), (before, after), (0, 0)])
    np.testing.assert_allclose(
        tf.nn.conv2d(padded, w, stride, "VALID"), tf.nn.conv2d(x, w, stride, "SAME"), atol=1e-5
    )


@pytest.mark.parametrize(("args", "message"), [
    ((5, 3, -1), "stride must be a positive integer, got -1"),
    ((5, 3, 0), "stride must be a positive integer"),
    ((5, 3, 1.5), "stride must be a positive integer"),
    ((0, 3, 1), "size must be a positive integer"),
    ((5, 3, 1, "FULL"), "padding must be 'VALID', 'SAME' or a non-negative"),
    ((5, 3, 1, -1), "padding must be"),
])
def test_output_size_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        ca.conv_output_size(*args)


def test_padding_names_are_case_insensitive():
    assert ca.conv_output_size(7, 3, 2, "same") == 4


@pytest.mark.parametrize(("x_shape", "w_shape", "stride", "message"), [
    ((8, 8), (3, 3, 1, 1), 1, r"inputs must have 4 axes .* x\[None, :, :, None\]"),
    ((1, 8, 8, 1), (3, 3), 1, r"kernel must have 4 axes .* w\[:, :, None, None\]"),
    ((1, 8, 8, 3), (3, 3, 1, 2), 1, "inputs have 3 channels but the kernel expects 1"),
    ((1, 8, 8, 1), (3, 3, 1, 1), -2, "stride must be a positive integer, got -2"),
    ((1, 2, 8, 1), (3, 3, 1, 1), 1, "does not fit in 2 pixels"),
])
def test_conv_input_checks(x_shape, w_shape, stride, message):
    with pytest.raises(ValueError, match=message):
        ca.check_conv_inputs(np.zeros(x_shape), np.zeros(w_shape), stride, "VALID")


def test_conv_input_checks_accept_valid_arguments():
    ca.check_conv_inputs(np.zeros((2, 8, 8, 3)), np.zeros((3, 3, 3, 4)), 2, "same")
    with pytest.raises(ValueError, match="'VALID' or 'SAME' here"):
        ca.check_conv_inputs(np.zeros((2, 8, 8, 3)), np.zeros((3, 3, 3, 4)), 2, 1)
