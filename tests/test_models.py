import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from helpers import models


def test_registry_has_the_course_backbones():
    for name in ("mobilenet_v2", "mobilenet_0.25", "efficientnet_b0", "resnet50", "vgg16"):
        assert name in models.BACKBONES


def test_unknown_backbone_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"Unknown backbone 'mobilenetv2'; choose one of \[.*'mobilenet_v2'"):
        models.build_backbone("mobilenetv2")


def test_each_backbone_keeps_its_own_preprocessing():
    pixels = np.array([[[[0.0, 127.5, 255.0]]]], dtype="float32")
    np.testing.assert_allclose(models.preprocess_for("mobilenet_v2")(pixels.copy()), [[[[-1, 0, 1]]]])
    caffe = models.preprocess_for("resnet50")(pixels.copy())  # BGR, ImageNet mean removed
    np.testing.assert_allclose(caffe, [[[[255 - 103.939, 127.5 - 116.779, 0 - 123.68]]]], rtol=1e-5)
    np.testing.assert_allclose(models.preprocess_for("efficientnet_b0")(pixels.copy()), pixels)


def test_imagenet_backbone_gives_pooled_features():
    backbone = models.build_backbone("mobilenet_v2")
    assert backbone.output_shape == (None, 1280)
    assert backbone.input_shape == (None, 224, 224, 3)


def test_random_backbone_builds_without_weights_and_keeps_maps():
    backbone = models.build_backbone("mobilenet_0.25", weights=None, pooling=None)
    assert backbone.output_shape == (None, 7, 7, 256)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"weights": "cifar"}, "weights must be 'imagenet' or None"),
    ({"image_size": 0}, "image_size must be an integer of at least 32"),
    ({"image_size": "224"}, "image_size must be an integer of at least 32"),
])
def test_bad_arguments_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.build_backbone("mobilenet_v2", **kwargs)


def test_unrelated_errors_are_not_disguised():
    with pytest.raises(ValueError, match="alpha"):
        models.load_application(keras.applications.MobileNetV2, alpha=0.4, weights="imagenet")


def test_missing_weights_offline_name_the_file_and_the_fix(tmp_path):
    """A fresh interpreter, an empty KERAS_HOME and a proxy that refuses: offline for real."""
    code = (
        "from helpers import models\n"
        "try:\n    models.build_backbone('vgg16')\n"
        "except models.ResourceNotAvailableError as error:\n    print(error)\n"
    )
    env = {**os.environ, "KERAS_HOME": str(tmp_path), "HTTPS_PROXY": "http://127.0.0.1:9",
           "https_proxy": "http://127.0.0.1:9", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ImageNet weights of VGG16 (vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5)" in done.stdout
    assert f"KERAS_HOME={tmp_path}/models" in done.stdout and "TFDS_DATA_DIR" in done.stdout


def test_multiply_adds_count_each_layer_kind_by_hand() -> None:
    inputs = keras.Input((8, 8, 2))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)  # 8*8 positions * 3*3*2*4
    x = keras.layers.Conv2D(4, 1, groups=2)(x)  # 8*8 * 1*1*(4/2)*4
    x = keras.layers.DepthwiseConv2D(3)(x)  # 6*6 * 3*3*4
    x = keras.layers.Dense(3)(x)  # applied per position: 6*6 * 4*3
    x = keras.layers.BatchNormalization()(keras.layers.GlobalAveragePooling2D()(x))  # not counted
    outputs = keras.layers.Dense(5)(x)  # 3*5
    model = keras.Model(inputs, outputs)
    expected = 64 * 72 + 64 * 8 + 36 * 36 + 36 * 12 + 15
    assert models.multiply_adds(model) == expected


def test_multiply_adds_of_mobilenet_v2_match_the_published_300_million() -> None:
    model = keras.applications.MobileNetV2(weights=None)  # with the classifier, as published
    assert abs(models.multiply_adds(model) - 300e6) / 300e6 < 0.01


def test_every_backbone_has_a_published_top1_with_its_source() -> None:
    for name, spec in models.BACKBONES.items():
        assert 40 < spec.imagenet_top1 < 90, name
        assert "keras.io" in spec.top1_source or "TF-slim" in spec.top1_source, name


def test_split_at_reproduces_the_whole_network() -> None:
    base = models.build_backbone("mobilenet_v2", weights=None)
    bottom, top = models.split_at(base, "block_16_expand")
    images = np.random.default_rng(0).uniform(-1, 1, (2, 224, 224, 3)).astype("float32")
    assert bottom.output_shape == (None, 7, 7, 160) and top.output_shape == base.output_shape
    assert np.allclose(top(bottom(images)).numpy(), base(images).numpy(), atol=1e-5)
    assert base.get_layer("block_16_expand") in top.layers  # shared, not copied
    # A cut at the start of a block with a residual connection inside the top works too.
    bottom, top = models.split_at(base, "block_14_expand")
    assert bottom.output_shape == (None, 7, 7, 160) and "block_15_add" in [layer.name for layer in top.layers]
    assert np.allclose(top(bottom(images)).numpy(), base(images).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="skip connection crosses the cut"):
        models.split_at(base, "block_15_depthwise")  # block_15_add still needs block_14's output
    with pytest.raises(ValueError, match="several inputs"):
        models.split_at(base, "block_15_add")
    with pytest.raises(ValueError, match="has no layer"):
        models.split_at(base, "block_99")


def test_lowest_layer_is_the_one_closest_to_the_input() -> None:
    base = models.build_backbone("mobilenet_v2_0.35", weights=None)
    assert models.lowest_layer(base, ["Conv_1", "block_14_expand", "block_16_expand"]) == "block_14_expand"
    assert models.lowest_layer(base, ["block_16_expand", "Conv_1"]) == "block_16_expand"
    with pytest.raises(ValueError, match=r"has no layer \[' Conv_1'\].*block_N_expand"):
        models.lowest_layer(base, ["block_16_expand", " Conv_1"])
    with pytest.raises(ValueError, match="has no layer named"):
        models.lowest_layer(base, [])


def test_pooled_layer_outputs_average_each_named_layer():
    maps = models.build_backbone("mobilenet_0.25", weights=None, pooling=None)
    multi = models.pooled_layer_outputs(maps, ["conv_pw_1_relu", "conv_pw_13_relu"])
    image = np.random.default_rng(0).uniform(0, 255, (1, 224, 224, 3)).astype("float32")
    early, late = multi(image)
    full = keras.Model(maps.input, maps.get_layer("conv_pw_13_relu").output)(image).numpy()
    np.testing.assert_allclose(late.numpy(), full.mean(axis=(1, 2)), rtol=1e-4, atol=1e-5)
    assert early.shape == (1, 16)
    with pytest.raises(ValueError, match=r"has no layer \['block_99'\]"):
        models.pooled_layer_outputs(maps, ["block_99"])
