"""Every notebook exercise's check refuses a plausible wrong answer, and every check has a test.

The checks written for one exercise are tested in tests/test_exercises*.py. The generic ones
(``check_choice``, ``check_close``, ``check_count``) get their truth from the notebook; the
tests below read each call site from the notebooks and give it the wrong answer that
exercise most likely produces, with the notebook's own tolerance.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from helpers import domain_gap, exercises, models

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
GENERIC = ("check_choice", "check_close", "check_count")


def _public_checks(source: str) -> set[str]:
    """Names of the public ``check_*`` functions defined at the top level of ``source``."""
    return {node.name for node in ast.parse(source).body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("check_")}


def _referenced_names(source: str) -> set[str]:
    """Names a test module uses: attributes (``exercises.check_x``), plain names and imports, not strings."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.ImportFrom):
            names.update(alias.name for alias in node.names)
    return names


def _untested_checks(exercises_source: str, test_sources: list[str]) -> list[str]:
    used = set().union(*(_referenced_names(source) for source in test_sources))
    return sorted(_public_checks(exercises_source) - used)


def test_every_check_is_used_by_a_test():
    tests = [path.read_text() for path in sorted((ROOT / "tests").glob("test_*.py"))]
    missing = _untested_checks((ROOT / "helpers" / "exercises.py").read_text(), tests)
    assert not missing, f"checks no test calls: {missing}; add a test giving each a right and a wrong answer"


def test_the_untested_check_finder_sees_a_new_check_and_ignores_a_mere_mention():
    source = "def check_new(answer):\n    pass\n\ndef check_old(answer):\n    pass\n\ndef _check_private():\n    pass\n"
    assert _untested_checks(source, ["exercises.check_old(1)"]) == ["check_new"]
    assert _untested_checks(source, ["exercises.check_old(1)  # check_new", "'check_new'"]) == ["check_new"]
    assert _untested_checks(source, ["from helpers.exercises import check_new, check_old"]) == []


@dataclass(frozen=True)
class Site:
    """One call of a check in a learner's exercise cell (solution cells call the same checks)."""

    notebook: str  # "03"
    exercise: int
    check: str
    call: ast.Call

    def __str__(self) -> str:
        return f"{self.notebook} ex {self.exercise} {self.check}"


def _sites() -> list[Site]:
    sites = []
    for path in NOTEBOOKS:
        exercise = 0
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] == "markdown":
                numbers = re.findall(r"\*\*Exercise (\d+)\.", source)
                exercise = int(numbers[-1]) if numbers else exercise
                continue
            if "exercises.check_" not in source or "solution" in cell["metadata"].get("tags", []):
                continue
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                        and node.func.attr.startswith("check_"):
                    sites.append(Site(path.name[:2], exercise, node.func.attr, node))
    return sites


SITES = _sites()


def _literal(node: ast.expr) -> object:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def _fixed_choice(site: Site) -> bool:
    return site.check == "check_choice" and None not in (_literal(site.call.args[1]), _literal(site.call.args[2]))


def _site(notebook: str, exercise: int) -> Site:
    found = [site for site in SITES if (site.notebook, site.exercise) == (notebook, exercise)]
    assert len(found) == 1, f"expected one check in chapter {notebook}'s exercise {exercise}, found {found}"
    return found[0]


def _tolerance(site: Site) -> float:
    """The tolerance a notebook's ``check_close`` call uses (its default when none is given)."""
    for keyword in site.call.keywords:
        if keyword.arg == "tolerance":
            return float(ast.literal_eval(keyword.value))
    if len(site.call.args) > 3:
        return float(ast.literal_eval(site.call.args[3]))
    return inspect.signature(exercises.check_close).parameters["tolerance"].default


def test_every_check_a_notebook_calls_exists():
    unknown = {str(site) for site in SITES if not callable(getattr(exercises, site.check, None))}
    assert not unknown and SITES, unknown


# A generic check whose truth the notebook computes: the test below that gives it a wrong answer.
# (A check_choice with a fixed answer and options is covered by test_a_fixed_choice_refuses_every_other_option.)
COMPUTED_TRUTH_TESTS = {
    ("03", 2): "test_importance_weight_refuses_the_probability_and_the_inverted_ratio",
    ("05", 2): "test_first_photo_class_refuses_an_index_or_the_probabilities",
    ("07", 1): "test_conv_macs_refuses_valid_padding_forgotten_channels_and_the_parameter_count",
    ("07", 2): "test_shipped_backbone_refuses_the_fastest_the_best_over_budget_and_the_best_on_test",
    ("08", 1): "test_five_photo_accuracy_refuses_one_draw_and_the_median",
    ("09", 1): "test_recall_exercises_refuse_the_precision_and_another_model",
    ("09", 3): "test_nine_to_three_is_not_a_significant_win",
    ("10", 1): "test_recall_exercises_refuse_the_precision_and_another_model",
    ("11", 1): "test_best_cell_layer_refuses_the_last_layer_and_the_best_flower_layer",
    ("14", 2): "test_int8_disagreements_refuse_the_agreements_and_the_mistakes",
}


def test_each_generic_check_with_a_computed_truth_has_a_wrong_answer_test():
    computed = {(site.notebook, site.exercise) for site in SITES
                if site.check in GENERIC and not _fixed_choice(site)}
    assert computed == set(COMPUTED_TRUTH_TESTS), (
        f"new: {sorted(computed - set(COMPUTED_TRUTH_TESTS))}, gone: {sorted(set(COMPUTED_TRUTH_TESTS) - computed)}; "
        "give each its likely wrong answer in a test here")
    assert all(callable(globals().get(name)) for name in COMPUTED_TRUTH_TESTS.values())


@pytest.mark.parametrize("site", [site for site in SITES if _fixed_choice(site)], ids=str)
def test_a_fixed_choice_refuses_every_other_option(site):
    correct, options = _literal(site.call.args[1]), _literal(site.call.args[2])
    assert correct in options and len(options) >= 2
    assert exercises.check_choice(correct, correct, options, "")
    for wrong in set(options) - {correct}:
        verdict = exercises.check_choice(wrong, correct, options, "look again")
        assert not verdict and "look again" in repr(verdict), (wrong, repr(verdict))


def test_class_count_refuses_another_split_and_the_whole_split():  # 00 ex 1
    counts = {"train": {"roses": 450, "tulips": 560}, "validation": {"roses": 96, "tulips": 120}}
    splits = SimpleNamespace(class_counts=lambda split: counts[split])
    assert exercises.check_class_count(96, splits, "validation", "roses")
    assert not exercises.check_class_count(450, splits, "validation", "roses")  # the training split
    assert not exercises.check_class_count(216, splits, "validation", "roses")  # every validation photo
    assert not exercises.check_class_count(120, splits, "validation", "roses")  # another class


def _convolution_in_place(x, w):
    w[:] = w[::-1].copy()  # flips the caller's kernel: a convolution, which the exercise is not
    return np.correlate(x, w, mode="valid")


def _centred_in_place(x, w):
    x -= x.mean()
    return np.correlate(x, w, mode="valid")


def test_conv1d_check_is_not_fooled_by_a_function_that_changes_its_inputs():  # 01 ex 3
    # Both passed while the check computed its truth after the call, from the arrays the function had changed.
    assert "no kernel flip" in repr(exercises.check_conv1d(_convolution_in_place))
    assert not exercises.check_conv1d(_centred_in_place)


def test_log_softmax_check_is_not_fooled_by_a_function_that_changes_its_input():  # 02 ex 3
    def zeroing(z):
        z[:] = 0.0
        return z - np.log(z.shape[-1])

    def softmax(z):  # probabilities, not their logarithm
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    assert not exercises.check_log_softmax(zeroing)  # passed while the truth was computed after the call
    assert not exercises.check_log_softmax(softmax)


def test_importance_weight_refuses_the_probability_and_the_inverted_ratio():  # 03 ex 2
    site = _site("03", 2)
    truth, tolerance = ast.literal_eval(site.call.args[1]), _tolerance(site)
    assert exercises.check_close((4 / 5) / (1 - 4 / 5), truth, "", tolerance)
    for wrong in (4 / 5, (1 / 5) / (4 / 5)):  # p(target | x) alone; p(source | x) / p(target | x)
        assert not exercises.check_close(wrong, truth, "", tolerance), wrong


def test_unfrozen_count_refuses_batch_normalization_and_a_missing_head():  # 05 ex 1
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.BatchNormalization(name="stem_bn")(keras.layers.Conv2D(4, 3, name="stem")(inputs))
    x = keras.layers.Conv2D(6, 1, name="block_2_expand")(x)
    x = keras.layers.BatchNormalization(name="block_2_expand_BN")(x)
    base = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x), name="tiny_base")
    base.trainable = False
    model = keras.Sequential([base, keras.layers.Dense(3)])
    expand, batch_norm, head = 4 * 6 + 6, 2 * 6, 6 * 3 + 3

    def check(answer):
        return exercises.check_unfrozen_parameter_count(answer, model, model.get_layer(base.name), "block_2_expand")

    assert check(expand + head)
    assert not check(expand + batch_norm + head)  # BatchNormalization's scale and offset counted as trainable
    assert not check(expand + 2 * batch_norm + head)  # its moving statistics too (layer.count_params())
    assert not check(expand)  # the head left out
    assert not check(head)  # nothing unfrozen
    assert not base.get_layer("block_2_expand").trainable  # the check put the flags back


def test_first_photo_class_refuses_an_index_or_the_probabilities():  # 05 ex 2
    class_names = ["dandelion", "daisy", "tulips", "sunflowers", "roses"]
    probabilities = np.array([[0.05, 0.05, 0.1, 0.1, 0.7]])
    truth = class_names[int(probabilities[0].argmax())]
    assert exercises.check_choice(truth, truth, class_names, "")
    for wrong in (4, np.int64(4), "4", probabilities, probabilities[0].max(), "daisy"):
        assert not exercises.check_choice(wrong, truth, class_names, ""), wrong


def test_conv_macs_refuses_valid_padding_forgotten_channels_and_the_parameter_count():  # 07 ex 1
    site = _site("07", 1)
    layer_model = keras.Sequential([keras.Input((112, 112, 16)), keras.layers.Conv2D(32, 3, padding="same")])
    truth, tolerance = models.multiply_adds(layer_model), _tolerance(site)
    assert exercises.check_close(112 * 112 * 3 * 3 * 16 * 32, truth, "", tolerance)
    wrong_answers = {"valid padding": 110 * 110 * 3 * 3 * 16 * 32, "input channels forgotten": 112 * 112 * 3 * 3 * 32,
                     "the parameters": layer_model.count_params(), "per filter": 112 * 112 * 3 * 3 * 16}
    for name, wrong in wrong_answers.items():
        assert not exercises.check_close(wrong, truth, "", tolerance), name


def test_shipped_backbone_refuses_the_fastest_the_best_over_budget_and_the_best_on_test():  # 07 ex 2
    ms = {"mobilenet_v2": 8.0, "efficientnet_b0": 19.0, "resnet50": 24.0, "convnext_tiny": 60.0}
    validation = {"mobilenet_v2": 0.84, "efficientnet_b0": 0.88, "resnet50": 0.86, "convnext_tiny": 0.93}
    test = {"mobilenet_v2": 0.85, "efficientnet_b0": 0.86, "resnet50": 0.89, "convnext_tiny": 0.92}
    options = list(ms) + ["none"]
    truth = max((name for name in ms if ms[name] <= 25), key=validation.get)  # as best_within(25) chooses
    assert truth == "efficientnet_b0" and exercises.check_choice(truth, truth, options, "")
    for wrong in ("mobilenet_v2", "convnext_tiny", "resnet50", "none"):  # fastest, best overall, best on test
        assert not exercises.check_choice(wrong, truth, options, ""), wrong


def test_five_photo_accuracy_refuses_one_draw_and_the_median():  # 08 ex 1
    site = _site("08", 1)
    draws = np.array([163, 177, 166]) / 268  # three draws' accuracies on the same 268 test photos
    truth, tolerance = np.mean(draws), _tolerance(site)
    assert exercises.check_close(sum(draws) / 3, truth, "", tolerance)
    assert 1 / (3 * 268) > 10 * tolerance  # mean - one draw is a multiple of 1 / (3 * 268): zero, or far off
    for wrong in (draws[0], np.median(draws), draws.max()):
        assert not exercises.check_close(wrong, truth, "", tolerance), wrong


def test_recall_exercises_refuse_the_precision_and_another_model():  # 09 ex 1, 10 ex 1
    matrix = np.array([[50, 3, 2, 1, 4], [2, 60, 1, 0, 1], [6, 1, 41, 5, 7], [0, 2, 3, 55, 0], [3, 0, 9, 1, 47]])
    t = 2
    recall = np.diag(matrix) / matrix.sum(axis=1)
    precision = np.diag(matrix) / matrix.sum(axis=0)
    other_model_recall = (matrix[t, t] + 3) / matrix[t].sum()
    for site in (_site("09", 1), _site("10", 1)):
        tolerance = _tolerance(site)
        assert exercises.check_close(matrix[t, t] / matrix[t].sum(), recall[t], "", tolerance)
        for wrong in (precision[t], recall.mean(), recall[t + 1], other_model_recall):
            assert not exercises.check_close(wrong, recall[t], "", tolerance), (str(site), wrong)


def test_nine_to_three_is_not_a_significant_win():  # 09 ex 3
    from scipy import stats

    truth = "yes" if stats.binomtest(9, 12).pvalue < 0.05 else "no"  # as the notebook computes it
    assert truth == "no"
    assert not exercises.check_choice("yes", truth, ["yes", "no"], "")  # 9 > 3 looks like a win
    assert exercises.check_choice("no", truth, ["yes", "no"], "")


def test_best_cell_layer_refuses_the_last_layer_and_the_best_flower_layer():  # 11 ex 1
    layers = ["block_1_project_BN", "block_3_project_BN", "block_6_project_BN", "block_13_project_BN", "out_relu"]
    cells, flowers = np.array([0.61, 0.72, 0.70, 0.66, 0.58]), np.array([0.40, 0.55, 0.71, 0.83, 0.88])
    truth = layers[int(np.argmax(cells))]
    assert exercises.check_choice(truth, truth, layers, "")
    for wrong in (layers[-1], layers[int(np.argmax(flowers))], int(np.argmax(cells))):  # index, not name
        assert not exercises.check_choice(wrong, truth, layers, ""), wrong


def test_dusk_mmd2_refuses_the_photos_left_undarkened(monkeypatch):  # 11 ex 3
    from helpers import features

    class Splits:
        def batches(self, split, batch_size, limit=None):
            import tensorflow as tf

            images = tf.fill((4, 2, 2, 3), 100.0)
            return tf.data.Dataset.from_tensor_slices((images, tf.zeros(4, tf.int64))).batch(batch_size)

    def compute(backbone, preprocess, dataset):  # features that follow the pixels' brightness
        images = np.concatenate([x.numpy() for x, _ in dataset])
        return images.reshape(len(images), -1)[:, :3] / 100 + 0.1 * np.arange(4)[:, None], None

    monkeypatch.setattr(models, "build_backbone", lambda name: None)
    monkeypatch.setattr(features, "compute_features", compute)
    reference = 1 + 0.1 * np.random.default_rng(0).normal(size=(5, 3))
    shift = np.zeros((4, 3)) + 0.1 * np.arange(4)[:, None]
    dusk, undarkened = domain_gap.mmd2(reference, 0.35 + shift, 1.0), domain_gap.mmd2(reference, 1.0 + shift, 1.0)
    assert exercises.check_dusk_mmd2(dusk, Splits(), reference, 1.0, photos=4, brightness=0.35)
    assert not exercises.check_dusk_mmd2(undarkened, Splits(), reference, 1.0, photos=4, brightness=0.35)


def test_pair_similarity_refuses_the_diagonal_even_when_voices_are_alike():  # 12 ex 4
    rng = np.random.default_rng(0)
    speakers = np.repeat(np.arange(5), 500)  # as spoken_digit: five speakers, 500 recordings each
    centres = np.abs(rng.normal(size=(5, 16)))
    embeddings = np.maximum(centres[speakers] + 0.1 * rng.normal(size=(2500, 16)), 0)
    embeddings = (embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)).astype(np.float32)
    similarity = embeddings.astype(np.float64) @ embeddings.T.astype(np.float64)
    same = speakers[:, None] == speakers[None, :]
    truth = similarity[same & ~np.eye(2500, dtype=bool)].mean(), similarity[~same].mean()
    assert truth[0] > 0.95  # alike voices: keeping the diagonal moves the mean by less than 1e-4
    diagonal_kept = similarity[same].mean()
    assert np.isclose(diagonal_kept, truth[0], atol=1e-4)  # so the former tolerance passed it
    assert not exercises.check_pair_similarity(diagonal_kept, truth[1], embeddings, speakers)
    in_float32 = embeddings @ embeddings.T  # a learner's float32 arithmetic passes
    assert exercises.check_pair_similarity(in_float32[same & ~np.eye(2500, dtype=bool)].mean(),
                                           in_float32[~same].mean(), embeddings, speakers)
    assert not exercises.check_pair_similarity(truth[1], truth[0], embeddings, speakers)  # swapped
    assert not exercises.check_pair_similarity(similarity[same & ~np.eye(2500, dtype=bool)], truth[1],
                                               embeddings, speakers)  # the similarities, not their mean
    assert not exercises.check_pair_similarity("high", truth[1], embeddings, speakers)


def test_int8_disagreements_refuse_the_agreements_and_the_mistakes():  # 14 ex 2
    rng = np.random.default_rng(0)
    keras_probabilities = rng.dirichlet(np.ones(5), size=40)
    int8_probabilities = keras_probabilities + rng.normal(scale=0.08, size=keras_probabilities.shape)
    labels = rng.integers(0, 5, size=40)
    changed = int(np.sum(int8_probabilities.argmax(1) != keras_probabilities.argmax(1)))
    assert 0 < changed < 20 and exercises.check_count(changed, changed, "")
    wrong_answers = {"agreements": 40 - changed, "a share": changed / 40,
                     "mistakes against the labels": np.sum(int8_probabilities.argmax(1) != labels)}
    for name, wrong in wrong_answers.items():
        assert not exercises.check_count(wrong, changed, ""), name
