"""codec.modes: the vectorised mode-class correlation against a per-pair numpy.corrcoef loop,
the authors' class aggregate, coverage, and the PCA/NMF baselines."""

import numpy as np
import pytest

from codec import modes


def test_correlation_equals_a_per_pair_corrcoef_loop():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, 200)
    loadings = rng.random((200, 12)) * (rng.random((200, 12)) < 0.4)
    loadings[:, 3] += 2.0 * (labels == 2)
    loadings[:, 7] = 0.0  # a dead mode: constant
    indicator, classes = modes.indicators(labels)
    fast = modes.correlation(loadings, indicator)
    assert fast.shape == (12, 5) and classes.tolist() == [0, 1, 2, 3, 4]
    slow = np.full((12, 5), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        for m in range(12):
            for k in range(5):
                slow[m, k] = np.corrcoef(loadings[:, m], indicator[:, k])[0, 1]
    np.testing.assert_allclose(fast, slow, atol=1e-12, equal_nan=True)
    assert np.isnan(fast[7]).all()
    assert modes.top_modes(fast)[2, 0] == 3


def test_class_aggregate_takes_modes_above_threshold_else_the_top_one():
    corr = np.array([[0.5, 0.1], [0.3, 0.15], [0.1, 0.05], [np.nan, np.nan]])
    chosen = modes.class_modes(corr)
    assert chosen[0].tolist() == [0, 1] and chosen[1].tolist() == [1]
    loadings = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(modes.aggregate_loadings(loadings, corr),
                                  np.stack([loadings[:, 0] + loadings[:, 1], loadings[:, 1]], axis=1))
    per_class, per_mode = modes.coverage(corr)
    assert per_class.tolist() == [2, 0] and per_mode.tolist() == [1, 1, 0, 0]
    summary = modes.summary(corr)
    assert summary["n_above"] == 2 and summary["mean_max"] == pytest.approx((0.5 + 0.15) / 2)
    assert modes.top_modes(corr, k=2).tolist() == [[0, 1], [1, 0]]


def test_superclass_indicator_and_bad_input():
    np.testing.assert_array_equal(modes.superclass_indicator([151, 3, 268, 269], np.arange(151, 269)).ravel(), [1, 0, 1, 0])
    with pytest.raises(ValueError, match="same N"):
        modes.correlation(np.zeros((4, 2)), np.zeros((5, 1)))
    with pytest.raises(ValueError, match="non-finite"):
        modes.correlation(np.array([[np.inf], [0.0]]), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="k:"):
        modes.top_modes(np.zeros((3, 2)), k=4)


def test_pca_and_nmf_baselines_find_a_planted_class_component():
    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(3), 60)
    pattern = np.zeros((3, 10))
    pattern[0, :3] = pattern[1, 3:6] = pattern[2, 6:] = 1.0
    x = pattern[labels] * rng.uniform(0.5, 1.5, (180, 1)) + 0.05 * rng.random((180, 10))
    indicator, _ = modes.indicators(labels)
    for loadings, components in (modes.nmf_loadings(x, 3), modes.pca_loadings(x, 3)):
        assert loadings.shape == (180, 3) and components.shape == (3, 10)
        best = np.nanmax(np.abs(modes.correlation(loadings, indicator)), axis=0)
        assert (best > 0.6).all(), best
    nmf_best = np.nanmax(modes.correlation(modes.nmf_loadings(x, 3)[0], indicator), axis=0)
    assert (nmf_best > 0.9).all()
    with pytest.raises(ValueError, match="non-negative"):
        modes.nmf_loadings(-x, 2)
    assert modes.nmf_loadings(x[:8], 50)[0].shape == (8, 8)  # no more components than rows or features
    assert modes.pca_loadings(x, 50)[1].shape == (10, 10)


def test_class_dictionary_and_stability():
    dictionary = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 2.0]])
    corr = np.array([[0.5, 0.0], [0.3, 0.1], [0.0, 0.15]])
    aggregated = modes.class_dictionary(dictionary, corr)
    np.testing.assert_array_equal(aggregated, [[1, 1, 0], [0, 0, 2]])
    np.testing.assert_allclose(modes.stability(aggregated, aggregated * 3), [1.0, 1.0])
    np.testing.assert_allclose(modes.stability(aggregated, aggregated[::-1], centered=False), [0.0, 0.0])
    np.testing.assert_allclose(modes.stability(aggregated, aggregated[::-1]), [-1.0, -1.0])
    assert np.isnan(modes.stability(np.zeros((1, 3)), np.ones((1, 3)), centered=False))[0]
    # a shared non-negative part makes plain cosines high; centering compares class-specific parts
    common = np.array([[5.0, 5, 5, 1, 0], [5, 5, 5, 0, 1]])
    swapped = common[::-1]
    assert (modes.stability(common, swapped, centered=False) > 0.9).all()
    np.testing.assert_allclose(modes.stability(common, swapped), [-1.0, -1.0])
    with pytest.raises(ValueError, match="2 classes"):
        modes.stability(np.ones((1, 3)), np.ones((1, 3)))
    with pytest.raises(ValueError, match="shape"):
        modes.stability(aggregated, aggregated[:1])


def test_median_max_is_the_median_over_alive_modes_of_each_modes_best_class():
    corr = np.array([[0.5, 0.1, -0.2], [0.3, 0.6, 0.0], [np.nan, np.nan, np.nan], [0.05, -0.1, 0.2], [0.9, 0.1, 0.4]])
    result = modes.summary(corr)
    best = [0.5, 0.6, 0.2, 0.9]  # the dead mode (NaN row) is left out
    assert result["median_max"] == pytest.approx(np.median(best))
    assert result["mean_max"] == pytest.approx(np.mean([0.9, 0.6, 0.4]))  # per class: its best mode
    assert np.isnan(modes.summary(np.full((2, 3), np.nan))["median_max"])


def test_selectivity_is_the_median_over_modes_of_each_modes_best_class_correlation():
    from types import SimpleNamespace

    labels = np.repeat([0, 1], 5)
    indicator, _ = modes.indicators(labels)
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(10, 1))
    codes = np.column_stack([indicator[:, 0], indicator[:, 1], noise[:, 0]])  # two perfect modes and a noise one
    fit = SimpleNamespace(codes=codes, features=np.column_stack([indicator[:, 0] * 2.0, noise[:, 0]]))
    noise_best = max(np.corrcoef(noise[:, 0], indicator[:, k])[0, 1] for k in (0, 1))
    result = modes.selectivity(fit, indicator)
    assert result["modes"] == pytest.approx(1.0)  # median of (1, 1, noise)
    assert result["features"] == pytest.approx(np.median([1.0, noise_best]))
