"""Statistics checked against closed forms and scipy."""

import numpy as np
import pytest
import torch
from scipy import stats as scipy_stats

from codec import stats


def test_hoyer_closed_forms():
    assert stats.hoyer(np.array([0.0, 0.0, 3.0, 0.0])) == pytest.approx(1.0)
    assert stats.hoyer(np.array([2.0, -2.0, 2.0, 2.0])) == pytest.approx(0.0)
    # n = 4, |x| = (1, 1, 0, 0): l1/l2 = 2/sqrt(2) = sqrt(2) -> (2 - sqrt(2)) / (2 - 1)
    assert stats.hoyer(np.array([1.0, -1.0, 0.0, 0.0])) == pytest.approx(2 - np.sqrt(2))


def test_hoyer_along_an_axis_and_on_tensors():
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(5, 7))
    rows = stats.hoyer(torch.from_numpy(matrix), axis=1)
    expected = [(np.sqrt(7) - np.abs(r).sum() / np.linalg.norm(r)) / (np.sqrt(7) - 1) for r in matrix]
    np.testing.assert_allclose(rows, expected)
    np.testing.assert_allclose(stats.hoyer(matrix, axis=0), stats.hoyer(matrix.T, axis=1))


def test_hoyer_undefined_cases():
    assert np.isnan(stats.hoyer(np.zeros(4)))
    with pytest.raises(ValueError, match="x: hoyer needs at least 2 entries"):
        stats.hoyer(np.ones((3, 1)), axis=1)


def _ei(rng, inputs=40, channels=9):
    positive = rng.gamma(2.0, size=(inputs, channels))
    negative = -(0.5 * positive + rng.gamma(1.0, size=(inputs, channels)))
    return np.stack([positive, negative], axis=1)


def test_ei_correlation_over_channels_matches_scipy():
    ei = _ei(np.random.default_rng(1))
    expected = scipy_stats.pearsonr(ei[:, 0].mean(0), -ei[:, 1].mean(0)).statistic
    assert stats.ei_correlation(ei) == pytest.approx(expected)


def test_ei_correlation_over_inputs_matches_scipy():
    ei = _ei(np.random.default_rng(2))
    values = stats.ei_correlation(torch.from_numpy(ei), over="inputs")
    expected = [scipy_stats.pearsonr(ei[:, 0, c], -ei[:, 1, c]).statistic for c in range(ei.shape[2])]
    np.testing.assert_allclose(values, expected)
    assert (values > 0).all()  # built with negative parts that grow with positive parts


def test_ei_correlation_bad_input():
    with pytest.raises(ValueError, match=r"ei: must have shape \(B, 2, C\)"):
        stats.ei_correlation(np.zeros((4, 3, 2)))
    with pytest.raises(ValueError, match="over: must be"):
        stats.ei_correlation(np.zeros((4, 2, 2)), over="classes")


def test_class_averages():
    matrix = np.array([[1.0, 2.0], [3.0, 4.0], [10.0, 0.0], [5.0, 6.0]])
    classes, averages = stats.class_averages(matrix, np.array([2, 2, 0, 2]))
    assert classes.tolist() == [0, 2]
    np.testing.assert_allclose(averages, [[10.0, 0.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match=r"labels: must be \(N,\) with the matrix.s N = 4"):
        stats.class_averages(matrix, np.array([0, 1]))


def test_explained_variance_matches_scikit_learn():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(12, 5)) @ rng.normal(size=(5, 30))  # rank 5
    ours = stats.explained_variance(matrix)
    theirs = PCA().fit(matrix).explained_variance_ratio_
    np.testing.assert_allclose(ours[: len(theirs)], theirs, atol=1e-12)
    assert stats.components_for_variance(matrix, 1.0) == 5
    k = stats.components_for_variance(matrix, 0.95)
    assert np.cumsum(theirs)[k - 1] >= 0.95 > (np.cumsum(theirs)[k - 2] if k > 1 else 0)


def test_components_for_variance_closed_form():
    # variances 9, 4, 1 (+ nothing): fractions 9/14, 4/14, 1/14
    matrix = np.array([[3.0, 0, 0], [-3.0, 0, 0], [0, 2.0, 0], [0, -2.0, 0], [0, 0, 1.0], [0, 0, -1.0]])
    np.testing.assert_allclose(stats.explained_variance(matrix)[:3], [9 / 14, 4 / 14, 1 / 14])
    assert stats.components_for_variance(matrix, 0.6) == 1
    assert stats.components_for_variance(matrix, 0.9) == 2
    assert stats.components_for_variance(matrix, 0.95) == 3
    with pytest.raises(ValueError, match="no variance"):
        stats.explained_variance(np.ones((3, 3)))


def test_mask_share():
    maps = np.zeros((1, 2, 2, 2))
    maps[0, 0] = [[1.0, -1.0], [0.0, 2.0]]  # channel 0: mass 4, of which 1 in the top-left block
    maps[0, 1] = [[0.0, 0.0], [0.0, 0.0]]
    masks = np.zeros((1, 4, 4), dtype=bool)
    masks[0, :2, :2] = True          # the whole top-left block
    masks[0, 2, 2] = True            # a quarter of the bottom-right block
    share = stats.mask_share(maps, masks)
    assert share[0] == pytest.approx((1.0 + 2.0 * 0.25) / 4.0)
    assert np.isnan(share[1])
    with pytest.raises(ValueError, match="not a multiple"):
        stats.mask_share(maps, np.zeros((1, 5, 5), dtype=bool))


def test_layer_summary_combines_the_statistics():
    rng = np.random.default_rng(5)
    positive = rng.gamma(1.0, size=(40, 8))
    ei = np.stack([positive, -0.5 * positive], axis=1)
    activations = rng.gamma(2.0, size=(40, 8))
    labels = np.arange(40) % 4
    summary = stats.layer_summary(ei, activations, labels)
    assert summary["hoyer_contribution"] == pytest.approx(np.mean(stats.hoyer(0.5 * positive, axis=1)))
    assert summary["ei_correlation"] == pytest.approx(1.0)
    assert summary["pcs_activation"] == stats.components_for_variance(stats.class_averages(activations, labels)[1])
    # the tie rule's standard error: scipy's sem of the per-image differences
    from scipy.stats import sem
    difference = stats.hoyer(0.5 * positive, axis=1) - stats.hoyer(activations, axis=1)
    assert summary["hoyer_difference_se"] == pytest.approx(sem(difference))


def test_per_image_ei_correlation_is_a_per_image_corrcoef_across_channels():
    rng = np.random.default_rng(3)
    positive = rng.random((7, 12))
    negative = -(0.5 * positive + rng.random((7, 12)))
    negative[4] = -1.0  # a constant negative part: r undefined
    ei = np.stack([positive, negative], axis=1)
    per_image = stats.ei_correlation(ei, over="images")
    assert per_image.shape == (7,) and np.isnan(per_image[4])
    for b in range(7):
        if b != 4:
            assert per_image[b] == pytest.approx(np.corrcoef(positive[b], -negative[b])[0, 1])
    # averaging over images first removes image-to-image variation: here it raises r
    assert stats.ei_correlation(ei, over="channels") > np.nanmedian(per_image)
    summary = stats.layer_summary(ei, positive, np.arange(7) % 2)
    assert summary["ei_correlation_per_image"] == pytest.approx(np.nanmedian(per_image))
    with pytest.raises(ValueError, match="over: must be 'images', 'channels' or 'inputs'"):
        stats.ei_correlation(ei, over="pixels")


def test_paired_difference_against_scipy():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0.5, 0.1, 40), rng.normal(0.45, 0.1, 40)
    a[5], b[9] = np.nan, np.inf  # two unpaired images are left out
    keep = np.isfinite(a) & np.isfinite(b)
    mean, se = stats.paired_difference(a, b)
    assert mean == pytest.approx(np.mean(a[keep] - b[keep]))
    assert se == pytest.approx(scipy_stats.sem(a[keep] - b[keep]))
    # the standard error of the paired t-test: t = mean / se
    assert mean / se == pytest.approx(scipy_stats.ttest_rel(a[keep], b[keep]).statistic)
    assert np.isnan(stats.paired_difference(np.ones(1), np.zeros(1))[1])


def test_hoyer_difference_is_the_paired_difference_of_the_per_image_hoyer_indices():
    rng = np.random.default_rng(4)
    contributions = rng.normal(size=(30, 2, 12))
    activations = np.abs(rng.normal(size=(30, 12)))
    mean, se = stats.hoyer_difference(contributions, activations)
    per_image = stats.hoyer(contributions.sum(1), axis=1) - stats.hoyer(activations, axis=1)
    assert mean == pytest.approx(per_image.mean()) and se == pytest.approx(scipy_stats.sem(per_image))
    c, a = stats.mean_hoyer(contributions, activations)
    assert mean == pytest.approx(c - a)
