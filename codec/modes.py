"""What modes correlate with: classes, superclasses, and how many classes each mode covers.

A mode's *loadings* are its codes over images, one column of the (N, M) code matrix of an SAE
(:func:`codec.sae.encode`). The same functions take any (N, M) matrix of per-image values, so
single channels (columns of the feature matrix), activation-SAE modes, PCA and NMF components
(:func:`pca_loadings`, :func:`nmf_loadings`) are compared with the same code.

- :func:`correlation`: Pearson correlation of every loading column with every indicator column,
  as one (M, K) matrix computation;
- :func:`top_modes`: the most correlated mode(s) of each class;
- :func:`class_modes` / :func:`aggregate_loadings`: the authors' class aggregate, the sum of the
  modes whose correlation with the class exceeds 0.2 (the single top mode when none does);
- :func:`coverage`: how many modes each class has above the threshold, how many classes each
  mode serves (Fig. S9);
- :func:`class_dictionary` / :func:`stability`: the class-aggregated modes of two SAEs compared
  by cosine similarity; :func:`robustness_sweep` retrains a layer's SAE under each change of
  :data:`SWEEP` and compares (Fig. S3-S5), with a chance level;
- :func:`compare_decompositions`: SAE modes, single channels, PCA and NMF components of the
  same matrix, by the same class-correlation summary;
- :func:`compare_configurations`: SAEs of the same layers trained under several settings (the
  paper's as written and as released), by R² and class selectivity.
"""

from __future__ import annotations

import warnings

import numpy as np

from .checks import check_array, check_int
from .sae import encode, evaluate, feature_matrix, fit_sae

CLASS_THRESHOLD = 0.2
#: The hyperparameter changes of the robustness sweep (Fig. S3-S5), each a set of SAE settings overrides.
SWEEP = {
    "seed 1": dict(seed=1), "seed 2": dict(seed=2),  # other seeds than the default 0 (sweep_changes shifts them for another)
    "threshold 0.8": dict(threshold=0.8), "threshold 0.95": dict(threshold=0.95),
    "expansion 1": dict(expansion=1), "expansion 6": dict(expansion=6),
    "L1 dictionary 0": dict(l1_dictionary=0.0), "L1 dictionary 1e-2": dict(l1_dictionary=1e-2),  # the paper: up to 1e-2 "affected little"
}


def sweep_changes(seed: int = 0) -> dict:
    """:data:`SWEEP` for a default SAE of another ``seed``: its two other seeds are ``seed + 1`` and ``seed + 2``.

    Parameters
    ----------
    seed : int
        The default settings' seed.

    Returns
    -------
    dict of str -> dict
        Name -> settings overrides, in :data:`SWEEP`'s order.
    """
    check_int("seed", seed, 0)
    return {(f"seed {seed + change['seed']}" if "seed" in change else name): ({"seed": seed + change["seed"]} if "seed" in change else change)
            for name, change in SWEEP.items()}


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
    labels = np.asarray(labels)
    return np.isin(labels, np.asarray(members))[:, None].astype(np.float64)


def superclass_indicators(labels, groups: dict) -> np.ndarray:
    """Indicators (N, G) of several superclasses: column g marks the images whose label is in the g-th group.

    ``groups`` maps names to class lists, in column order (e.g. a dataset's ``superclasses()``).
    """
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
    corr = np.asarray(corr)
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
    loadings = np.asarray(loadings, dtype=np.float64)
    return np.stack([loadings[:, modes].sum(1) for modes in class_modes(corr, threshold)], axis=1)


def coverage(corr, threshold: float = CLASS_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """Modes per class and classes per mode above ``threshold`` (Fig. S9).

    Returns
    -------
    modes_per_class : numpy.ndarray of int, shape (K,)
    classes_per_mode : numpy.ndarray of int, shape (M,)
    """
    above = np.nan_to_num(np.asarray(corr), nan=-np.inf) > threshold
    return above.sum(0), above.sum(1)


def summary(corr, threshold: float = CLASS_THRESHOLD) -> dict:
    """Scalar summaries of a (M, K) correlation matrix, as plotted across depth (Fig. 5C-D).

    ``n_above``: modes whose best class correlation exceeds ``threshold``; ``mean_max``: the mean
    over classes of the best mode's correlation (how well each class is served by its best mode);
    ``median_max``: the median over alive modes (those with a defined correlation) of each mode's
    best class correlation (the paper's and the released code's Fig. 5D statistic: how
    class-selective a typical mode is); ``max_per_mode``: each mode's best correlation (NaN for a
    dead mode).
    """
    corr = np.asarray(corr)
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
    dictionary = np.asarray(dictionary, dtype=np.float64)
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
    a, b = np.asarray(reference, dtype=np.float64), np.asarray(other, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"other: shape {b.shape} must equal reference's {a.shape}")
    if centered:
        if a.shape[0] < 2:
            raise ValueError("reference: centering needs at least 2 classes; pass centered=False")
        a, b = a - a.mean(0), b - b.mean(0)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norms > 0, (a * b).sum(1) / norms, np.nan)


def pca_loadings(x, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """PCA baseline (scikit-learn): loadings (N, n) and components (n, F), n = min(n_components, N, F)."""
    from sklearn.decomposition import PCA

    x = check_array("x", x, ndim=2, finite=True, nonempty=True).astype(np.float64)
    n_components = min(check_int("n_components", n_components, 1), *x.shape)
    pca = PCA(n_components=n_components, svd_solver="full")
    return pca.fit_transform(x), pca.components_


def nmf_loadings(x, n_components: int, seed: int = 0, max_iter: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """NMF baseline (scikit-learn): loadings (N, n) and components (n, F), n = min(n_components, N, F).

    ``x`` must be non-negative (the contribution feature matrix and activations after ReLU are).
    """
    from sklearn.decomposition import NMF

    x = check_array("x", x, ndim=2, finite=True, nonempty=True).astype(np.float64)
    check_int("n_components", n_components, 1)
    check_int("seed", seed, 0)
    check_int("max_iter", max_iter, 1)
    if (x < 0).any():
        raise ValueError("x: NMF needs a non-negative matrix; use codec.sae.feature_matrix, which splits signs")
    n_components = min(n_components, *x.shape)  # nndsvda starts from an SVD of that rank
    nmf = NMF(n_components=n_components, init="nndsvda", random_state=seed, max_iter=max_iter)
    return nmf.fit_transform(x), nmf.components_


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
    per_class, per_mode = [], []
    for corr in correlations:
        modes_of_class, classes_of_mode = coverage(corr, threshold)
        per_class.append(modes_of_class.mean())
        served = classes_of_mode[classes_of_mode > 0]
        per_mode.append(served.mean() if served.size else 0.0)
    return np.array(per_class, dtype=float), np.array(per_mode, dtype=float)


def robustness_sweep(store, layer: str, settings, indicator, changes: dict | None = None, kind: str = "contributions",
                     seed: int = 0, **fit_kwargs) -> dict:
    """Retrain one layer's SAE under each change of settings and compare its class modes with the default's.

    For each change, the SAE is trained (or read from the store's cache) with the overridden
    settings, and its class-aggregated modes (:func:`class_dictionary`) are compared class by
    class with the default SAE's by :func:`stability`; the chance level compares the default with
    itself with the classes shuffled.

    Parameters
    ----------
    store : codec.store.ContributionStore
    layer : str
    settings : codec.sae.SAESettings
        The default settings.
    indicator : array, shape (N, K)
        Class indicators of the store's items (:func:`indicators`).
    changes : dict of str -> dict, optional
        Name -> settings overrides; default :data:`SWEEP`, whose two other seeds follow the
        default's (``settings.seed`` + 1 and + 2).
    kind : {"contributions", "activations"}
    seed : int
        Seed of the class shuffle of the chance level.
    **fit_kwargs
        Passed to :func:`codec.sae.fit_sae` (``cache``, ``device``).

    Returns
    -------
    dict
        ``rows``: one dict per change (``setting``, ``r2``, ``stability``: the mean cosine over
        classes); ``default_r2``: the default SAE's R²; ``chance``: the shuffled-class level.
    """
    changes = sweep_changes(settings.seed) if changes is None else changes
    reference_sae, _ = fit_sae(store, layer, kind, settings, **fit_kwargs)
    features = feature_matrix(store, layer, kind, settings.inputs)
    reference_codes, _ = encode(reference_sae, features)
    reference = class_dictionary(reference_sae.dictionary.detach().cpu().numpy(), correlation(reference_codes.numpy(), indicator))
    rows = []
    for name, change in changes.items():
        if "inputs" in change:
            raise ValueError(f"changes: {name!r} changes the SAE's inputs; the sweep compares SAEs of the same matrix")
        sae, _ = fit_sae(store, layer, kind, settings, **change, **fit_kwargs)
        codes, _ = encode(sae, features)
        other = class_dictionary(sae.dictionary.detach().cpu().numpy(), correlation(codes.numpy(), indicator))
        rows.append({"setting": name, "r2": evaluate(sae, features)["r2"], "stability": float(np.nanmean(stability(reference, other)))})
    shuffled = reference[np.random.default_rng(seed).permutation(len(reference))]
    return {"rows": rows, "default_r2": evaluate(reference_sae, features)["r2"],
            "chance": float(np.nanmean(stability(reference, shuffled)))}


def compare_decompositions(codes, features, indicator, n_components: int, nmf_max_iter: int = 2000) -> tuple[list, bool]:
    """SAE modes, single channels, PCA and NMF components of one matrix, by their class correlations.

    Parameters
    ----------
    codes : array, shape (N, M)
        SAE codes of ``features``.
    features : array, shape (N, F)
        The non-negative matrix the SAE was trained on.
    indicator : array, shape (N, K)
    n_components : int
        Components of PCA and NMF (the SAE's alive modes, say).
    nmf_max_iter : int

    Returns
    -------
    rows : list of dict
        One per decomposition: ``decomposition``, ``columns``, ``median_max`` (median over columns
        of each column's best class correlation, the paper's Fig. 5D statistic), ``mean_max``
        (mean over classes of the best column's correlation) and ``n_above`` (columns above the
        class threshold). A PCA
        component's sign is arbitrary, so PCA is scored by absolute correlation.
    nmf_converged : bool
        False when NMF stopped at ``nmf_max_iter`` before scikit-learn's tolerance was met.
    """
    from sklearn.exceptions import ConvergenceWarning

    loadings = {"SAE modes": np.asarray(codes), "channels": np.asarray(features), "PCA": pca_loadings(features, n_components)[0]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        loadings["NMF"] = nmf_loadings(features, n_components, max_iter=nmf_max_iter)[0]
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    rows = []
    for name, values in loadings.items():
        corr = correlation(values, indicator)
        if name == "PCA":
            corr = np.abs(corr)
        result = summary(corr)
        rows.append({"decomposition": name, "columns": values.shape[1], "median_max": result["median_max"],
                     "mean_max": result["mean_max"], "n_above": result["n_above"]})
    return rows, converged


def compare_configurations(store, configurations: dict, indicator, layers=None, **fit_kwargs) -> dict:
    """SAEs of the same layers trained under several settings, by reconstruction and class selectivity.

    Parameters
    ----------
    store : codec.store.ContributionStore
    configurations : dict of str -> settings
        Name -> SAE settings (:class:`codec.sae.ThresholdSAESettings`, :class:`codec.sae.STSAESettings`, ...).
    indicator : array, shape (N, K)
        Class indicators of the store's items (:func:`indicators`).
    layers : sequence of str, optional
        Default: all the store's layers.
    **fit_kwargs
        Passed to :func:`codec.sae.fit_layers` (``cache``, ``device``).

    Returns
    -------
    dict of str -> dict
        Per configuration: ``layers`` (L,), and arrays (L,) over them: ``r2_contributions``,
        ``r2_activations`` (global R²), ``alive_contributions``, ``alive_activations`` (fraction
        of modes alive), ``epochs_contributions``, ``epochs_activations`` (epochs trained),
        ``median_max_contribution_modes`` and ``median_max_activation_modes``
        (the Fig. 5D statistic of :func:`summary`), in the keys the scorecard's claims 5 and 6 read.
    """
    from .sae import fit_layers

    names = {"contributions": "contribution", "activations": "activation"}
    result = {}
    for name, settings in configurations.items():
        fits = fit_layers(store, settings, layers=layers, **fit_kwargs)
        chosen = list(dict.fromkeys(layer for layer, _ in fits))
        entry = {"layers": chosen}
        for kind, singular in names.items():
            entry[f"r2_{kind}"] = np.array([fits[layer, kind].metrics["r2"] for layer in chosen])
            entry[f"epochs_{kind}"] = np.array([fits[layer, kind].metrics["epochs"] for layer in chosen])
            entry[f"alive_{kind}"] = np.array([fits[layer, kind].metrics["alive_modes"] / fits[layer, kind].metrics["n_modes"]
                                               for layer in chosen])
            entry[f"median_max_{singular}_modes"] = np.array(
                [summary(correlation(fits[layer, kind].codes, indicator))["median_max"] for layer in chosen])
        result[name] = entry
    return result
