"""What a perturbation did: per-class accuracy and its ratio to the unperturbed network's, the
trapezoid AUC over percentages and the performance score of Fig. 6E.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from ..checks import ArgumentTypeError, check_array


def class_accuracy(outputs: Tensor, labels, classes, top_k: int = 1) -> np.ndarray:
    """Per-class top-k accuracy.

    Parameters
    ----------
    outputs : Tensor, shape (..., N, n_outputs)
        Logits (or any scores) for N inputs, under any leading dimensions (masks).
    labels : array of int, shape (N,)
    classes : array of int, shape (K,)
    top_k : int

    Returns
    -------
    numpy.ndarray, shape (..., K)
        NaN for a class without inputs.
    """
    labels = np.asarray(labels)
    hits = top_k_hits(outputs, labels, top_k)  # (..., N)
    result = []
    for c in np.asarray(classes):
        members = labels == c
        result.append(hits[..., members].mean(-1) if members.any() else np.full(hits.shape[:-1], np.nan))
    return np.stack(result, axis=-1)


def checked_classes(labels, classes) -> np.ndarray:
    labels = np.asarray(labels)
    classes = np.asarray(classes)
    empty = [int(c) for c in classes if not (labels == c).any()]
    if empty:
        raise ValueError(f"classes: {empty} have no images among the inputs; give inputs of every class you name")
    return classes


def accuracy_ratio(perturbed: np.ndarray, original: np.ndarray) -> np.ndarray:
    """``perturbed / original`` where ``original > 0``, NaN elsewhere (arrays of broadcastable shapes)."""
    perturbed, original = check_array("perturbed", perturbed), check_array("original", original)
    try:
        np.broadcast_shapes(perturbed.shape, original.shape)
    except ValueError:
        raise ValueError(f"original: shape {original.shape} does not broadcast with perturbed's {perturbed.shape}") from None
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(original > 0, perturbed / np.where(original > 0, original, 1), np.nan)


def top_k_hits(outputs: Tensor, labels, top_k: int) -> np.ndarray:
    """Whether each input's label is among its top-k outputs: (..., N) float."""
    if outputs.shape[-2] != len(labels):
        raise ValueError(f"labels: {len(labels)} labels for outputs of {outputs.shape[-2]} inputs")
    labels = torch.as_tensor(np.asarray(labels), device=outputs.device)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= outputs.shape[-1]:
        raise ValueError(f"top_k: must be in [1, {outputs.shape[-1]}], got {top_k!r}")
    return (outputs.topk(top_k, dim=-1).indices == labels[:, None]).any(-1).float().cpu().numpy()


def auc(pcts, values) -> float:
    """Area under a curve over pct by the trapezoid rule (pct in percent, as the released code)."""
    pcts, values = np.asarray(pcts, dtype=np.float64), np.asarray(values, dtype=np.float64)
    if pcts.shape != values.shape or pcts.ndim != 1 or len(pcts) < 2:
        raise ValueError(f"pcts, values: need two equal-length vectors of at least 2 points, got {pcts.shape} and {values.shape}")
    if np.any(np.diff(pcts) <= 0):
        raise ValueError("pcts: must be strictly increasing")
    return float(np.sum((values[1:] + values[:-1]) / 2 * np.diff(pcts)))


def performance_score(pcts, target, off_target) -> float:
    """Fig. 6E: ``(AUC_target − AUC_off) / AUC_off``, trapezoid AUCs over pct.

    Negative: the target class loses more than the off-target class (good for ablation);
    positive: it keeps more (good for preservation); 0 for identical curves.
    """
    off = auc(pcts, off_target)
    if off == 0:
        raise ValueError("off_target: the off-target curve has zero area; the score is undefined")
    return (auc(pcts, target) - off) / off


def _check_sweep(sweep, columns=("source", "pct", "ratio_target", "ratio_off", "n_channels")) -> pd.DataFrame:
    if not isinstance(sweep, pd.DataFrame):
        raise ArgumentTypeError(f"sweep: must be a pandas DataFrame of a control sweep, got {type(sweep).__name__}")
    missing = [column for column in columns if column not in sweep.columns]
    if missing or sweep.empty:
        raise ValueError("sweep: needs the rows of codec.control.control_sweep or depth_sweep; "
                         + (f"it lacks the columns {missing}" if missing else "it is empty"))
    return sweep


def curves(sweep: pd.DataFrame) -> pd.DataFrame:
    """Mean accuracy ratios over trials per source and pct (Fig. 6D), NaN ratios left out.

    Returns
    -------
    pandas.DataFrame
        Index (source, pct); columns ``ratio_target``, ``ratio_off``, ``n_channels``, ``trials``.
    """
    grouped = _check_sweep(sweep).groupby(["source", "pct"], sort=False)
    table = grouped[["ratio_target", "ratio_off"]].mean()
    table["n_channels"] = grouped["n_channels"].first()
    table["trials"] = grouped["ratio_target"].count()
    return table


def scores(sweep: pd.DataFrame) -> dict:
    """Performance score (:func:`performance_score`) of each source's mean curves in a sweep."""
    table = curves(sweep)
    result = {}
    for source in table.index.unique("source"):
        part = table.loc[source]
        result[source] = performance_score(part.index.to_numpy(), part["ratio_target"].to_numpy(), part["ratio_off"].to_numpy())
    return result


def score_table(sweep: pd.DataFrame) -> pd.DataFrame:
    """Performance scores (Fig. 6E) of a :func:`depth_sweep`: index (mode, layer) in sweep order, one column per source."""
    rows = {}
    _check_sweep(sweep, ("mode", "layer", "source", "pct", "ratio_target", "ratio_off", "n_channels"))
    for (mode, layer), part in sweep.groupby(["mode", "layer"], sort=False):
        rows[mode, layer] = scores(part)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index, names=["mode", "layer"])
    return table


def target_and_others(ratios) -> tuple[np.ndarray, np.ndarray]:
    """From :func:`class_control`'s (K, K) ratios: the target's own ratio (K,) and its mean over the other classes (K,)."""
    ratios = np.asarray(ratios, dtype=np.float64)
    if ratios.ndim != 2 or ratios.shape[0] != ratios.shape[1] or len(ratios) < 2:
        raise ValueError(f"ratios: need a square (K, K) matrix with K >= 2, got shape {ratios.shape}")
    others = np.where(np.eye(len(ratios), dtype=bool), np.nan, ratios)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.diag(ratios).copy(), np.nanmean(others, axis=1)


def median_target(ratios) -> int:
    """The class to show as Fig. 6C's example, by a rule fixed before any result: the target whose
    own accuracy ratio under the perturbation is the median of all targets' (the lower of the two
    middle ones for an even count; ties broken by the lower class position). A typical class, not
    the best one.

    Parameters
    ----------
    ratios : array, shape (K, K)
        :func:`class_control`'s ratios (rows: target class, columns: class evaluated).

    Returns
    -------
    int
        The target's position among the K classes.
    """
    target, _ = target_and_others(ratios)
    if np.isnan(target).all():
        raise ValueError("ratios: every target's own ratio is NaN (no class was classified correctly before the perturbation)")
    order = np.lexsort((np.arange(len(target)), np.where(np.isnan(target), np.inf, target)))
    finite = int(np.isfinite(target).sum())
    return int(order[(finite - 1) // 2])
