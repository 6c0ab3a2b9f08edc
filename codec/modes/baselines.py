"""The field's baselines of a decomposition: PCA and NMF components of the same matrix (scikit-learn),
and SAE modes, single channels, PCA and NMF compared by the same class-correlation summary.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..checks import check_array, check_int
from .association import check_indicator_rows, correlation, summary


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

    codes = check_array("codes", codes, ndim=2, finite=True)
    features = check_array("features", features, ndim=2, finite=True)
    if len(codes) != len(features):
        raise ValueError(f"codes: {len(codes)} rows, features {len(features)}; give the SAE codes of the features' rows")
    check_indicator_rows(indicator, len(features))
    check_int("nmf_max_iter", nmf_max_iter, 1)
    loadings = {"SAE modes": codes, "channels": features, "PCA": pca_loadings(features, n_components)[0]}
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
