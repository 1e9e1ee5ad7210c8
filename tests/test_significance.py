"""significance: checked against the formulas written out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from helpers import config, significance


def test_wilson_interval_matches_the_formula():
    correct, total, z = 90, 100, 1.959963984540054
    p = correct / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z / (1 + z * z / total) * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    low, high = significance.accuracy_interval(correct, total)
    assert low == pytest.approx(centre - half, abs=1e-9)
    assert high == pytest.approx(centre + half, abs=1e-9)


def test_a_270_photo_test_set_measures_accuracy_to_about_four_points():
    low, high = significance.accuracy_interval(243, 270)  # 0.900
    assert 0.03 < (high - low) / 2 < 0.045


@pytest.mark.parametrize("correct, total", [(-1, 10), (11, 10), (0, 0)])
def test_accuracy_interval_rejects_impossible_counts(correct, total):
    with pytest.raises(ValueError, match="correct <= total"):
        significance.accuracy_interval(correct, total)


def _pair(only_first: int, only_second: int, both: int, neither: int):
    """Labels and two prediction vectors with the given agreement table."""
    n = only_first + only_second + both + neither
    labels = np.zeros(n, dtype=int)
    first, second = np.ones(n, dtype=int), np.ones(n, dtype=int)  # wrong by default
    first[:only_first] = 0
    second[only_first:only_first + only_second] = 0
    first[only_first + only_second:only_first + only_second + both] = 0
    second[only_first + only_second:only_first + only_second + both] = 0
    return labels, first, second


def test_mcnemar_is_the_exact_binomial_test_on_disagreements():
    labels, first, second = _pair(only_first=10, only_second=2, both=200, neither=30)
    result = significance.compare(labels, first, second, names=("A", "B"))
    # Two-sided exact test: 2 * P(X >= 10) for X ~ Binomial(12, 1/2).
    expected = 2 * sum(math.comb(12, k) for k in range(10, 13)) / 2**12
    assert result.p_value == pytest.approx(expected)
    assert (result.only_first, result.only_second, result.total) == (10, 2, 242)
    assert result.difference == pytest.approx(8 / 242)
    assert result.significant and result.verdict() == "A beats B"


def test_a_small_difference_on_270_examples_is_not_significant():
    labels, first, second = _pair(only_first=6, only_second=5, both=236, neither=23)
    result = significance.compare(labels, first, second, names=("fine-tuning", "feature extraction"))
    assert not result.significant
    assert result.verdict() == "no significant difference between fine-tuning and feature extraction"
    low, high = result.difference_interval
    assert low < 0 < high
    # The paired interval is close to the normal approximation of the paired difference.
    n, b, c = 270, 6, 5
    se = math.sqrt((b + c) - (b - c) ** 2 / n) / n
    assert (high - low) / 2 == pytest.approx(1.96 * se, rel=0.25)
    assert "McNemar p = " in result.summary()


def test_compare_takes_probabilities_and_names_the_winner_second():
    labels = np.array([0, 1, 1, 0] * 20)
    good = np.eye(2)[labels]
    bad = np.eye(2)[1 - labels]
    result = significance.compare(labels, bad, good, names=("bad", "good"))
    assert result.accuracies == (0.0, 1.0)
    assert result.verdict() == "good beats bad"


def test_identical_predictions_give_no_difference():
    labels, first, _ = _pair(5, 0, 50, 5)
    result = significance.compare(labels, first, first)
    assert result.p_value == 1.0 and result.difference_interval == (0.0, 0.0) and not result.significant


def test_compare_says_what_to_do_when_lengths_differ():
    with pytest.raises(ValueError, match="same test examples"):
        significance.compare(np.zeros(5), np.zeros(5), np.zeros(4), names=("A", "B"))


def test_a_single_sigmoid_column_is_refused_not_argmaxed_to_class_zero():
    labels = np.array([0, 1, 0, 1])
    sigmoid = np.array([[0.1], [0.9], [0.2], [0.8]])  # perfect, but argmax would say class 0 everywhere
    with pytest.raises(ValueError, match="threshold it first"):
        significance.compare(labels, sigmoid, sigmoid)


def test_wilcoxon_comparison_matches_scipy_and_finds_a_consistent_gain():
    from scipy import stats

    rng = np.random.default_rng(0)
    second = rng.uniform(0.3, 0.9, size=120)
    first = np.clip(second + rng.normal(0.05, 0.05, size=120), 0, 1)
    result = significance.compare_scores(first, second, names=("ImageNet", "scratch"))
    assert result.p_value == pytest.approx(stats.wilcoxon(first, second).pvalue)
    assert result.difference == pytest.approx(np.mean(first - second))
    low, high = result.difference_interval
    assert low < result.difference < high and low > 0
    assert result.significant and result.verdict() == "ImageNet scores higher than scratch"
    assert "Wilcoxon" in result.summary()


def test_wilcoxon_comparison_of_noise_is_not_significant_and_says_so_carefully():
    rng = np.random.default_rng(1)
    first, second = rng.uniform(size=40), rng.uniform(size=40)
    result = significance.compare_scores(first, second, names=("A", "B"))
    assert not result.significant
    assert result.verdict() == "no detectable difference between A and B"
    low, high = result.difference_interval
    assert low < 0 < high


def test_identical_scores_compare_as_no_difference():
    scores = np.linspace(0, 1, 10)
    result = significance.compare_scores(scores, scores)
    assert result.p_value == 1.0 and result.difference_interval == (0.0, 0.0)


@pytest.mark.parametrize("first, second", [(np.ones(3), np.ones(4)), (np.ones((3, 2)), np.ones((3, 2))),
                                           (np.ones(0), np.ones(0))])
def test_scores_must_be_one_per_example_for_both_models(first, second):
    with pytest.raises(ValueError, match="one score per test example"):
        significance.compare_scores(first, second)


def test_holm_matches_a_worked_example_and_keeps_the_order():
    # Sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04; made non-decreasing: 0.06 for both last.
    adjusted = significance.holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])


def test_holm_lies_between_the_single_tests_and_bonferroni():
    p = np.random.default_rng(0).uniform(0, 0.3, 7)
    adjusted = np.array(significance.holm(p))
    assert np.all(adjusted >= p) and np.all(adjusted <= np.minimum(7 * p, 1) + 1e-12)
    np.testing.assert_allclose(significance.holm([0.2, 0.3]), [0.4, 0.4])  # 0.3 x 1 is raised to 0.2 x 2
    np.testing.assert_allclose(significance.holm([0.6, 0.7, 0.1]), [1.0, 1.0, 0.3])


@pytest.mark.parametrize("bad", [[], [1.5], [-0.1, 0.2], [float("nan")]])
def test_holm_refuses_what_is_not_a_list_of_p_values(bad):
    with pytest.raises(ValueError, match="p-values between 0 and 1"):
        significance.holm(bad)


def test_holm_adjusted_comparisons_carry_the_adjusted_verdict():
    labels = np.zeros(200, int)
    first = labels.copy()
    second = labels.copy()
    second[:14] = 1  # 14 vs 0 disagreements: p = 2 * 0.5**14 = 1.2e-4 alone
    weak = labels.copy()
    weak[:7] = 1  # 7 vs 0: p = 0.0156 alone; the second smallest of three, so Holm doubles it (0.031)
    tests = {"strong": significance.compare(labels, first, second), "weak": significance.compare(labels, first, weak),
             "none": significance.compare(labels, first, first)}
    adjusted = significance.holm_adjusted(tests)
    np.testing.assert_allclose([c.p_value for c in adjusted.values()], significance.holm([c.p_value for c in tests.values()]))
    assert adjusted["weak"].p_value == pytest.approx(2 * tests["weak"].p_value)  # second smallest of three: x2
    assert "Holm-adjusted over 3 tests" in adjusted["strong"].summary() and tests["strong"].correction == ""
    assert adjusted["strong"].significant and adjusted["weak"].significant and not adjusted["none"].significant
    with pytest.raises(ValueError, match="at least one"):
        significance.holm_adjusted({})


def test_an_underflowing_p_value_is_printed_as_a_bound():
    labels = np.zeros(3000, int)
    c = significance.compare(labels, labels, np.ones(3000, int))
    assert c.p_value == 0 and "McNemar p < 1e-300" in c.summary()


def test_a_vector_of_probabilities_is_refused_not_read_as_class_labels():
    labels = np.array([0, 1, 0, 1])
    probabilities = np.array([0.1, 0.9, 0.2, 0.8])  # perfect, but as labels it would score 0.000
    with pytest.raises(ValueError, match=r"A: predictions that are not whole numbers.*probabilities\.argmax\(axis=1\)"):
        significance.compare(labels, probabilities, labels, names=("A", "B"))
    with pytest.raises(ValueError, match=r"B: predictions that are not whole numbers"):
        significance.compare(labels, labels, probabilities, names=("A", "B"))
    with pytest.raises(ValueError, match="labels: .* not whole numbers"):
        significance.compare(probabilities, labels, labels)
    whole = significance.compare(labels.astype(float), labels.astype(float), np.zeros(4))  # 0.0, 1.0: classes
    assert whole.accuracies == (1.0, 0.5)


def test_a_column_of_classes_is_told_to_flatten_not_to_threshold():
    labels = np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"column of 4 predicted classes.*ravel\(\)") as refused:
        significance.compare(labels, labels[:, None], labels)
    assert "sigmoid" not in str(refused.value)
    with pytest.raises(ValueError, match=r"single logit\?.*> 0\)") as logit:
        significance.compare(labels, np.array([[-2.5], [1.5], [-0.5], [3.5]]), labels)
    assert "sigmoid" not in str(logit.value)
    with pytest.raises(ValueError, match=r"labels: .*shape \(4, 1\)"):
        significance.compare(labels[:, None], labels, labels)


@pytest.mark.parametrize("correct, total", [(2.5, 10), (3, 10.5), (float("nan"), 10)])
def test_accuracy_interval_refuses_counts_that_are_not_whole(correct, total):
    with pytest.raises(ValueError, match="whole numbers"):
        significance.accuracy_interval(correct, total)


def test_a_holm_adjusted_summary_says_its_interval_is_not_adjusted():
    labels = np.zeros(200, int)
    first, second = labels.copy(), labels.copy()
    first[:1] = 1
    second[1:9] = 1  # A alone right 8 times, B alone once: p = 0.039 alone; x3 after Holm = 0.12
    alone = significance.compare(labels, first, second, names=("A", "B"))
    tests = {"this": alone, "same 1": significance.compare(labels, first, first),
             "same 2": significance.compare(labels, second, second)}
    adjusted = significance.holm_adjusted(tests)["this"]
    assert alone.significant and not adjusted.significant
    assert adjusted.difference_interval == alone.difference_interval and adjusted.difference_interval[0] > 0
    # The interval excludes zero while the verdict finds no difference: the text must say why they differ.
    assert "not adjusted for the 3 comparisons" in adjusted.interval_text()
    summary = adjusted.summary()
    assert "paired interval +0.0" in summary and "not adjusted for the 3 comparisons" in summary
    assert "Holm-adjusted over 3 tests" in summary and summary.endswith("=> no significant difference between A and B")
    assert "not adjusted" not in alone.summary() and alone.interval_text() in alone.summary()
    scores = significance.holm_adjusted({n: significance.compare_scores(np.linspace(0, 1, 30) + n * 0.01,
                                                                        np.linspace(0, 1, 30)) for n in (1, 2)})
    assert all("not adjusted for the 2 comparisons" in c.summary() for c in scores.values())


def test_pseudo_median_is_the_median_of_the_walsh_averages():
    import itertools

    # [0, 0, 10]: Walsh averages 0, 0, 5, 0, 5, 10 -> median 2.5 (the mean is 3.33, the median 0)
    assert significance.pseudo_median(np.array([0.0, 0.0, 10.0])) == pytest.approx(2.5)
    values = np.random.default_rng(0).normal(size=15)
    walsh = [(a + b) / 2 for a, b in itertools.combinations_with_replacement(values, 2)]
    assert significance.pseudo_median(values) == pytest.approx(np.median(walsh))
    with pytest.raises(ValueError, match="one difference per example"):
        significance.pseudo_median(np.zeros((2, 2)))


def test_mean_interval_is_a_seeded_bca_interval():
    from scipy import stats

    skewed = np.random.default_rng(0).exponential(size=120)  # BCa and percentile differ on skewed data
    low, high = significance.mean_interval(skewed, confidence=0.9875, resamples=10_000)
    for method, same in (("BCa", True), ("percentile", False)):
        expected = stats.bootstrap((skewed,), np.mean, n_resamples=10_000, confidence_level=0.9875, method=method,
                                   rng=np.random.default_rng(config.SEED)).confidence_interval
        assert np.allclose((low, high), (expected.low, expected.high), rtol=1e-9) == same
    # about the t interval of the mean on this sample (the bootstrap's is a little narrower)
    half_width = stats.t.ppf(1 - 0.0125 / 2, 119) * skewed.std(ddof=1) / np.sqrt(120)
    assert low < skewed.mean() < high and (high - low) == pytest.approx(2 * half_width, rel=0.15)
    assert significance.mean_interval(np.full(5, 0.25)) == (0.25, 0.25)  # no spread
    with pytest.raises(ValueError, match="at least two values"):
        significance.mean_interval(np.array([1.0]))


def test_compare_scores_follows_the_pseudo_median_and_bootstraps_the_mean():
    from scipy import stats

    first = np.full(31, 0.5)
    second = first - 0.01
    second[-1] = first[-1] + 5  # thirty small gains, one huge loss: the mean difference is negative
    comparison = significance.compare_scores(first, second, names=("a", "b"))
    assert comparison.difference < 0 < comparison.pseudo_median
    assert comparison.p_value == pytest.approx(stats.wilcoxon(first, second).pvalue) and comparison.significant
    assert comparison.verdict() == "a scores higher than b"  # the test's direction, not the mean's
    assert comparison.difference_interval == significance.mean_interval(first - second)
    text = repr(comparison)
    assert "95% paired interval" in text and "BCa bootstrap" in text and "Hodges–Lehmann" in text and "=> a scores higher" in text
    assert "no detectable difference" in significance.compare_scores(first, first).verdict()
    with pytest.raises(ValueError, match="same examples"):
        significance.compare_scores(first, second[:3])


def test_compare_scores_leaves_tied_examples_out_of_its_estimate_as_the_test_does():
    # 80 examples scored the same, 20 higher by 0.3: Wilcoxon (zeros left out) finds the gain, and so must the verdict
    first, second = np.r_[np.zeros(80), np.full(20, 0.3)], np.zeros(100)
    comparison = significance.compare_scores(first, second, names=("a", "b"))
    assert comparison.significant and comparison.pseudo_median == pytest.approx(0.3)
    assert comparison.verdict() == "a scores higher than b"


def test_a_constant_shift_up_to_rounding_gets_a_point_interval_not_nan():
    import warnings

    first = np.linspace(0, 1, 30) + 0.02  # every difference 0.02, up to floating-point rounding
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # BCa on a degenerate sample warns and returns NaN
        comparison = significance.compare_scores(first, np.linspace(0, 1, 30))
    assert comparison.difference_interval == pytest.approx((0.02, 0.02))
