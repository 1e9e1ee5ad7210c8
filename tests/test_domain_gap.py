import numpy as np
import pytest

from helpers import domain_gap


def _gauss(n, shift=0.0, seed=0, dims=5):
    return np.random.default_rng(seed).normal(size=(n, dims)) + shift


def _mmd2_by_definition(x, y, bandwidth):
    k = lambda a, b: np.exp(-np.sum((a - b) ** 2) / (2 * bandwidth**2))  # noqa: E731
    n, m = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(a, b) for a in x for b in y) / (n * m)
    return xx + yy - 2 * xy


def test_mmd_matches_the_definition():
    x, y = _gauss(7, seed=1), _gauss(9, shift=0.5, seed=2)
    assert domain_gap.mmd2(x, y, bandwidth=1.3) == pytest.approx(_mmd2_by_definition(x, y, 1.3), rel=1e-9)


def test_mmd_is_near_zero_for_one_distribution_and_grows_with_the_shift():
    reference = _gauss(200, seed=1)
    bandwidth = domain_gap.median_bandwidth(reference, _gauss(200, seed=2))
    values = [domain_gap.mmd2(reference, _gauss(200, shift=s, seed=2), bandwidth) for s in (0.0, 0.5, 1.0, 2.0)]
    assert abs(values[0]) < 0.01
    assert values == sorted(values) and values[-1] > 0.3


def test_mmd_refuses_mismatched_samples():
    with pytest.raises(ValueError, match="same number of features"):
        domain_gap.mmd2(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="at least 2"):
        domain_gap.mmd2(np.zeros((1, 3)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="bandwidth must be positive"):
        domain_gap.mmd2(np.ones((3, 3)), np.ones((3, 3)), bandwidth=0)


def test_domain_classifier_is_at_chance_on_one_distribution_and_perfect_on_separate_ones():
    same = domain_gap.domain_classifier_accuracy(_gauss(100, seed=1), _gauss(100, seed=2))
    apart = domain_gap.domain_classifier_accuracy(_gauss(100, seed=1), _gauss(100, shift=5.0, seed=2))
    assert 0.35 < same < 0.65
    assert apart == 1.0


def test_batchnorm_gap_is_zero_on_the_stored_statistics_and_counts_standard_deviations():
    rng = np.random.default_rng(0)
    mean, variance = np.array([1.0, -2.0, 0.0]), np.array([4.0, 0.25, 1.0])
    matching = rng.normal(mean, np.sqrt(variance), size=(20000, 3))
    assert domain_gap.batchnorm_gap(*domain_gap.channel_moments(matching), mean, variance) == pytest.approx(0, abs=1e-3)
    shifted = matching + np.sqrt(variance)  # every channel one stored standard deviation away
    assert domain_gap.batchnorm_gap(*domain_gap.channel_moments(shifted), mean, variance) == pytest.approx(1, abs=0.02)
    wider = (matching - mean) * 3 + mean  # standard deviation tripled: (3s - s)^2 / s^2 = 4
    assert domain_gap.batchnorm_gap(*domain_gap.channel_moments(wider), mean, variance) == pytest.approx(4, abs=0.1)
    with pytest.raises(ValueError, match="same shape"):
        domain_gap.batchnorm_gap(mean, variance, mean[:2], variance[:2])


def test_channel_moments_pool_every_position():
    maps = np.random.default_rng(1).normal(size=(4, 5, 6, 3))
    mean, variance = domain_gap.channel_moments(maps)
    np.testing.assert_allclose(mean, maps.reshape(-1, 3).mean(0))
    np.testing.assert_allclose(variance, maps.reshape(-1, 3).var(0))


def test_probe_reads_a_linearly_separable_label():
    x = _gauss(80, seed=3)
    y = (x[:, 0] > 0).astype(int)
    assert domain_gap.probe_accuracy(x[:60], y[:60], x[60:], y[60:]) >= 0.9


def test_batchnorm_input_moments_match_the_maps_and_reject_other_layers():
    import keras

    inputs = keras.Input((6, 6, 2))
    conv = keras.layers.Conv2D(3, 3, name="conv")(inputs)
    model = keras.Model(inputs, keras.layers.BatchNormalization(name="bn")(conv))
    images = np.random.default_rng(2).normal(size=(4, 6, 6, 2)).astype("float32")
    mean, mean_square = domain_gap.batchnorm_input_moments(model, ["bn"])(images)
    maps = keras.Model(inputs, conv)(images).numpy()
    np.testing.assert_allclose(mean.numpy(), maps.mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mean_square.numpy(), (maps**2).mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="'conv' is a Conv2D, not a BatchNormalization layer"):
        domain_gap.batchnorm_input_moments(model, ["conv"])


def test_domain_classifier_is_at_chance_on_one_distribution_whatever_the_sizes():
    # 550 against 200 vectors of one distribution: "always the larger sample" would score 0.73;
    # balanced, the classifier is at chance.
    same = domain_gap.domain_classifier_accuracy(_gauss(550, seed=1), _gauss(200, seed=2))
    assert 0.4 < same < 0.6
    x, y = domain_gap.balanced(_gauss(550, seed=1), _gauss(200, seed=2))
    assert len(x) == len(y) == 200
    assert len(np.unique(x, axis=0)) == 200  # drawn without replacement


def test_proxy_a_distance_is_two_times_one_minus_twice_the_error():
    assert domain_gap.proxy_a_distance(0.5) == 0.0
    assert domain_gap.proxy_a_distance(1.0) == 2.0
    assert domain_gap.proxy_a_distance(0.9) == pytest.approx(2 * (1 - 2 * 0.1))
    assert domain_gap.proxy_a_distance(0.4) == 0.0  # below chance by noise: no distance
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        domain_gap.proxy_a_distance(1.5)
