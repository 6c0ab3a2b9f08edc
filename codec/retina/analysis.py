"""What the retina section measures on a fitted model: surprisal, IRFs, cell clusters, mode combinations.

- :func:`surprisal_target`: the population surprisal ``½ (y − μ)ᵀ Σ⁻¹ (y − μ)`` with μ and Σ the
  mean and covariance of the model's responses over a stimulus (the released code: the test
  movie, ``np.cov``), ready for :func:`codec.contributions` and the store.
- :func:`instantaneous_receptive_fields`: the gradient of one cell's rate with respect to the
  whole window, for many (time, cell) pairs in one backward pass per batch (each row of the
  batch carries its own cell as the cotangent); :func:`rank_one` keeps the spatial and temporal
  factors of each (SVD of frames × pixels), sign-fixed.
- :func:`cell_mode_matrix` and :func:`cluster_cells`: each cell's correlation with each mode's
  loading over time, columns standardised, k-means with k chosen by the silhouette (Fig. 8C);
  :func:`partition_agreement`: the adjusted Rand index of two partitions with a permutation
  chance level (layer 1 vs layer 2, and here also clusters vs the true cell types).
- :func:`irf_times` and :func:`combination_effect`: "IRFs vary with the combination of active
  modes" as a statistic with a chance level: for each cell, IRFs at times of different mode
  combinations are compared with IRFs at times of the same combination (Pearson r), against
  permutations of the combinations among the cell's times.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ..checks import ArgumentTypeError, check_array, check_int, check_module, check_number
from ..targets import Surprisal
from .stimuli import check_movie, gather_windows

__all__ = ["response_statistics", "surprisal_target", "instantaneous_receptive_fields", "rank_one", "cell_mode_matrix",
           "cluster_cells", "partition_agreement", "active_combinations", "irf_times", "combination_effect",
           "irf_similarity", "unit_rows", "permutation_chance"]


def response_statistics(responses, ridge: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of population responses (``np.cov``: rows are time points).

    Parameters
    ----------
    responses : array, shape (T, n_cells)
    ridge : float
        Added to the covariance's diagonal, as a fraction of its mean variance.

    Raises
    ------
    ValueError
        When the covariance is singular (fewer time points than cells, a silent cell, cells
        that copy each other): the message says to record more time points or to set ``ridge``.
    """
    check_number("ridge", ridge, minimum=0)
    responses = np.asarray(responses, dtype=np.float64)
    if responses.ndim != 2 or responses.shape[0] < 2:
        raise ValueError(f"responses: expected (T, n_cells) with T >= 2, got {responses.shape}")
    if not ridge >= 0:
        raise ValueError(f"ridge: must be >= 0, got {ridge!r}")
    mean = responses.mean(0)
    covariance = np.atleast_2d(np.cov(responses, rowvar=False))
    covariance = covariance + ridge * np.trace(covariance) / len(mean) * np.eye(len(mean))
    eigenvalues = np.linalg.eigvalsh(covariance)
    if eigenvalues[0] <= 1e-10 * max(eigenvalues[-1], 1e-300):
        raise ValueError(
            f"responses: the covariance of the {responses.shape[1]} cells' responses over {responses.shape[0]} time points "
            f"is singular (smallest eigenvalue {eigenvalues[0]:.3g}); record more time points than cells, leave out "
            "silent or duplicated cells, or set ridge > 0 (e.g. ridge=1e-3)")
    return mean, covariance


def surprisal_target(responses, ridge: float = 0.0) -> Surprisal:
    """The population surprisal of a model's responses (:func:`response_statistics`)."""
    check_number("ridge", ridge, minimum=0)
    mean, covariance = response_statistics(responses, ridge)
    return Surprisal(mean, covariance)


def instantaneous_receptive_fields(model: torch.nn.Module, movie: Tensor, frames: int, times, cells,
                                   batch_size: int = 64) -> Tensor:
    """The gradient of a cell's rate with respect to its window, for many (time, cell) pairs.

    Parameters
    ----------
    model : nn.Module
        Windows ``(B, frames, size, size)`` to rates ``(B, n_cells)``, rows independent of
        each other (eval mode: batch norm uses its running statistics).
    movie : Tensor, shape (T, size, size)
    frames : int
    times : sequence of int, length P
        Window indices.
    cells : sequence of int, length P
        The cell of each pair.
    batch_size : int
        Pairs per backward pass.

    Returns
    -------
    Tensor, shape (P, frames, size, size)
    """
    check_module("model", model)
    movie = check_movie(movie)
    check_int("frames", frames, 1)
    check_int("batch_size", batch_size, 1)
    times, cells = check_array("times", times, integer=True), check_array("cells", cells, integer=True)
    if times.shape != cells.shape or times.ndim != 1:
        raise ValueError(f"times, cells: must be 1-D of the same length, got {times.shape} and {cells.shape}")
    n_windows = movie.shape[0] - frames + 1
    if len(times) and (times.min() < 0 or times.max() >= n_windows):
        raise ValueError(f"times: window indices must lie in [0, {n_windows})")
    was_training = model.training
    model.eval()
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    out = []
    try:
        for start in range(0, len(times), batch_size):
            c = torch.as_tensor(cells[start:start + batch_size], device=device)
            x = gather_windows(movie, frames, times[start:start + batch_size]).to(device).requires_grad_(True)
            rates = model(x)
            if c.min() < 0 or c.max() >= rates.shape[1]:
                raise ValueError(f"cells: the model has {rates.shape[1]} cells, got cell {int(c.max())}")
            (grad,) = torch.autograd.grad(rates.gather(1, c.view(-1, 1)).sum(), x)
            out.append(grad.detach().cpu())
    finally:
        model.train(was_training)
    if not out:
        return torch.empty(0, frames, movie.shape[1], movie.shape[2])
    return torch.cat(out)


def rank_one(irfs: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The rank-1 part of each IRF (SVD of frames × pixels), sign-fixed.

    Parameters
    ----------
    irfs : Tensor, shape (P, frames, size, size)

    Returns
    -------
    spatial : Tensor, shape (P, size, size)
        Unit norm; the sign is chosen so that the temporal factor's largest value (in
        magnitude) within the last half of the window is positive, so that an ON centre is
        positive and an OFF centre negative.
    temporal : Tensor, shape (P, frames)
        Unit norm.
    singular : Tensor, shape (P,)
        The first singular value; ``singular² / ‖IRF‖²`` is the share of the IRF it explains.
    """
    if irfs.ndim != 4:
        raise ValueError(f"irfs: expected (P, frames, size, size), got {tuple(irfs.shape)}")
    p, frames, h, w = irfs.shape
    u, s, vh = torch.linalg.svd(irfs.reshape(p, frames, h * w).double(), full_matrices=False)
    temporal, spatial, singular = u[:, :, 0], vh[:, 0, :], s[:, 0]
    recent = temporal[:, frames // 2:]
    peak = recent.gather(1, recent.abs().argmax(1, keepdim=True)).squeeze(1)
    sign = torch.where(peak < 0, -1.0, 1.0).double()
    return ((spatial * sign[:, None]).reshape(p, h, w).float(), (temporal * sign[:, None]).float(), singular.float())


def irf_similarity(a: Tensor, b: Tensor) -> np.ndarray:
    """Pearson r between matching IRFs of two sets, ``(P,)`` (flattened frames × pixels)."""
    if a.shape != b.shape:
        raise ValueError(f"a, b: IRF sets must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    return (unit_rows(a) * unit_rows(b)).sum(1).numpy()


def unit_rows(x: Tensor) -> Tensor:
    """Each row of ``x`` (P, ...) flattened, centred and scaled to unit norm, float64 ``(P, n)``:
    the dot product of two such rows is their Pearson r."""
    if not isinstance(x, Tensor) or x.ndim < 1:
        raise ArgumentTypeError(f"x: must be a tensor of rows (P, ...), got {type(x).__name__}")
    flat = x.reshape(x.shape[0], -1).double()
    flat = flat - flat.mean(1, keepdim=True)
    return flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-300)


def permutation_chance(observed: float, null) -> dict:
    """A statistic's chance level from its values under shuffling (NaNs dropped).

    Returns
    -------
    dict
        ``chance_95``: the 95th percentile of ``null``; ``p``: the share of shuffles at least as
        high as ``observed``, the observed one counted.
    """
    observed = check_number("observed", observed)
    null = check_array("null", null, ndim=1).astype(np.float64)
    null = null[np.isfinite(null)]
    if null.size == 0:
        raise ValueError("null: no finite value of the statistic under shuffling; give more shuffles")
    return {"chance_95": float(np.quantile(null, 0.95)), "p": float((1 + (null >= observed - 1e-12).sum()) / (1 + len(null)))}


def cell_mode_matrix(rates, codes) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's correlation with each mode's loading over time, columns standardised (Fig. 8C).

    Parameters
    ----------
    rates : array, shape (T, n_cells)
    codes : array, shape (T, n_modes)
        Mode loadings (the SAE's codes) at the same time points.

    Returns
    -------
    matrix : numpy.ndarray, shape (n_cells, n_used)
        Pearson r of cell and mode, each mode's column z-scored across cells.
    used : numpy.ndarray of int, shape (n_used,)
        The modes kept: those active at some time point and correlated unequally with the cells.
    """
    from ..modes import correlation

    rates, codes = np.asarray(rates, dtype=np.float64), np.asarray(codes, dtype=np.float64)
    if rates.ndim != 2 or codes.ndim != 2 or rates.shape[0] != codes.shape[0]:
        raise ValueError(f"rates, codes: expected (T, n_cells) and (T, n_modes) with the same T, got {rates.shape} and {codes.shape}")
    r = correlation(codes, rates).T  # (cells, modes); NaN for a dead mode
    finite = np.isfinite(r).all(0)
    used = np.flatnonzero(finite & (np.where(finite, r, 0.0).std(0) > 1e-12))
    if len(used) == 0:
        raise ValueError("codes: no mode is active with a loading that varies over time; the SAE has no live modes")
    kept = r[:, used]
    return (kept - kept.mean(0)) / kept.std(0), used


def cluster_cells(matrix, k_values=range(2, 9), seed: int = 0) -> dict:
    """k-means of the cells (rows) with k chosen by the mean silhouette.

    Parameters
    ----------
    matrix : array, shape (n_cells, n_features)
    k_values : iterable of int
        Candidate numbers of clusters (the released code: 2 ... 8); values >= n_cells are skipped.

    Returns
    -------
    dict
        ``labels`` (n_cells,), ``k``, ``silhouettes`` {k: mean silhouette}.
    """
    check_int("seed", seed, 0)
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    matrix = np.asarray(matrix, dtype=np.float64)
    n = matrix.shape[0]
    candidates = [k for k in k_values if 2 <= k < n]
    if not candidates:
        raise ValueError(f"k_values: no k with 2 <= k < {n} (the number of cells)")
    silhouettes, labelings = {}, {}
    for k in candidates:
        labels = KMeans(n_clusters=k, n_init=20, random_state=seed).fit_predict(matrix)
        labelings[k] = labels
        silhouettes[k] = float(silhouette_score(matrix, labels)) if len(set(labels)) > 1 else -1.0
    best = max(candidates, key=lambda k: silhouettes[k])
    return {"labels": labelings[best], "k": best, "silhouettes": silhouettes}


def partition_agreement(labels_a, labels_b, n_permutations: int = 1000, seed: int = 0) -> dict:
    """Adjusted Rand index of two partitions of the same cells, with a permutation chance level.

    Returns
    -------
    dict
        ``ari``; ``chance_95``: the 95th percentile of the ARI when ``labels_b`` is shuffled;
        ``p``: the share of shuffles at least as high (with the observed one counted).
    """
    check_int("n_permutations", n_permutations, 1)
    check_int("seed", seed, 0)
    from sklearn.metrics import adjusted_rand_score

    a, b = np.asarray(labels_a), np.asarray(labels_b)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"labels_a, labels_b: must be 1-D of the same length, got {a.shape} and {b.shape}")
    ari = float(adjusted_rand_score(a, b))
    rng = np.random.default_rng(seed)
    null = np.array([adjusted_rand_score(a, rng.permutation(b)) for _ in range(n_permutations)])
    return {"ari": ari, **permutation_chance(ari, null)}


def active_combinations(codes) -> list[frozenset]:
    """The set of active modes (loading > 0) at each time point, ``T`` frozensets."""
    codes = check_array("codes", codes, ndim=2)
    return [frozenset(np.flatnonzero(row > 0).tolist()) for row in codes]


def irf_times(rates, combinations, frames: int, min_rate: float = 1.0, max_modes: int = 5, per_combination: int = 4,
              n_combinations: int = 6, seed: int = 0) -> dict[int, list[tuple[int, frozenset]]]:
    """For each cell, time points at which to compare IRFs across mode combinations.

    A time qualifies for a cell when the cell fires above ``min_rate`` (Hz) and 1 to
    ``max_modes`` modes are active. Among the qualifying combinations seen at least twice, the
    ``n_combinations`` most frequent are taken, and up to ``per_combination`` of their times,
    no two of one cell closer than ``frames`` bins (their windows do not overlap, so that two
    IRFs are not alike merely because they see the same frames).

    Returns
    -------
    dict of cell -> list of (time, combination)
    """
    check_int("frames", frames, 1)
    check_number("min_rate", min_rate, minimum=0)
    check_int("max_modes", max_modes, 1)
    check_int("per_combination", per_combination, 1)
    check_int("n_combinations", n_combinations, 1)
    check_int("seed", seed, 0)
    rates = np.asarray(rates)
    rng = np.random.default_rng(seed)
    chosen = {}
    for cell in range(rates.shape[1]):
        by_combination: dict[frozenset, list[int]] = {}
        for t in np.flatnonzero(rates[:, cell] > min_rate):
            combination = combinations[t]
            if 1 <= len(combination) <= max_modes:
                by_combination.setdefault(combination, []).append(int(t))
        frequent = sorted((c for c, ts in by_combination.items() if len(ts) >= 2), key=lambda c: (-len(by_combination[c]), sorted(c)))
        taken: list[tuple[int, frozenset]] = []
        used: list[int] = []
        for combination in frequent[:n_combinations]:
            picked = 0
            for t in rng.permutation(by_combination[combination]):
                if picked == per_combination:
                    break
                if all(abs(int(t) - u) >= frames for u in used):
                    taken.append((int(t), combination))
                    used.append(int(t))
                    picked += 1
        if len({c for _, c in taken}) >= 2:
            chosen[cell] = taken
    return chosen


def combination_effect(irfs: Tensor, cells, combinations, n_permutations: int = 1000, seed: int = 0) -> dict:
    """Do a cell's IRFs differ more between mode combinations than within one?

    For every cell, the Pearson r of each pair of its IRFs; ``within``: the mean r over pairs
    whose times share the combination of active modes, ``between``: over pairs whose
    combinations differ; the statistic is the mean over cells of ``within − between``. Its
    chance level comes from shuffling the combinations among each cell's times.

    Parameters
    ----------
    irfs : Tensor, shape (P, ...)
    cells : sequence of int, length P
    combinations : sequence of hashable, length P

    Returns
    -------
    dict
        ``within``, ``between``, ``difference`` (means over cells), ``chance_95`` and ``p`` of
        the difference under shuffling, ``n_cells`` (cells with both kinds of pairs), ``n_irfs``.
    """
    check_int("n_permutations", n_permutations, 1)
    check_int("seed", seed, 0)
    cells = np.asarray(cells)
    ids: dict = {}
    labels = np.array([ids.setdefault(c, len(ids)) for c in combinations], dtype=np.int64)
    if len(cells) != irfs.shape[0] or len(labels) != irfs.shape[0]:
        raise ValueError("irfs, cells, combinations: must have one entry per IRF")
    flat = unit_rows(irfs)
    groups = []
    for cell in np.unique(cells):
        rows = np.flatnonzero(cells == cell)
        if len(rows) < 3:
            continue
        r = (flat[rows] @ flat[rows].T).numpy()
        upper = np.triu_indices(len(rows), 1)
        groups.append((r[upper], labels[rows], upper))

    def statistic(shuffle: np.random.Generator | None):
        within, between = [], []
        for values, group_labels, upper in groups:
            lab = shuffle.permutation(group_labels) if shuffle is not None else group_labels
            same = lab[upper[0]] == lab[upper[1]]
            if same.any() and (~same).any():
                within.append(values[same].mean())
                between.append(values[~same].mean())
        if not within:
            return np.nan, np.nan, 0
        return float(np.mean(within)), float(np.mean(between)), len(within)

    within, between, n_cells = statistic(None)
    if n_cells == 0:
        raise ValueError("combinations: no cell has IRFs at two times of one combination and at times of another; "
                         "choose more times per combination (irf_times)")
    difference = within - between
    rng = np.random.default_rng(seed)
    null = []
    for _ in range(n_permutations):
        w, b, n = statistic(rng)
        null.append(w - b if n else np.nan)
    return {"within": within, "between": between, "difference": difference, **permutation_chance(difference, null),
            "n_cells": n_cells, "n_irfs": int(irfs.shape[0])}
