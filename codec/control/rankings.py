"""Which channels to perturb: each class's channel order from its top modes, from single channels'
own class correlations, or (in a sweep) at random.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ..checks import ArgumentTypeError, check_array, check_int
from .interventions import n_selected

#: How a channel's weight is formed from a mode's dictionary row when the SAE read both signs
#: ([positive part, |negative part|] per channel): their sum (the channel's whole involvement,
#: the default) or the positive-part weight alone.
COMBINE = ("sum", "positive")

#: The sources of channels a sweep compares: each class's top contribution mode, its top activation
#: mode, and single channels ranked by their own class correlation (a random order is added by
#: :func:`control_sweep`). The paper compares the first two.
SOURCES = ("contribution modes", "activation modes", "single channels")


def channel_weights(rows, n_channels: int, combine: str = "sum") -> np.ndarray:
    """Per-channel weights of dictionary rows (modes over SAE features).

    Parameters
    ----------
    rows : array, shape (..., F)
        Dictionary rows. F = C (the SAE read one feature per channel: the positive parts, or the
        activations) or F = 2C (``[positive parts, |negative parts|]``, :func:`codec.sae.feature_matrix`
        with ``inputs="both"``).
    n_channels : int
        C, the layer's channel count.
    combine : {"sum", "positive"}
        For F = 2C: a channel's weight is the sum of its two features' weights (default), or the
        weight of its positive part alone.

    Returns
    -------
    numpy.ndarray, shape (..., C)
    """
    rows = np.asarray(rows, dtype=np.float64)
    if combine not in COMBINE:
        raise ValueError(f"combine: must be one of {COMBINE}, got {combine!r}")
    features = rows.shape[-1]
    if features == n_channels:
        return rows
    if features == 2 * n_channels:
        positive, negative = rows[..., :n_channels], rows[..., n_channels:]
        return positive + negative if combine == "sum" else positive
    raise ValueError(f"rows: the SAE has {features} features, the layer {n_channels} channels; an SAE of this layer "
                     f"has C = {n_channels} features (one per channel) or 2C = {2 * n_channels} (both signs)")


def rank_channels(weights, seed: int = 0) -> np.ndarray:
    """Channel orders, highest weight first, ties in a seeded random order.

    Parameters
    ----------
    weights : array, shape (K, C)
        One weight per channel for each of K targets (NaN ranks last).
    seed : int

    Returns
    -------
    numpy.ndarray of int64, shape (K, C)
    """
    weights = np.atleast_2d(check_array("weights", weights, ndim=(1, 2)).astype(np.float64))
    rng = np.random.default_rng(check_int("seed", seed, 0))
    filled = np.where(np.isnan(weights), -np.inf, weights)
    return np.stack([np.lexsort((rng.permutation(row.size), -row)) for row in filled])


def mode_rankings(dictionary, corr, n_channels: int, top: int = 1, combine: str = "sum", seed: int = 0) -> np.ndarray:
    """Each class's channel order from its ``top`` most correlated modes (the sum of their dictionary rows).

    Parameters
    ----------
    dictionary : array, shape (M, F)
        The SAE's dictionary (modes × features).
    corr : array, shape (M, K)
        Mode-class correlations (:func:`codec.modes.correlation`).
    n_channels : int
    top : int
        How many of each class's best modes are summed (Fig. 6D: 1; Fig. 6C: 2).
    combine : {"sum", "positive"}
        :func:`channel_weights`.
    seed : int
        Tie-breaking (:func:`rank_channels`).

    Returns
    -------
    numpy.ndarray of int64, shape (K, C)
    """
    from ..modes import top_modes

    dictionary, corr = check_array("dictionary", dictionary, ndim=2), check_array("corr", corr, ndim=2)
    check_int("n_channels", n_channels, 1)
    check_int("top", top, 1, corr.shape[0])
    check_int("seed", seed, 0)
    if dictionary.shape[0] != corr.shape[0]:
        raise ValueError(f"dictionary, corr: {dictionary.shape[0]} modes in the dictionary, {corr.shape[0]} in corr")
    best = top_modes(corr, top)  # (K, top)
    weights = channel_weights(dictionary[best].sum(1), n_channels, combine)
    return rank_channels(weights, seed)


def channel_rankings(channel_corr, seed: int = 0) -> np.ndarray:
    """Each class's channel order by the channels' own class correlation, (C, K) → (K, C), best first."""
    return rank_channels(check_array("channel_corr", channel_corr, ndim=2).astype(np.float64).T, seed)


def top_channels(ranking, pct: float) -> np.ndarray:
    """The first ``int(C · pct / 100)`` channels of a ranking (C,)."""
    ranking = check_array("ranking", ranking, ndim=1, integer=True)
    return ranking[: n_selected(ranking.size, pct)]


def check_fit(name: str, fit):
    """An SAE fit with a ``dictionary`` (M, F) and ``codes`` (N, M) (a :class:`codec.sae.LayerFit`), else a clear error."""
    dictionary, codes = getattr(fit, "dictionary", None), getattr(fit, "codes", None)
    if dictionary is None or codes is None:
        raise ArgumentTypeError(f"{name}: must be an SAE fit with .dictionary and .codes (codec.sae.fit_layers), got "
                                f"{type(fit).__name__}")
    return fit


def check_fits(fits, layer: str, kinds=("contributions", "activations")) -> None:
    """``fits[layer, kind]`` exists for every kind (the mapping :func:`codec.sae.fit_layers` returns)."""
    if not isinstance(fits, Mapping):
        raise ArgumentTypeError(f"fits: must be a mapping of (layer, kind) to SAE fits (codec.sae.fit_layers), got {type(fits).__name__}")
    missing = [kind for kind in kinds if (layer, kind) not in fits]
    if missing:
        raise ValueError(f"fits: no SAE of {missing} at layer {layer!r}; the fits have {sorted(set(k[0] for k in fits))[:6]}")
    for kind in kinds:
        check_fit(f"fits[{layer!r}, {kind!r}]", fits[layer, kind])


def _check_indicator(name: str, indicator, rows: int) -> np.ndarray:
    indicator = check_array(name, indicator, ndim=2)
    if indicator.shape[0] != rows:
        raise ValueError(f"{name}: has {indicator.shape[0]} rows, the SAE's codes {rows}; give the indicators of the SAE's images")
    return indicator


def source_rankings(fits: Mapping, layer: str, indicator, n_channels: int, top: int = 1, combine: str = "sum",
                    seed: int = 0) -> dict:
    """Each class's channel order at one layer from every source of :data:`SOURCES`.

    Parameters
    ----------
    fits : mapping of (layer, kind) to codec.sae.LayerFit
        SAEs of contributions and activations (:func:`codec.sae.fit_layers`).
    layer : str
    indicator : array, shape (N, K)
        Class indicators of the SAEs' rows (:func:`codec.modes.indicators`).
    n_channels : int
        The layer's channel count C (an SAE with another feature count is refused).
    top : int
        Modes per class (summed dictionary rows).
    combine : {"sum", "positive"}
        :func:`channel_weights`, for SAEs that read both signs.
    seed : int

    Returns
    -------
    dict of source name to numpy.ndarray of int64, shape (K, C)
    """
    from ..modes import correlation

    check_fits(fits, layer)
    indicator = _check_indicator("indicator", indicator, len(fits[layer, "contributions"].codes))
    check_int("n_channels", n_channels, 1)
    features = fits[layer, "contributions"].features
    if features.shape[1] not in (n_channels, 2 * n_channels):
        raise ValueError(f"fits: the SAE of {layer!r} reads {features.shape[1]} features; the layer has {n_channels} channels")
    rankings = {}
    for source, kind in (("contribution modes", "contributions"), ("activation modes", "activations")):
        fit = fits[layer, kind]
        rankings[source] = mode_rankings(fit.dictionary, correlation(fit.codes, indicator), n_channels, top, combine, seed)
    rankings["single channels"] = channel_rankings(correlation(features[:, :n_channels], indicator), seed)  # positive parts
    return rankings


def class_weights(fit, indicator, n_channels: int, top: int = 2, combine: str = "sum") -> np.ndarray:
    """Each class's channel weights from its ``top`` most correlated modes (summed dictionary rows): (K, C)."""
    from ..modes import correlation, top_modes

    check_fit("fit", fit)
    indicator = _check_indicator("indicator", indicator, len(fit.codes))
    check_int("n_channels", n_channels, 1)
    check_int("top", top, 1, len(fit.dictionary))
    best = top_modes(correlation(fit.codes, indicator), top)
    return channel_weights(fit.dictionary[best].sum(1), n_channels, combine)


def group_weights(fit, group_indicator, n_channels: int, combine: str = "sum") -> np.ndarray:
    """Each superclass's channel weights: the sum of the dictionary rows of the modes correlated with it
    above 0.2, else its top mode (:func:`codec.modes.class_dictionary`, the authors' rule): (G, C)."""
    from ..modes import class_dictionary, correlation

    check_fit("fit", fit)
    group_indicator = _check_indicator("group_indicator", group_indicator, len(fit.codes))
    check_int("n_channels", n_channels, 1)
    return channel_weights(class_dictionary(fit.dictionary, correlation(fit.codes, group_indicator)), n_channels, combine)
