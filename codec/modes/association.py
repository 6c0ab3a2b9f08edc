"""What modes correlate with: class and superclass indicators, the (M, K) mode-class correlation,
each class's top and aggregated modes, coverage (Fig. S9), the Fig. 5D summaries, and class
dictionaries compared across SAEs (Fig. S3-S5).
"""

from __future__ import annotations

import numpy as np

from ..checks import ArgumentTypeError, check_array, check_bool, check_int, check_number

CLASS_THRESHOLD = 0.2


def check_corr(corr, name: str = "corr") -> np.ndarray:
    """A (M, K) correlation matrix (NaN allowed: dead modes)."""
    return check_array(name, corr, ndim=2, nonempty=True).astype(np.float64)


def _check_threshold(threshold) -> float:
    return check_number("threshold", threshold, minimum=-1, maximum=1)


def _check_fit(fit) -> None:
    if getattr(fit, "codes", None) is None or getattr(fit, "features", None) is None:
        raise ArgumentTypeError(f"fit: must be an SAE fit with .codes and .features (codec.sae.fit_layers), got {type(fit).__name__}")


def check_indicator_rows(indicator, rows: int) -> np.ndarray:
    indicator = check_array("indicator", indicator, ndim=2)
    if indicator.shape[0] != rows:
        raise ValueError(f"indicator: {indicator.shape[0]} rows for {rows} images; give the class indicators of the store's images")
    return indicator


def indicators(labels, classes=None) -> tuple[np.ndarray, np.ndarray]:
    """One-hot class indicators.

    Parameters
    ----------
    labels : array of int, shape (N,)
    classes : array of int, optional
        The classes to make columns for (default: the sorted unique labels).

    Returns
    -------
    indicator : numpy.ndarray of float64, shape (N, K)
    classes : numpy.ndarray of int, shape (K,)
    """
    labels = check_array("labels", labels, ndim=1)
    if classes is None:
        classes = np.unique(labels)
    else:
        classes = check_array("classes", classes, ndim=1)
        if len(np.unique(classes)) != len(classes):
            raise ValueError(f"classes: each class may appear once, got {classes.tolist()}")
    return (labels[:, None] == classes[None, :]).astype(np.float64), classes


def superclass_indicator(labels, members) -> np.ndarray:
    """Indicator (N, 1) of the images whose label is in ``members`` (e.g. the 118 dog classes)."""
    labels = check_array("labels", labels, ndim=1)
    members = check_array("members", members, ndim=1, nonempty=True)
    return np.isin(labels, members)[:, None].astype(np.float64)


def superclass_indicators(labels, groups: dict) -> np.ndarray:
    """Indicators (N, G) of several superclasses: column g marks the images whose label is in the g-th group.

    ``groups`` maps names to class lists, in column order (e.g. a dataset's ``superclasses()``).
    """
    if not isinstance(groups, dict):
        raise ArgumentTypeError(f"groups: must be a dict of superclass name to class list, got {type(groups).__name__}")
    if not groups:
        raise ValueError("groups: no superclasses given")
    return np.concatenate([superclass_indicator(labels, members) for members in groups.values()], axis=1)


def correlation(loadings, indicator) -> np.ndarray:
    """Pearson correlation of each loading column with each indicator column.

    Parameters
    ----------
    loadings : array, shape (N, M)
        Per-image values of M modes (or channels, or components).
    indicator : array, shape (N, K)
        Per-image values of K targets (class indicators, superclass indicators, ...).

    Returns
    -------
    numpy.ndarray of float64, shape (M, K)
        NaN where a column is constant (a dead mode, say), as ``numpy.corrcoef`` gives.
    """
    a = np.asarray(loadings, dtype=np.float64)
    b = np.asarray(indicator, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[0]:
        raise ValueError(f"loadings, indicator: must be (N, M) and (N, K) with the same N, got {a.shape} and {b.shape}")
    if a.shape[0] < 2:
        raise ValueError("loadings: need at least 2 rows to correlate")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("loadings, indicator: contain non-finite values")
    a = a - a.mean(0)
    b = b - b.mean(0)
    norms = np.sqrt((a ** 2).sum(0))[:, None] * np.sqrt((b ** 2).sum(0))[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = (a.T @ b) / norms
    corr[norms == 0] = np.nan
    return np.clip(corr, -1.0, 1.0)


def top_modes(corr, k: int = 1) -> np.ndarray:
    """The ``k`` modes most correlated with each class: int array (K, k), best first (NaN ignored)."""
    corr = check_array("corr", corr, ndim=2)
    check_int("k", k, 1, corr.shape[0])
    filled = np.where(np.isnan(corr), -np.inf, corr)
    return np.argsort(-filled, axis=0, kind="stable")[:k].T


def class_modes(corr, threshold: float = CLASS_THRESHOLD) -> list[np.ndarray]:
    """For each class, the modes whose correlation exceeds ``threshold``, else its single top mode."""
    corr = check_corr(corr)
    threshold = _check_threshold(threshold)
    chosen = []
    for column in corr.T:
        above = np.flatnonzero(np.nan_to_num(column, nan=-np.inf) > threshold)
        chosen.append(above if above.size else np.array([int(np.nanargmax(column))]) if not np.isnan(column).all() else np.array([], int))
    return chosen


def aggregate_loadings(loadings, corr, threshold: float = CLASS_THRESHOLD) -> np.ndarray:
    """The authors' class aggregate: per class, the sum of the loadings of :func:`class_modes`.

    Returns
    -------
    numpy.ndarray, shape (N, K)
    """
    loadings = check_array("loadings", loadings, ndim=2).astype(np.float64)
    corr = check_corr(corr)
    if loadings.shape[1] != corr.shape[0]:
        raise ValueError(f"loadings: {loadings.shape[1]} columns (modes), corr {corr.shape[0]} rows; give the loadings of corr's modes")
    return np.stack([loadings[:, modes].sum(1) for modes in class_modes(corr, threshold)], axis=1)


def coverage(corr, threshold: float = CLASS_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """Modes per class and classes per mode above ``threshold`` (Fig. S9).

    Returns
    -------
    modes_per_class : numpy.ndarray of int, shape (K,)
    classes_per_mode : numpy.ndarray of int, shape (M,)
    """
    above = np.nan_to_num(check_corr(corr), nan=-np.inf) > _check_threshold(threshold)
    return above.sum(0), above.sum(1)


def coverage_across(correlations, threshold: float = CLASS_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """:func:`coverage` summarised per layer (Fig. S9).

    Parameters
    ----------
    correlations : sequence of arrays, each (M, K)
        One mode-class correlation matrix per layer.

    Returns
    -------
    modes_per_class : numpy.ndarray, shape (L,)
        Mean over classes of the number of modes above ``threshold``.
    classes_per_mode : numpy.ndarray, shape (L,)
        Mean over the modes that serve at least one class of the number of classes they serve
        (0 where no mode serves any).
    """
    if isinstance(correlations, np.ndarray) and correlations.ndim == 2 or not hasattr(correlations, "__iter__"):
        raise ArgumentTypeError("correlations: must be a sequence of (M, K) correlation matrices, one per layer")
    per_class, per_mode = [], []
    for corr in correlations:
        modes_of_class, classes_of_mode = coverage(corr, threshold)
        per_class.append(modes_of_class.mean())
        served = classes_of_mode[classes_of_mode > 0]
        per_mode.append(served.mean() if served.size else 0.0)
    return np.array(per_class, dtype=float), np.array(per_mode, dtype=float)


def summary(corr, threshold: float = CLASS_THRESHOLD) -> dict:
    """Scalar summaries of a (M, K) correlation matrix, as plotted across depth (Fig. 5C-D).

    ``n_above``: modes whose best class correlation exceeds ``threshold``; ``mean_max``: the mean
    over classes of the best mode's correlation (how well each class is served by its best mode);
    ``median_max``: the median over alive modes (those with a defined correlation) of each mode's
    best class correlation (the paper's and the released code's Fig. 5D statistic: how
    class-selective a typical mode is); ``max_per_mode``: each mode's best correlation (NaN for a
    dead mode).
    """
    corr = check_corr(corr)
    threshold = _check_threshold(threshold)
    best_per_mode = np.nanmax(np.where(np.isnan(corr), -np.inf, corr), axis=1)
    best_per_mode = np.where(np.isinf(best_per_mode), np.nan, best_per_mode)
    return {
        "n_above": int(np.nansum(best_per_mode > threshold)),
        "mean_max": float(np.nanmean(np.nanmax(np.where(np.isnan(corr), -np.inf, corr), axis=0))),
        "median_max": float(np.nanmedian(best_per_mode)) if np.isfinite(best_per_mode).any() else float("nan"),
        "max_per_mode": best_per_mode,
    }


def selectivity(fit, indicator) -> dict:
    """The Fig. 5D statistic of one layer's SAE: ``summary()["median_max"]`` of its modes and of its input features.

    Parameters
    ----------
    fit : codec.sae.LayerFit
        ``codes`` (N, M) and ``features`` (N, F) of the same N images.
    indicator : array, shape (N, K)
        Class indicators of those images.

    Returns
    -------
    dict
        ``"modes"``: the median over alive modes of each mode's best class correlation;
        ``"features"``: the same over the SAE's input features (single channels).
    """
    _check_fit(fit)
    return {"modes": summary(correlation(fit.codes, indicator))["median_max"],
            "features": summary(correlation(fit.features, indicator))["median_max"]}


def class_dictionary(dictionary, corr, threshold: float = CLASS_THRESHOLD) -> np.ndarray:
    """Each class's aggregated mode: the sum of the dictionary rows of its :func:`class_modes`.

    Parameters
    ----------
    dictionary : array, shape (M, F)
    corr : array, shape (M, K)

    Returns
    -------
    numpy.ndarray, shape (K, F)
    """
    dictionary = check_array("dictionary", dictionary, ndim=2).astype(np.float64)
    corr = check_corr(corr)
    if dictionary.shape[0] != corr.shape[0]:
        raise ValueError(f"dictionary: {dictionary.shape[0]} modes, corr {corr.shape[0]}; give the correlations of the dictionary's modes")
    return np.stack([dictionary[modes].sum(0) for modes in class_modes(corr, threshold)])


def stability(reference, other, centered: bool = True) -> np.ndarray:
    """Similarity of matching rows of two (K, F) class dictionaries: (K,), NaN for empty rows.

    Compares the class-aggregated modes of two SAEs trained with other seeds or hyperparameters
    (Fig. S3-S5): 1 means the same channels carry the class with the same weights.

    Parameters
    ----------
    reference, other : array, shape (K, F)
    centered : bool
        Subtract from each dictionary its mean over classes before the row-wise cosine, so that
        only the class-specific part is compared. Non-negative vectors share a large common part
        (every class uses the busiest channels), which makes plain cosines high for any pair
        (``centered=False``).
    """
    a = check_array("reference", reference, ndim=2).astype(np.float64)
    b = check_array("other", other, ndim=2).astype(np.float64)
    check_bool("centered", centered)
    if a.shape != b.shape:
        raise ValueError(f"other: shape {b.shape} must equal reference's {a.shape}")
    if centered:
        if a.shape[0] < 2:
            raise ValueError("reference: centering needs at least 2 classes; pass centered=False")
        a, b = a - a.mean(0), b - b.mean(0)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norms > 0, (a * b).sum(1) / norms, np.nan)
