import numpy as np
import pytest

from helpers import crops


def test_box_corners_become_pixel_rows_and_columns():
    assert crops.box_to_pixels((0.25, 0.5, 0.75, 1.0), height=480, width=640) == (120, 320, 360, 640)
    # a 10 % margin grows each side by a tenth of the box, clipped at the image border
    assert crops.box_to_pixels((0.25, 0.5, 0.75, 1.0), 480, 640, margin=0.1) == (96, 288, 384, 640)
    assert crops.box_to_pixels((0.0, 0.0, 0.1, 0.1), 100, 100, margin=0.5) == (0, 0, 15, 15)


@pytest.mark.parametrize("box", [(0.5, 0.2, 0.5, 0.4), (0.6, 0.2, 0.5, 0.4), (0.1, 0.3, 0.2, 0.3)])
def test_empty_or_swapped_boxes_are_refused_with_what_to_do(box):
    with pytest.raises(ValueError, match=r"Empty box .* needs ymax > ymin and xmax > xmin. Drop such boxes"):
        crops.box_to_pixels(box, 480, 640)


def test_crop_cuts_the_right_pixels():
    image = np.zeros((40, 60, 3), np.uint8)
    image[10:20, 30:45] = 200  # a bright rectangle
    [crop] = crops.crop_boxes(image, np.array([[10 / 40, 30 / 60, 20 / 40, 45 / 60]]), size=8)
    assert crop.dtype == np.uint8 and crop.shape == (8, 8, 3)
    assert np.all(crop == 200)  # exactly the rectangle, nothing of the dark surround
    with pytest.raises(ValueError, match=r"Expected one \(height, width, 3\) image"):
        crops.crop_boxes(image[..., 0], np.zeros((0, 4)), 8)


def test_cap_trims_abundant_classes_and_keeps_rare_ones():
    labels = np.array([0] * 50 + [1] * 3 + [2] * 20)
    kept = crops.cap_per_class(labels, 10, seed=1)
    assert np.bincount(labels[kept]).tolist() == [10, 3, 10]
    assert np.all(np.diff(kept) > 0)
    np.testing.assert_array_equal(kept, crops.cap_per_class(labels, 10, seed=1))
    assert not np.array_equal(kept, crops.cap_per_class(labels, 10, seed=2))


@pytest.fixture(scope="module")
def bccd_test():
    return crops.load_box_crops("bccd", "test", size=64, max_per_class=40)


def test_bccd_crops_are_labelled_cells_from_the_official_split(bccd_test):
    assert bccd_test.class_names == ["RBC", "WBC", "Platelets"]
    assert bccd_test.images.shape[1:] == (64, 64, 3) and bccd_test.images.dtype == np.uint8
    counts = bccd_test.class_counts()
    assert counts["RBC"] == 40 and 0 < counts["Platelets"] <= 40 and 0 < counts["WBC"] <= 40
    assert len(bccd_test.sources) == len(bccd_test.labels) == len(bccd_test.images)
    assert bccd_test.images.reshape(len(bccd_test.images), -1).std(axis=1).min() > 1  # real pixels, no blank crop
    train = crops.load_box_crops("bccd", "train", size=16, max_per_class=5)
    assert not set(train.sources) & set(bccd_test.sources)  # no microscope image in two splits


def test_white_cells_are_the_largest_crops_before_resizing(bccd_test):
    # WBC boxes are much bigger than platelets: the crop of a WBC is mostly purple-stained nucleus
    purple = bccd_test.images[..., 2].astype(float) - bccd_test.images[..., 1]
    by_class = {name: purple[bccd_test.labels == k].mean() for k, name in enumerate(bccd_test.class_names)}
    assert by_class["WBC"] > by_class["RBC"]


def test_box_sizes_are_the_cells_pixel_sizes_before_stretching(bccd_test):
    assert bccd_test.box_sizes.shape == (len(bccd_test.labels), 2) and bccd_test.box_sizes.min() >= 1
    assert bccd_test.box_sizes[:, 0].max() <= 480 and bccd_test.box_sizes[:, 1].max() <= 640  # BCCD is 640x480
    area = bccd_test.box_sizes.prod(axis=1)
    median = {name: np.median(area[bccd_test.labels == k]) for k, name in enumerate(bccd_test.class_names)}
    assert median["Platelets"] < median["RBC"] < median["WBC"]  # the size a square crop hides


def test_unknown_split_names_the_real_ones():
    with pytest.raises(ValueError, match=r"bccd has no split 'valid'; choose one of \['test', 'train', 'validation'\]"):
        crops.load_box_crops("bccd", "valid")
