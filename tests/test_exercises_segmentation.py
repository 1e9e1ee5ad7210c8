"""Chapter 13's exercise checks: the right answers pass, each wrong answer gets its own hint."""

import keras
import numpy as np
import pytest

from helpers import exercises, segmentation


def test_mean_iou_conversion_checks_both_values_the_choice_and_the_always_question():
    dice = np.array([0.2, 0.9, 0.5, 0.7])
    iou = dice / (2 - dice)
    mean_iou, converted = iou.mean(), dice.mean() / (2 - dice.mean())
    assert mean_iou > converted
    assert exercises.check_mean_iou_conversion(mean_iou, converted, "mean IoU", False, dice, iou)
    wrong_answers = {
        "each image's IoU": (converted, converted, "mean IoU", False),  # the converted value as the mean IoU
        "convert the mean": (mean_iou, mean_iou, "mean IoU", False),  # converted image by image
        "compare the two": (mean_iou, converted, "converted mean Dice", False),
        "Jensen": (mean_iou, converted, "mean IoU", True),  # "not always"
        "True or False": (mean_iou, converted, "mean IoU", "no"),
    }
    for hint, answers in wrong_answers.items():
        verdict = exercises.check_mean_iou_conversion(*answers, dice, iou)
        assert not verdict and hint in repr(verdict), (hint, repr(verdict))
    assert "Not attempted" in repr(exercises.check_mean_iou_conversion(None, None, None, None, dice, iou))
    assert "ever_reversed still None" in repr(exercises.check_mean_iou_conversion(mean_iou, converted, "mean IoU",
                                                                                  None, dice, iou))
    assert not exercises.check_mean_iou_conversion("0.8", converted, "mean IoU", False, dice, iou)  # no exception


def test_pixel_accuracy_gaps_checks_the_accuracy_both_gaps_and_the_choice():
    truth = np.zeros((2, 4, 4), bool)
    truth[:, :2, :2] = True  # a quarter of each image
    predicted = np.zeros_like(truth)
    predicted[:, :2, :1] = True  # half the polyp, nothing else
    # pixel accuracy 14/16 against 12/16 for "no polyp anywhere"; Dice 2*2/(4+2) = 2/3 against 0
    right = (14 / 16, 2 / 16, 2 / 3, "Dice gap")
    assert exercises.check_pixel_accuracy_gaps(*right, truth, predicted)
    wrong_answers = {
        "average them": (12 / 16, 2 / 16, 2 / 3, "Dice gap"),
        "minus that of np.zeros_like": (14 / 16, 14 / 16, 2 / 3, "Dice gap"),
        "mean Dice minus": (14 / 16, 2 / 16, 2 / 16, "Dice gap"),
        "which score says": (14 / 16, 2 / 16, 2 / 3, "pixel accuracy gap"),
    }
    for hint, answers in wrong_answers.items():
        verdict = exercises.check_pixel_accuracy_gaps(*answers, truth, predicted)
        assert not verdict and hint in repr(verdict), (hint, repr(verdict))
    assert "Not attempted" in repr(exercises.check_pixel_accuracy_gaps(None, None, None, None, truth, predicted))
    assert "still None" in repr(exercises.check_pixel_accuracy_gaps(14 / 16, None, None, None, truth, predicted))


@pytest.fixture()
def flip_setup():
    """A two-map 'encoder' (the pixels, and them pooled) and a one-layer 'decoder' not mirror-symmetric."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3))
    encoder = keras.Model(inputs, [inputs, keras.layers.AveragePooling2D(2)(inputs)])
    full, pooled = keras.Input((8, 8, 3)), keras.Input((4, 4, 3))
    both = keras.layers.Concatenate()([full, keras.layers.UpSampling2D(2)(pooled)])
    decoder = keras.Model([full, pooled], keras.layers.Conv2D(1, 3, padding="same")(both))
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (6, 8, 8, 3)).astype(np.uint8)
    validation = segmentation.SegmentationSet(images, rng.random((6, 8, 8)) < 0.4, tuple("abcdef"))

    def preprocess(x):
        return x / 127.5 - 1

    def logits(pixels):  # float32 all the way, as a learner calling the networks directly would get
        return np.asarray(decoder(encoder(preprocess(pixels.astype(np.float32)))))[..., 0]

    plain, mirrored = logits(images), logits(images[:, :, ::-1])
    return encoder, decoder, preprocess, validation, plain, mirrored


def test_flip_dice_compares_the_averaged_logits_pixel_by_pixel(flip_setup):
    encoder, decoder, preprocess, validation, plain, mirrored = flip_setup
    threshold = 0.4
    cut = np.log(threshold / (1 - threshold))

    def dice(logits):
        return segmentation.dice_scores(validation.masks, logits > cut).mean()

    def check(logits, mean_dice):
        return exercises.check_flip_dice(logits, mean_dice, encoder, decoder, preprocess, validation, threshold)

    right = (plain + mirrored[:, :, ::-1]) / 2
    assert check(right, dice(right))
    not_flipped_back = (plain + mirrored) / 2
    wrong_answers = {
        "without flipping": (plain, dice(plain)),
        "flip the mirror images' logits back": (not_flipped_back, dice(not_flipped_back)),
        "encode and decode them": (right + 1, dice(right)),
        "threshold your averaged logits": (right, dice(right) + 0.01),
        "shape": (right[:3], dice(right)),
    }
    for hint, answers in wrong_answers.items():
        verdict = check(*answers)
        assert not verdict and hint in repr(verdict), (hint, repr(verdict))
    assert "Not attempted" in repr(check(None, None))
    assert "give both" in repr(check(right, None))
