"""Statistics of contribution and activation matrices.

Numpy arrays and torch tensors are both accepted; results come back as numpy arrays (the SAE
metrics at the end: floats and arrays).
"""

from __future__ import annotations

import numpy as np
import torch

from .checks import ArgumentTypeError, check_array, check_int, check_number


def _as_numpy(x, name: str) -> np.ndarray:
    return check_array(name, x).astype(np.float64)


def hoyer(x, axis: int = -1) -> np.ndarray:
    """Hoyer sparsity index along ``axis``.

    ``(sqrt(n) - ||x||_1 / ||x||_2) / (sqrt(n) - 1)`` for a vector of ``n`` entries: 0 when
    all entries have equal magnitude, 1 when exactly one is non-zero. Magnitudes are used,
    so the sign of the entries does not matter.

    Parameters
    ----------
    x : array or Tensor, shape (..., n, ...)
        Vectors along ``axis`` (e.g. images x channels with ``axis=-1``).
    axis : int
        The dimension holding the vector entries.

    Returns
    -------
    numpy.ndarray
        ``x``'s shape without ``axis``; NaN where a vector is all zeros (undefined).
    """
    x = _as_numpy(x, "x")
    n = x.shape[axis]
    if n < 2:
        raise ValueError(f"x: hoyer needs at least 2 entries along axis {axis}, got {n}")
    l1 = np.abs(x).sum(axis=axis)
    l2 = np.sqrt((x**2).sum(axis=axis))
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(l2 > 0, l1 / np.where(l2 > 0, l2, 1.0), np.nan)
    return (np.sqrt(n) - ratio) / (np.sqrt(n) - 1)


def pearson(a: np.ndarray, b: np.ndarray, axis: int) -> np.ndarray:
    """Pearson r of matching slices of two arrays of one shape along ``axis`` (NaN where one is constant)."""
    a, b = _as_numpy(a, "a"), _as_numpy(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"b: shape {b.shape} must equal a's {a.shape}")
    check_int("axis", axis, -a.ndim, a.ndim - 1)
    a = a - a.mean(axis=axis, keepdims=True)
    b = b - b.mean(axis=axis, keepdims=True)
    denominator = np.sqrt((a**2).sum(axis=axis) * (b**2).sum(axis=axis))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (a * b).sum(axis=axis) / denominator, np.nan)


def ei_correlation(ei, over: str = "channels"):
    """Correlation between the positive and the (magnitude of the) negative contribution parts.

    Parameters
    ----------
    ei : array or Tensor, shape (B, 2, C)
        The ``reduce="ei"`` output: ``[:, 0]`` positive sums, ``[:, 1]`` negative sums (<= 0).
    over : {"images", "channels", "inputs"}
        ``"images"`` (the authors' released code, Fig. 3C-D): for each input, correlate its C
        positive parts with its C negative magnitudes across channels -> array (B,), a
        distribution over images (NaN for an input with a constant part).
        ``"channels"``: average each part over inputs first, then correlate the C mean positive
        parts with the C mean negative magnitudes -> a float. Averaging removes the
        image-to-image variation, so this r is higher than a typical per-image r.
        ``"inputs"``: for each channel, correlate its positive part with its negative
        magnitude across the B inputs -> array (C,) (NaN for a channel with a constant part).

    Returns
    -------
    float or numpy.ndarray of shape (B,) or (C,)
        Pearson correlation. Positive values mean channels (or inputs) with strong
        excitation also carry strong inhibition.
    """
    ei = _as_numpy(ei, "ei")
    if ei.ndim != 3 or ei.shape[1] != 2:
        raise ValueError(f"ei: must have shape (B, 2, C) (a reduce='ei' result), got {ei.shape}")
    positive, negative = ei[:, 0], -ei[:, 1]
    if over == "channels":
        return float(pearson(positive.mean(axis=0), negative.mean(axis=0), axis=0))
    if over == "inputs":
        return pearson(positive, negative, axis=0)
    if over == "images":
        return pearson(positive, negative, axis=1)
    raise ValueError(f"over: must be 'images', 'channels' or 'inputs', got {over!r}")


def class_averages(matrix, labels) -> tuple[np.ndarray, np.ndarray]:
    """Average the rows of each class.

    Parameters
    ----------
    matrix : array or Tensor, shape (N, C)
        Per-image vectors (e.g. summed contributions per channel).
    labels : array or Tensor, shape (N,)
        Class of each image.

    Returns
    -------
    classes : numpy.ndarray, shape (K,)
        The sorted distinct labels.
    averages : numpy.ndarray, shape (K, C)
        Row k is the mean of the rows of class ``classes[k]``.
    """
    matrix = _as_numpy(matrix, "matrix")
    labels = check_array("labels", labels)
    if matrix.ndim != 2:
        raise ValueError(f"matrix: must be (N, C), got shape {matrix.shape}")
    if labels.shape != (matrix.shape[0],):
        raise ValueError(f"labels: must be (N,) with the matrix's N = {matrix.shape[0]}, got shape {labels.shape}")
    classes, inverse = np.unique(labels, return_inverse=True)
    sums = np.zeros((len(classes), matrix.shape[1]))
    np.add.at(sums, inverse, matrix)
    return classes, sums / np.bincount(inverse)[:, None]


def explained_variance(matrix) -> np.ndarray:
    """Fraction of variance explained by each principal component (PCA of centred rows).

    Parameters
    ----------
    matrix : array or Tensor, shape (K, C)
        Observations in rows (e.g. class averages).

    Returns
    -------
    numpy.ndarray, shape (min(K, C),)
        Non-increasing fractions summing to 1 (as scikit-learn's
        ``PCA().explained_variance_ratio_``).
    """
    matrix = _as_numpy(matrix, "matrix")
    if matrix.ndim != 2 or min(matrix.shape) < 2:
        raise ValueError(f"matrix: explained variance needs a (K, C) matrix with K, C >= 2, got shape {matrix.shape}")
    centred = matrix - matrix.mean(axis=0)
    singular = np.linalg.svd(centred, compute_uv=False)
    variance = singular**2
    total = variance.sum()
    if total == 0:
        raise ValueError("matrix: all rows are equal; there is no variance to explain")
    return variance / total


def components_for_variance(matrix, fraction: float = 0.95) -> int:
    """Smallest number of principal components that explain at least ``fraction`` of the
    variance of ``matrix`` (K, C)."""
    check_number("fraction", fraction, above=0, maximum=1)
    cumulative = np.cumsum(explained_variance(matrix))
    return int(np.searchsorted(cumulative, fraction - 1e-12) + 1)


def mask_share(maps, masks) -> np.ndarray:
    """Share of each channel's absolute map that falls inside a mask, over a batch.

    Parameters
    ----------
    maps : array or Tensor, shape (N, C, H, W)
        Per-unit values (activations or contributions) of a conv layer.
    masks : array or Tensor of bool, shape (N, H0, W0)
        Input-resolution masks (e.g. distractor masks); ``H0`` and ``W0`` must be multiples
        of ``H`` and ``W``. A unit counts by the fraction of its input-resolution block
        covered by the mask.

    Returns
    -------
    numpy.ndarray, shape (C,)
        ``sum |map| * coverage / sum |map|`` per channel (NaN for an all-zero channel).
    """
    maps = np.abs(_as_numpy(maps, "maps"))
    masks = _as_numpy(masks, "masks")
    if maps.ndim != 4:
        raise ValueError(f"maps: must be (N, C, H, W), got shape {maps.shape}")
    if masks.ndim != 3 or masks.shape[0] != maps.shape[0]:
        raise ValueError(f"masks: must be (N, H0, W0) with the maps' N = {maps.shape[0]}, got shape {masks.shape}")
    n, _, h, w = maps.shape
    h0, w0 = masks.shape[1:]
    if h0 % h or w0 % w:
        raise ValueError(f"masks: mask size {h0}x{w0} is not a multiple of the map size {h}x{w}")
    coverage = masks.reshape(n, h, h0 // h, w, w0 // w).mean(axis=(2, 4))
    inside = (maps * coverage[:, None]).sum(axis=(0, 2, 3))
    total = maps.sum(axis=(0, 2, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, inside / np.where(total > 0, total, 1), np.nan)


def mean_hoyer(contributions_ei, activations) -> tuple[float, float]:
    """Mean over images of the Hoyer index of each image's channel vector: contributions, activations.

    Parameters
    ----------
    contributions_ei : array, shape (N, 2, C)
        Positive and negative contribution parts per channel (a store's ``contributions``); the
        net contribution (their sum) is scored.
    activations : array, shape (N, C)
        Spatially (or token-) summed activations.

    Returns
    -------
    (float, float)
        The two means (images whose vector is all zero are left out).
    """
    contributions_ei, activations = _hoyer_inputs(contributions_ei, activations)
    return (float(np.nanmean(hoyer(contributions_ei.sum(axis=1), axis=1))),
            float(np.nanmean(hoyer(activations, axis=1))))


def _hoyer_inputs(contributions_ei, activations) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2, C) contribution parts and (N, C) activations of the same images, as float64 arrays."""
    contributions_ei = _as_numpy(contributions_ei, "contributions_ei")
    if contributions_ei.ndim != 3 or contributions_ei.shape[1] != 2:
        raise ValueError(f"contributions_ei: expected (N, 2, C), got shape {contributions_ei.shape}")
    activations = _as_numpy(activations, "activations")
    if activations.shape != (contributions_ei.shape[0], contributions_ei.shape[2]):
        raise ValueError(f"activations: must be (N, C) = {(contributions_ei.shape[0], contributions_ei.shape[2])} like the "
                         f"contributions, got shape {activations.shape}")
    return contributions_ei, activations


def paired_difference(a, b) -> tuple[float, float]:
    """Mean over images of ``a - b`` and its standard error, from the images where both are finite.

    Parameters
    ----------
    a, b : array, shape (N,)
        One value per image of two quantities measured on the same images (for example the Hoyer
        index of each image's contributions and of its activations).

    Returns
    -------
    (float, float)
        The mean difference and its standard error over images, ``sd(a - b, ddof=1) / sqrt(n)``
        (NaN with fewer than two finite pairs).
    """
    a, b = _as_numpy(a, "a"), _as_numpy(b, "b")
    if a.ndim != 1 or b.shape != a.shape:
        raise ValueError(f"b: must have the shape of a, one value per image (N,); got a {a.shape}, b {b.shape}")
    difference = (a - b)[np.isfinite(a) & np.isfinite(b)]
    if difference.size < 2:
        return float(difference.mean()) if difference.size else float("nan"), float("nan")
    return float(difference.mean()), float(difference.std(ddof=1) / np.sqrt(difference.size))


def hoyer_difference(contributions_ei, activations) -> tuple[float, float]:
    """:func:`mean_hoyer`'s two means compared image by image: the mean over images of the Hoyer
    index of contributions less that of activations, and its standard error.

    Parameters
    ----------
    contributions_ei : array, shape (N, 2, C)
    activations : array, shape (N, C)

    Returns
    -------
    (float, float)
        Mean difference and standard error (:func:`paired_difference`; images where either vector
        is all zero are left out).
    """
    contributions_ei, activations = _hoyer_inputs(contributions_ei, activations)
    return paired_difference(hoyer(contributions_ei.sum(axis=1), axis=1), hoyer(activations, axis=1))


def layer_summary(contributions_ei, activations, labels, fraction: float = 0.95) -> dict:
    """The section-1 statistics of one layer.

    Parameters
    ----------
    contributions_ei : array, shape (N, 2, C)
        Positive and negative contribution parts per channel (a store's ``contributions``).
    activations : array, shape (N, C)
        Spatially summed activations.
    labels : array, shape (N,)
    fraction : float
        Variance fraction for the PCA dimensionality.

    Returns
    -------
    dict
        ``hoyer_contribution`` and ``hoyer_activation``: mean over images of the Hoyer index of
        the image's channel vector (net contribution = positive + negative part; activation);
        ``ei_correlation``: correlation across channels of mean positive vs mean |negative|
        part; ``ei_correlation_per_image``: the median over images of the per-image correlation
        across channels (the released code's statistic, :func:`ei_correlation` ``over="images"``);
        ``pcs_contribution`` and ``pcs_activation``: principal components needed for
        ``fraction`` of the variance of the class-averaged vectors; ``hoyer_difference_se``: the
        standard error over images of the paired difference of the two Hoyer indices
        (:func:`hoyer_difference`), which the scorecard's tie rule reads.
    """
    contributions_ei = _as_numpy(contributions_ei, "contributions_ei")
    activations = _as_numpy(activations, "activations")
    net = contributions_ei.sum(axis=1)
    hoyer_contribution, hoyer_activation = mean_hoyer(contributions_ei, activations)
    return {
        "hoyer_contribution": hoyer_contribution,
        "hoyer_activation": hoyer_activation,
        "hoyer_difference_se": hoyer_difference(contributions_ei, activations)[1],
        "ei_correlation": ei_correlation(contributions_ei, over="channels"),
        "ei_correlation_per_image": float(np.nanmedian(ei_correlation(contributions_ei, over="images"))),
        "pcs_contribution": components_for_variance(class_averages(net, labels)[1], fraction),
        "pcs_activation": components_for_variance(class_averages(activations, labels)[1], fraction),
    }


# ---------------------------------------------------------------------- SAE metrics
# (of codes (N, M), dictionaries (M, F) and reconstructions (N, F): see codec.sae)


def _check_matrix(name: str, value) -> None:
    if as_tensor(value, name).ndim != 2:
        raise ValueError(f"{name}: must be a matrix (rows, columns), got shape {tuple(as_tensor(value, name).shape)}")


def as_tensor(value, name) -> torch.Tensor:
    """A numpy array or tensor as a (detached) tensor; ``name`` is the parameter, for the error."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    if isinstance(value, torch.Tensor):
        return value.detach()
    raise ArgumentTypeError(f"{name}: expected a numpy array or torch tensor, got {type(value).__name__}")


def r2_score(x, reconstruction, kind: str = "global") -> float:
    """Fraction of variance of ``x`` (N, F) explained by ``reconstruction`` (N, F).

    Parameters
    ----------
    kind : {"global", "per_feature"}
        ``"global"``: residual sum of squares over the sum of squares around the mean of all
        entries (the authors' definition). ``"per_feature"``: around each feature's own mean
        (scikit-learn's ``multioutput="variance_weighted"``).
    """
    x, reconstruction = as_tensor(x, "x").double(), as_tensor(reconstruction, "reconstruction").double()
    if x.shape != reconstruction.shape or x.ndim != 2:
        raise ValueError(f"reconstruction: shape {tuple(reconstruction.shape)} must equal x's {tuple(x.shape)}, both (N, F)")
    if kind == "global":
        total = ((x - x.mean()) ** 2).sum()
    elif kind == "per_feature":
        total = ((x - x.mean(0)) ** 2).sum()
    else:
        raise ValueError(f"kind: must be 'global' or 'per_feature', got {kind!r}")
    return float(1.0 - ((x - reconstruction) ** 2).sum() / total)


def alive_modes(codes) -> np.ndarray:
    """Which modes are non-zero for at least one row: bool array (M,) from codes (N, M)."""
    _check_matrix("codes", codes)
    return (as_tensor(codes, "codes") != 0).any(0).cpu().numpy()


def l0(codes) -> float:
    """Mean number of non-zero codes per row of ``codes`` (N, M)."""
    _check_matrix("codes", codes)
    return float((as_tensor(codes, "codes") != 0).sum(1).double().mean())


def mode_sparsity(dictionary) -> np.ndarray:
    """Hoyer sparsity of each mode's loadings over features: (M,) from a dictionary (M, F)."""
    _check_matrix("dictionary", dictionary)
    return hoyer(as_tensor(dictionary, "dictionary").detach().cpu().numpy(), axis=1)
