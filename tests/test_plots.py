import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers import plots  # noqa: E402


def _titles(figure):
    return [axis.get_title() for axis in figure.axes if axis.get_title()]


def test_image_grid_draws_each_image_with_its_title():
    images = np.random.default_rng(0).uniform(0, 255, (5, 8, 8, 3)).astype("float32")
    figure = plots.image_grid(images, [f"n{i}" for i in range(5)], columns=2)
    assert len(figure.axes) == 6 and _titles(figure) == ["n0", "n1", "n2", "n3", "n4"]
    assert figure.axes[0].get_images()[0].get_array().dtype == np.uint8
    plt.close(figure)


def test_image_grid_shows_single_channel_images_in_grey():
    figure = plots.image_grid([np.zeros((4, 4, 1))])
    assert figure.axes[0].get_images()[0].get_cmap().name == "gray"
    plt.close(figure)


@pytest.mark.parametrize(("images", "titles", "columns", "message"), [
    ([], None, 4, "at least one image"),
    ([np.zeros((2, 2))], ["a", "b"], 4, "1 images but 2 titles"),
    ([np.zeros((2, 2))], None, 0, "columns must be at least 1"),
])
def test_image_grid_bad_input(images, titles, columns, message):
    with pytest.raises(ValueError, match=message):
        plots.image_grid(images, titles, columns=columns)


def test_show_examples_labels_images_with_class_names(flowers):
    figure = plots.show_examples(flowers.batches("test", batch_size=3), flowers.class_names, count=4)
    expected = [flowers.class_names[y] for y in flowers.labels("test")[:4]]
    assert _titles(figure) == expected
    plt.close(figure)
    with pytest.raises(ValueError, match="count must be at least 1"):
        plots.show_examples(flowers.batches("test"), flowers.class_names, count=0)


def test_plot_history_draws_training_and_validation():
    history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.5, 0.8]}
    figure = plots.plot_history(history)
    loss_axis, accuracy_axis = figure.axes
    assert [line.get_label() for line in loss_axis.lines] == ["training", "validation"]
    assert [line.get_label() for line in accuracy_axis.lines] == ["training"]
    plt.close(figure)
    with pytest.raises(ValueError, match=r"History has no \['auc'\]"):
        plots.plot_history(history, metrics=("auc",))



def test_data_efficiency_plot_has_a_panel_per_domain_and_error_bars():
    curve = {"scratch": {5: [0.3, 0.4], 20: [0.5]}, "transfer": {5: [0.6, 0.7], 20: [0.8]}}
    figure = plots.plot_data_efficiency({"flowers": curve, "cells": curve}, chance=0.2)
    left, right = figure.axes
    assert [left.get_title(), right.get_title()] == ["flowers", "cells"]
    assert left.get_xscale() == "log"
    bars = [c for c in left.containers if hasattr(c, "lines")]
    assert len(bars) == 2
    np.testing.assert_allclose(np.asarray(bars[0].lines[0].get_ydata(), dtype=float), [0.35, 0.5])
    assert any(line.get_label() == "chance" for line in left.lines)
    figure.canvas.draw()
    labels = [t.get_text() for t in left.get_xticklabels() + left.get_xticklabels(minor=True) if t.get_text()]
    assert labels == ["5", "20"], labels  # the sizes only: no minor labels such as 6×10⁰ between them
    plt.close(figure)


def test_confusion_matrix_draws_counts_and_names():
    figure = plots.confusion_matrix(np.array([[3, 1], [0, 4]]), ["jackson", "theo"], title="t", what="speaker")
    axis = figure.axes[0]
    assert [t.get_text() for t in axis.texts] == ["3", "1", "0", "4"]
    assert [t.get_text() for t in axis.get_xticklabels()] == ["jackson", "theo"] and axis.get_ylabel() == "true speaker"
    with pytest.raises(ValueError, match="square matrix"):
        plots.confusion_matrix(np.ones((2, 3)), ["a", "b"])
