"""Receptive fields across cells and modes: white-noise STAs, cell-centred IRFs, lone-mode IRFs.

The IRFs of :mod:`codec.retina.analysis` are gradients at single time points. This module puts
them side by side across cells and modes and against the classic measurement:

- :func:`spike_triggered_average`: the response-weighted average of the windows less their plain
  average, per cell (the STA, the field's receptive field under white noise). For Gaussian white
  noise Stein's lemma makes it exact: ``Cov(r(x), x) = E[∇r(x)]``, so the STA times the mean
  response is the mean IRF, which the tests use as an independent check of the IRFs.
- :func:`field_centers` and :func:`centred_crops`: where a cell's field lies (the peak of its
  smoothed absolute spatial factor) and every IRF cut around its cell's centre, so that IRFs of
  cells at different places can be compared (the paper's Fig. 8D, left).
- :func:`lone_mode_pairs` and :func:`lone_mode_similarity`: the (time, cell) pairs at which one
  mode alone is active while the cell fires, and whether the centred IRFs of *different* cells
  are more alike when they share the lone mode than when their lone modes differ, against
  shuffled mode labels.
- :func:`signed_temporal` and :func:`pathway_match`: an IRF's temporal factor carrying the
  polarity of its centre (ON positive, OFF negative), correlated with the temporal filters of the
  simulated circuit's pathways (:attr:`codec.retina.SimulatedRetina.temporal`): which pathway
  does an IRF look like?
- :func:`mode_purity`: do the times of one lone mode share one pathway (the pathway that drove
  the cell, or the one its IRF looks like) more than shuffled mode labels would?
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ..checks import ArgumentTypeError, check_int, check_number
from .analysis import permutation_chance, rank_one, unit_rows
from .circuit import gaussian_map
from .stimuli import check_movie, windows

__all__ = ["spike_triggered_average", "field_centers", "centred_crops", "lone_mode_pairs", "lone_mode_similarity",
           "signed_temporal", "pathway_match", "mode_purity"]


def spike_triggered_average(movie, responses, frames: int, batch_size: int = 256) -> Tensor:
    """The response-weighted average window of each cell (STA).

    Parameters
    ----------
    movie : Tensor, shape (n_frames, size, size)
        Zero-mean contrast (white noise, :func:`codec.retina.white_noise`).
    responses : array, shape (n_frames - frames + 1, n_cells)
        Non-negative responses (spike counts or rates) at each window's last frame.
    frames : int
    batch_size : int
        Windows per matrix product.

    Returns
    -------
    Tensor, shape (n_cells, frames, size, size)
        ``Σ_t r_t · window_t / Σ_t r_t − mean_t window_t`` (oldest frame first): the
        response-weighted average less the plain average of the windows, so that a response
        that does not depend on the stimulus has an STA of zero on any finite movie (else two
        cells with high baselines share the movie's own sample mean as a common STA).
    """
    check_int("frames", frames, 1)
    check_int("batch_size", batch_size, 1)
    movie = check_movie(movie)
    n = movie.shape[0] - frames + 1
    responses = torch.as_tensor(np.asarray(responses), dtype=torch.float64)
    if responses.ndim != 2 or responses.shape[0] != n:
        raise ValueError(f"responses: expected ({n}, n_cells), one row per window of the movie, got {tuple(responses.shape)}")
    if not torch.isfinite(responses).all() or (responses < 0).any():
        raise ValueError("responses: must be finite and non-negative (spike counts or firing rates)")
    total = responses.sum(0)
    silent = torch.nonzero(total <= 0).flatten().tolist()
    if silent:
        raise ValueError(f"responses: cells {silent} never respond; an STA needs responses (a longer movie, or leave them out)")
    size = movie.shape[1]
    accumulated = torch.zeros(responses.shape[1], frames * size * size, dtype=torch.float64)
    plain = torch.zeros(frames * size * size, dtype=torch.float64)
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        batch = windows(movie, frames, start, stop).reshape(stop - start, -1)
        accumulated += (responses[start:stop].T.float() @ batch).double()
        plain += batch.double().sum(0)
    return (accumulated / total[:, None] - plain / n).reshape(-1, frames, size, size).float()


def field_centers(spatial: Tensor, sigma: float = 1.0) -> np.ndarray:
    """Where each field lies: the peak of its absolute spatial factor, smoothed.

    Parameters
    ----------
    spatial : Tensor, shape (P, size, size)
        Spatial factors (:func:`codec.retina.rank_one`) or any maps of the fields.
    sigma : float
        Width (pixels) of the Gaussian that smooths ``|spatial|`` before the peak is taken; 0: none.

    Returns
    -------
    numpy.ndarray of int, shape (P, 2)
        (row, column) of each peak.
    """
    check_number("sigma", sigma, above=0)
    if not isinstance(spatial, Tensor) or spatial.ndim != 3:
        raise ValueError(f"spatial: expected a tensor (P, size, size), got "
                         f"{tuple(spatial.shape) if isinstance(spatial, Tensor) else type(spatial).__name__}")
    if not sigma >= 0:
        raise ValueError(f"sigma: must be >= 0, got {sigma!r}")
    maps = spatial.abs().float()[:, None]
    if sigma > 0:
        kernel = gaussian_map(2 * max(1, int(np.ceil(3 * sigma))) + 1, sigma).float()[None, None]
        maps = torch.nn.functional.conv2d(maps, kernel, padding=kernel.shape[-1] // 2)
    flat = maps.flatten(1).argmax(1)
    width = spatial.shape[-1]
    return torch.stack([flat // width, flat % width], 1).numpy()


def centred_crops(irfs: Tensor, centers, radius: int) -> Tensor:
    """Each IRF cut to a square of side ``2·radius + 1`` around its centre (zeros beyond the frame).

    Parameters
    ----------
    irfs : Tensor, shape (P, frames, size, size)
    centers : array of int, shape (P, 2)
        (row, column) of each IRF's centre.
    radius : int

    Returns
    -------
    Tensor, shape (P, frames, 2·radius + 1, 2·radius + 1)
    """
    if not isinstance(irfs, Tensor) or irfs.ndim != 4:
        raise ValueError(f"irfs: expected a tensor (P, frames, size, size), got "
                         f"{tuple(irfs.shape) if isinstance(irfs, Tensor) else type(irfs).__name__}")
    centers = np.asarray(centers)
    if centers.shape != (irfs.shape[0], 2):
        raise ValueError(f"centers: expected ({irfs.shape[0]}, 2), one (row, column) per IRF, got {centers.shape}")
    if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)) or radius < 1:
        raise ValueError(f"radius: must be an integer >= 1, got {radius!r}")
    size = irfs.shape[-1]
    if (centers < 0).any() or (centers >= size).any():
        raise ValueError(f"centers: must lie in the frame, [0, {size})")
    padded = torch.nn.functional.pad(irfs, (radius,) * 4)
    side = 2 * radius + 1
    return torch.stack([padded[i, :, r:r + side, c:c + side] for i, (r, c) in enumerate(centers.astype(int))])


def lone_mode_pairs(rates, combinations, frames: int, min_rate: float = 1.0, per_pair: int = 3, min_cells: int = 2,
                    seed: int = 0) -> dict:
    """(time, cell) pairs at which one mode alone is active while the cell fires.

    For every mode and cell, up to ``per_pair`` times at which the mode is the only active one
    and the cell fires above ``min_rate``, no two closer than ``frames`` bins (their windows do
    not overlap). Modes seen alone with fewer than ``min_cells`` cells are left out.

    Parameters
    ----------
    rates : array, shape (T, n_cells)
    combinations : list of frozenset, length T
        The active modes at each time (:func:`codec.retina.active_combinations`).

    Returns
    -------
    dict
        ``times``, ``cells``, ``modes``: int arrays of the same length; ``lone_share``: the share
        of the T time points at which exactly one mode is active.
    """
    check_int("frames", frames, 1)
    check_number("min_rate", min_rate, minimum=0)
    check_int("per_pair", per_pair, 1)
    check_int("min_cells", min_cells, 1)
    check_int("seed", seed, 0)
    rates = np.asarray(rates)
    if rates.ndim != 2 or len(combinations) != rates.shape[0]:
        raise ValueError(f"rates, combinations: expected (T, n_cells) and T combinations, got {rates.shape} and {len(combinations)}")
    rng = np.random.default_rng(seed)
    lone = [(t, next(iter(c))) for t, c in enumerate(combinations) if len(c) == 1]
    by_pair: dict[tuple[int, int], list[int]] = {}
    for t, mode in lone:
        for cell in np.flatnonzero(rates[t] > min_rate):
            by_pair.setdefault((mode, int(cell)), []).append(t)
    times, cells, modes = [], [], []
    cells_of_mode: dict[int, set] = {}
    picked_pairs = []
    for (mode, cell), candidates in sorted(by_pair.items()):
        taken: list[int] = []
        for t in rng.permutation(candidates):
            if len(taken) == per_pair:
                break
            if all(abs(int(t) - u) >= frames for u in taken):
                taken.append(int(t))
        picked_pairs.append((mode, cell, taken))
        cells_of_mode.setdefault(mode, set()).add(cell)
    for mode, cell, taken in picked_pairs:
        if len(cells_of_mode[mode]) >= min_cells:
            times += taken
            cells += [cell] * len(taken)
            modes += [mode] * len(taken)
    return {"times": np.asarray(times, dtype=np.int64), "cells": np.asarray(cells, dtype=np.int64),
            "modes": np.asarray(modes, dtype=np.int64), "lone_share": len(lone) / max(len(combinations), 1)}


def lone_mode_similarity(irfs: Tensor, cells, modes, n_permutations: int = 1000, seed: int = 0) -> dict:
    """Are IRFs of different cells more alike when the same mode alone is active? (Fig. 8D, left.)

    Over all pairs of IRFs of *different* cells, the mean Pearson r of pairs that share the
    lone mode (``within``) and of pairs whose lone modes differ (``between``); the chance level
    of their difference comes from shuffling the mode labels among the IRFs.

    Parameters
    ----------
    irfs : Tensor, shape (P, ...)
        Cell-centred IRFs (:func:`centred_crops`).
    cells, modes : array of int, shape (P,)

    Returns
    -------
    dict
        ``within``, ``between``, ``difference``, ``chance_95``, ``p``, ``n_modes`` (modes with
        IRFs of two cells or more), ``n_irfs``.
    """
    check_int("n_permutations", n_permutations, 1)
    check_int("seed", seed, 0)
    cells, modes = np.asarray(cells), np.asarray(modes)
    if len(cells) != irfs.shape[0] or len(modes) != irfs.shape[0]:
        raise ValueError("irfs, cells, modes: must have one entry per IRF")
    unit = unit_rows(irfs)
    r = (unit @ unit.T).numpy()
    first, second = np.triu_indices(len(cells), 1)
    other_cell = cells[first] != cells[second]
    first, second, values = first[other_cell], second[other_cell], r[first[other_cell], second[other_cell]]

    def statistic(labels):
        same = labels[first] == labels[second]
        if not same.any() or same.all():
            return np.nan, np.nan
        return float(values[same].mean()), float(values[~same].mean())

    within, between = statistic(modes)
    if not np.isfinite(within):
        raise ValueError("modes: no two cells share a lone mode, or all share one; choose more times (lone_mode_pairs)")
    rng = np.random.default_rng(seed)
    null = [np.subtract(*statistic(rng.permutation(modes))) for _ in range(n_permutations)]
    difference = within - between
    n_modes = sum(len(set(cells[modes == m])) >= 2 for m in np.unique(modes))
    return {"within": within, "between": between, "difference": difference, **permutation_chance(difference, null),
            "n_modes": int(n_modes), "n_irfs": int(irfs.shape[0])}


def signed_temporal(irfs: Tensor, center_radius: int = 1) -> Tensor:
    """Each centred IRF's temporal factor with the polarity of its centre (ON positive, OFF negative).

    Parameters
    ----------
    irfs : Tensor, shape (P, frames, side, side)
        Centred on their fields (:func:`centred_crops`; ``side`` odd).
    center_radius : int
        The centre: the ``(2·center_radius + 1)²`` middle pixels, whose summed spatial factor
        gives the sign.

    Returns
    -------
    Tensor, shape (P, frames)
        Unit norm: :func:`codec.retina.rank_one`'s temporal factor times the sign of the centre.
    """
    check_int("center_radius", center_radius, 0)
    spatial, temporal, _ = rank_one(irfs)
    middle = irfs.shape[-1] // 2
    window = slice(max(middle - center_radius, 0), middle + center_radius + 1)
    sign = torch.where(spatial[:, window, window].sum((1, 2)) < 0, -1.0, 1.0)
    return temporal * sign[:, None]


def pathway_match(irfs: Tensor, pathway_filters: Tensor) -> np.ndarray:
    """Pearson r of each centred IRF's signed temporal factor with each pathway's temporal filter.

    Parameters
    ----------
    irfs : Tensor, shape (P, frames, side, side)
    pathway_filters : Tensor, shape (n_pathways, frames)
        Signed filters, oldest frame first (:attr:`codec.retina.SimulatedRetina.temporal`).

    Returns
    -------
    numpy.ndarray, shape (P, n_pathways)
    """
    if not isinstance(irfs, Tensor) or irfs.ndim != 4:
        raise ArgumentTypeError(f"irfs: must be a tensor (P, frames, side, side), got {getattr(irfs, 'shape', type(irfs).__name__)}")
    if not isinstance(pathway_filters, Tensor):
        raise ArgumentTypeError(f"pathway_filters: must be a tensor (n_pathways, frames), got {type(pathway_filters).__name__}")
    if pathway_filters.ndim != 2 or pathway_filters.shape[1] != irfs.shape[1]:
        raise ValueError(f"pathway_filters: expected (n_pathways, {irfs.shape[1]}) (the IRFs' frames), "
                         f"got {tuple(pathway_filters.shape)}")
    return (unit_rows(signed_temporal(irfs)) @ unit_rows(pathway_filters).T).numpy()


def mode_purity(modes, labels, n_permutations: int = 1000, seed: int = 0) -> dict:
    """How much the lone modes sort (cell, time) pairs by a label such as a pathway.

    Purity: the share of pairs whose label is the most common one among the pairs of their
    mode (cluster purity); its chance level comes from shuffling the modes among the pairs.

    Parameters
    ----------
    modes, labels : array of int, shape (P,)

    Returns
    -------
    dict
        ``purity``, ``chance_95``, ``p``; ``shares`` (n_modes, n_labels): each mode's share of
        pairs per label, modes sorted as ``numpy.unique(modes)``.
    """
    check_int("n_permutations", n_permutations, 1)
    check_int("seed", seed, 0)
    modes, labels = np.asarray(modes), np.asarray(labels)
    if modes.shape != labels.shape or modes.ndim != 1 or len(modes) == 0:
        raise ValueError(f"modes, labels: must be 1-D of the same non-zero length, got {modes.shape} and {labels.shape}")
    _, mode_index = np.unique(modes, return_inverse=True)
    n_labels = int(labels.max()) + 1

    def counts(index):
        table = np.zeros((index.max() + 1, n_labels))
        np.add.at(table, (index, labels), 1)
        return table

    def purity(index):
        return float(counts(index).max(1).sum() / len(labels))

    observed = purity(mode_index)
    rng = np.random.default_rng(seed)
    null = [purity(rng.permutation(mode_index)) for _ in range(n_permutations)]
    table = counts(mode_index)
    return {"purity": observed, **permutation_chance(observed, null), "shares": table / table.sum(1, keepdims=True)}
