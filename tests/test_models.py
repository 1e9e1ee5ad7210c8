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
