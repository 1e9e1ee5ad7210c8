"""Pretrained backbones from ``keras.applications``, each with its own preprocessing.

Every backbone expects its inputs scaled its own way (MobileNet: [-1, 1]; ResNet and
VGG: BGR minus the ImageNet mean; EfficientNet and ConvNeXt: raw [0, 255], scaled
inside the model). Feeding one backbone another's scaling silently costs accuracy, so
the registry keeps each constructor next to its ``preprocess_input``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import keras
import numpy as np

from helpers import config
from helpers.errors import OFFLINE_HINT, ResourceNotAvailableError

__all__ = ["BACKBONES", "BackboneSpec", "ResourceNotAvailableError", "backbone_spec",
           "build_backbone", "load_application", "preprocess_for"]

apps = keras.applications


@dataclass(frozen=True)
class BackboneSpec:
    """How to build one backbone.

    Attributes:
        constructor: The ``keras.applications`` function.
        preprocess: Its matching ``preprocess_input``.
        options: Extra constructor arguments (e.g. ``{"alpha": 0.35}``).
        imagenet_top1: ImageNet validation top-1 accuracy (%) as published at 224 px.
        top1_source: Where that figure is published.
    """

    constructor: Callable[..., keras.Model]
    preprocess: Callable[[Any], Any]
    options: dict[str, Any] = field(default_factory=dict)
    imagenet_top1: float = float("nan")
    top1_source: str = ""


_KERAS_TABLE = "keras.io/api/applications (table of Keras Applications)"
_SLIM_V1 = "TF-slim MobileNet_v1 table, tensorflow/models research/slim/nets/mobilenet_v1.md"
_SLIM_V2 = "TF-slim MobileNetV2 table, tensorflow/models research/slim/nets/mobilenet/README.md"


BACKBONES: dict[str, BackboneSpec] = {
    "mobilenet_v2": BackboneSpec(
        apps.MobileNetV2, apps.mobilenet_v2.preprocess_input, {}, 71.3, _KERAS_TABLE
    ),
    "mobilenet_v2_0.35": BackboneSpec(
        apps.MobileNetV2, apps.mobilenet_v2.preprocess_input, {"alpha": 0.35}, 60.3, _SLIM_V2
    ),
    "mobilenet_0.25": BackboneSpec(
        apps.MobileNet, apps.mobilenet.preprocess_input, {"alpha": 0.25}, 49.8, _SLIM_V1
    ),
    "efficientnet_b0": BackboneSpec(
        apps.EfficientNetB0, apps.efficientnet.preprocess_input, {}, 77.1, _KERAS_TABLE
    ),
    "resnet50": BackboneSpec(apps.ResNet50, apps.resnet50.preprocess_input, {}, 74.9, _KERAS_TABLE),
    "vgg16": BackboneSpec(apps.VGG16, apps.vgg16.preprocess_input, {}, 71.3, _KERAS_TABLE),
    "convnext_tiny": BackboneSpec(
        apps.ConvNeXtTiny, apps.convnext.preprocess_input, {}, 81.3, _KERAS_TABLE
    ),
}
"""Backbones the course knows, by name. ``mobilenet_v2`` is the default."""


def backbone_spec(name: str) -> BackboneSpec:
    """Return the registry entry for ``name``.

    Raises:
        ValueError: For an unknown name; the message lists the valid ones.
    """
    try:
        return BACKBONES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown backbone {name!r}; choose one of {sorted(BACKBONES)}."
        ) from None


def preprocess_for(name: str) -> Callable[[Any], Any]:
    """Return the ``preprocess_input`` that matches backbone ``name``."""
    return backbone_spec(name).preprocess


def load_application(
    constructor: Callable[..., keras.Model], **kwargs: Any
) -> keras.Model:
    """Call a ``keras.applications`` constructor, explaining a failed weight download.

    Args:
        constructor: e.g. ``keras.applications.MobileNet``.
        **kwargs: Passed on unchanged (``weights``, ``include_top``, ``alpha``...).

    Raises:
        ResourceNotAvailableError: The weights are not cached in ``KERAS_HOME`` and
            cannot be downloaded; the message names the file.
    """
    try:
        return constructor(**kwargs)
    except Exception as error:  # Keras raises a bare Exception on a failed download
        match = re.search(r"URL fetch failure on (\S+?):? ", str(error))
        if not match:
            raise
        file_name = match.group(1).rsplit("/", 1)[-1]
        raise ResourceNotAvailableError(
            f"The ImageNet weights of {constructor.__name__} ({file_name}) are not in "
            f"KERAS_HOME={config.keras_home()}/models and could not be downloaded. "
            f"{OFFLINE_HINT}"
        ) from None


def build_backbone(
    name: str = "mobilenet_v2",
    weights: str | None = "imagenet",
    image_size: int = config.IMAGE_SIZE,
    pooling: str | None = "avg",
) -> keras.Model:
    """Build a headless backbone (``include_top=False``) by registry name.

    Args:
        name: A key of :data:`BACKBONES`.
        weights: ``"imagenet"`` for pretrained weights, ``None`` for random ones.
        image_size: Input side length; the bundled weights exist for 224.
        pooling: ``"avg"`` gives one feature vector per image, ``None`` feature maps.

    Raises:
        ValueError: Unknown name, bad ``weights`` or a non-positive size.
        ResourceNotAvailableError: Pretrained weights cannot be had (see message).
    """
    spec = backbone_spec(name)
    if weights not in ("imagenet", None):
        raise ValueError(f"weights must be 'imagenet' or None, got {weights!r}.")
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 32:
        raise ValueError(
            f"image_size must be an integer of at least 32 pixels, got {image_size!r}; "
            f"the course uses {config.IMAGE_SIZE}."
        )
    return load_application(
        spec.constructor,
        include_top=False,
        weights=weights,
        input_shape=(image_size, image_size, 3),
        pooling=pooling,
        **spec.options,
    )


def unfreeze_top_layers(base: keras.Model, first_trainable: str) -> int:
    """Make ``base`` trainable from layer ``first_trainable`` on, BatchNormalization excepted.

    Layers before ``first_trainable`` stay frozen. BatchNormalization layers stay frozen
    everywhere: with few target images, updating their statistics or scales destroys
    what ImageNet taught them. Call the base with ``training=False`` as well, so they also
    stay in inference mode. Recompile the model afterwards: ``trainable`` is read when
    the model is compiled.

    Args:
        base: A ``keras.applications`` backbone.
        first_trainable: Name of the first layer to train, e.g. ``"block_16_expand"``.

    Returns:
        The number of layers that are now trainable.

    Raises:
        ValueError: If ``base`` has no layer of that name (the message lists block starts).
    """
    names = [layer.name for layer in base.layers]
    if first_trainable not in names:
        starts = [n for n in names if n.endswith("_expand") or n.endswith("_conv1_conv")][:6]
        raise ValueError(
            f"{base.name} has no layer {first_trainable!r}; block boundaries look like "
            f"{starts + ['...']}. List them with [layer.name for layer in base.layers]."
        )
    base.trainable = True
    start = names.index(first_trainable)
    trainable = 0
    for index, layer in enumerate(base.layers):
        layer.trainable = index >= start and not isinstance(layer, keras.layers.BatchNormalization)
        trainable += int(layer.trainable and bool(layer.weights))
    return trainable


def batchnorm_moving_statistics(model: keras.Model) -> list[Any]:
    """Return copies of every BatchNormalization layer's moving mean and variance."""
    statistics = []
    for layer in _all_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            statistics += [layer.moving_mean.numpy().copy(), layer.moving_variance.numpy().copy()]
    return statistics


def set_batchnorm_momentum(model: keras.Model, momentum: float) -> int:
    """Give every BatchNormalization layer of ``model`` (nested ones too) this moving-average momentum.

    Keras' moving statistics follow the batches' as ``moving = momentum * moving + (1 - momentum) *
    batch``. MobileNetV2's 0.999 needs thousands of steps to forget its starting values: a network
    trained from scratch for a few hundred steps would be evaluated with statistics that describe
    almost nothing it saw. Set it before ``compile``. Returns the number of layers changed.
    """
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}.")
    changed = 0
    for layer in _all_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = float(momentum)
            changed += 1
    return changed


def _all_layers(model: keras.Model) -> list[keras.layers.Layer]:
    layers = []
    for layer in model.layers:
        layers.append(layer)
        if isinstance(layer, keras.Model):
            layers += _all_layers(layer)
    return layers


def train_head(
    train: tuple[Any, Any],
    validation: tuple[Any, Any] | None,
    num_classes: int,
    epochs: int = 20,
    hidden_units: int = 0,
    dropout: float = 0.2,
    learning_rate: float = 1e-3,
    batch_size: int = 32,
) -> tuple[keras.Model, keras.callbacks.History]:
    """Train a classifier head on cached features: the recipe of chapter 04.

    ``Dropout -> [Dense(hidden_units, relu)] -> Dense(num_classes)`` with logits, Adam and
    sparse categorical cross-entropy (``from_logits=True``), keeping the weights of the
    epoch with the best validation accuracy.

    Args:
        train: ``(features, labels)`` arrays.
        validation: ``(features, labels)`` arrays; ``None`` trains exactly ``epochs`` epochs and keeps
            the last (a refit on all labelled data, once the epochs were chosen on validation).
        num_classes: Number of outputs.
        epochs: Passes over the training features.
        hidden_units: 0 for a linear head, else the width of one hidden layer.
        dropout: Dropout rate on the features.
        learning_rate: Adam's learning rate.
        batch_size: Examples per step.
    """
    layers = [keras.Input(train[0].shape[1:]), keras.layers.Dropout(dropout)]
    if hidden_units:
        layers.append(keras.layers.Dense(hidden_units, activation="relu"))
    head = keras.Sequential(layers + [keras.layers.Dense(num_classes)], name="head")
    compile_classifier(head, learning_rate)  # ten steps per call: same result, less Python per step
    best = keras.callbacks.EarlyStopping(
        monitor="val_accuracy", patience=epochs, restore_best_weights=True
    )
    history = head.fit(
        *train, validation_data=validation, epochs=epochs, batch_size=batch_size,
        callbacks=[best] if validation is not None else [], verbose=0,
    )
    return head, history


def compile_classifier(
    model: keras.Model,
    learning_rate: float = 1e-3,
    optimizer: keras.optimizers.Optimizer | None = None,
    steps_per_execution: int = 10,
) -> keras.Model:
    """Compile a classifier that outputs logits; return it.

    Adam at ``learning_rate`` (or ``optimizer``), sparse categorical cross-entropy with
    ``from_logits=True`` (chapter 02) and accuracy. ``steps_per_execution`` runs that many
    training steps per call into TensorFlow: on small models it removes most of the
    Python overhead of every step.
    """
    model.compile(
        optimizer=optimizer or keras.optimizers.Adam(learning_rate=learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


def small_cnn(
    input_side: int,
    num_classes: int,
    extra_layers: Sequence[keras.layers.Layer] = (),
    dropout: float = 0.0,
    filters: Sequence[int] = (16, 32, 64, 128),
) -> keras.Sequential:
    """A small CNN for training from scratch: the baseline that transfer learning must beat.

    ``[extra_layers] -> Rescaling(1/255) -> (Conv2D 3x3 relu -> MaxPooling) per entry of
    filters -> GlobalAveragePooling -> Dropout -> Dense(num_classes)`` with logits. Inputs
    are ``(input_side, input_side, 3)`` pixels in 0-255. Put augmentation layers in
    ``extra_layers``: they act only while training.
    """
    layers: list[Any] = [keras.Input((input_side, input_side, 3)), *extra_layers, keras.layers.Rescaling(1 / 255)]
    for width in filters:
        layers += [keras.layers.Conv2D(width, 3, padding="same", activation="relu"), keras.layers.MaxPooling2D()]
    layers += [keras.layers.GlobalAveragePooling2D(), keras.layers.Dropout(dropout), keras.layers.Dense(num_classes)]
    return keras.Sequential(layers, name="small_cnn")


def multiply_adds(model: keras.Model) -> int:
    """Count the multiply-accumulate operations (MACs) of one image through ``model``.

    Counts the layers that dominate the cost of CNNs: ``Conv2D`` (groups included),
    ``DepthwiseConv2D`` and ``Dense`` (applied at every position of a feature map, as
    ConvNeXt does). Batch normalization, activations, pooling and additions are left out,
    as in published MAC counts.

    Raises:
        ValueError: If a counted layer has no known output shape (build the model first).
    """
    total = 0
    for layer in _all_layers(model):
        if not isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)):
            continue
        try:
            out_shape = layer.output.shape
        except (AttributeError, ValueError):
            raise ValueError(f"Layer {layer.name} has no known shape; build the model on an input first.") from None
        positions = int(np.prod(out_shape[1:-1])) if len(out_shape) > 2 else 1
        # Kernel (kh, kw, in/groups, out), depthwise (kh, kw, in, multiplier) or dense (in, out):
        # each output position costs one multiply-accumulate per kernel weight.
        total += positions * int(np.prod(layer.kernel.shape))
    return total


def pooled_layer_outputs(maps: keras.Model, layers: Sequence[str]) -> keras.Model:
    """A model mapping an image to the global-average-pooled output of each named layer.

    One pass through ``maps`` (a backbone built with ``pooling=None``) gives the features
    of every layer at once: used to ask which layers transfer.

    Raises:
        ValueError: If a layer name is unknown (the message says how to list them).
    """
    names = {layer.name for layer in maps.layers}
    unknown = [name for name in layers if name not in names]
    if unknown:
        raise ValueError(f"{maps.name} has no layer {unknown}; list them with [layer.name for layer in model.layers].")
    pooled = [keras.layers.GlobalAveragePooling2D()(maps.get_layer(name).output) for name in layers]
    return keras.Model(maps.input, pooled, name=f"{maps.name}_pooled_layers")


def lowest_layer(base: keras.Model, names: Sequence[str]) -> str:
    """Return the one of ``names`` closest to ``base``'s input.

    Several fine-tuning runs that start at different layers can share one cache of lower
    outputs, computed below the lowest of them (chapter 05): a run that starts higher simply
    leaves the layers in between frozen.

    Raises:
        ValueError: No names, or a name that is not a layer of ``base`` (the message says how to list them).
    """
    order = {layer.name: index for index, layer in enumerate(base.layers)}
    unknown = [name for name in names if name not in order]
    if unknown or not names:
        raise ValueError(f"{base.name} has no layer {unknown or 'named'}; list them with [layer.name for layer in "
                         "model.layers] (MobileNetV2 can be cut at block_N_expand or Conv_1).")
    return min(names, key=order.__getitem__)


def split_at(base: keras.Model, first_top_layer: str) -> tuple[keras.Model, keras.Model]:
    """Cut ``base`` into ``bottom`` and ``top`` so that ``top(bottom(x)) == base(x)``.

    Fine-tuning only the top of a network changes nothing below it, so the bottom's
    output can be computed once and cached, like the features of chapter 04; training
    the top then costs a fraction of a pass through the whole network. The top reuses
    ``base``'s layers (same weights, same ``trainable`` flags).

    Args:
        base: A functional backbone, e.g. from :func:`build_backbone`.
        first_top_layer: The first layer of the top. Exactly one tensor may cross the cut:
            that layer's input. Skip connections *inside* the top are fine (MobileNetV2 can be
            cut at the start of any block, ``block_N_expand``), but not one that jumps over the
            cut from below (inside a block, e.g. ``block_15_depthwise``).

    Raises:
        ValueError: Unknown layer, a layer with several inputs, or a skip connection from below
            the cut.
    """
    names = [layer.name for layer in base.layers]
    if first_top_layer not in names:
        raise ValueError(f"{base.name} has no layer {first_top_layer!r}.")
    cut = base.get_layer(first_top_layer).input
    if isinstance(cut, (list, tuple)):
        raise ValueError(f"{first_top_layer!r} takes several inputs; cut at a layer with one input.")
    try:
        top = keras.Model(cut, base.output, name=f"{base.name}_top")
    except ValueError:  # the output also needs a tensor from below the cut
        raise ValueError(
            f"A skip connection crosses the cut at {first_top_layer!r}: a layer above it also reads a "
            "tensor from below. Cut at the start of a block (in MobileNetV2, block_N_expand or Conv_1)."
        ) from None
    return keras.Model(base.input, cut, name=f"{base.name}_bottom"), top
