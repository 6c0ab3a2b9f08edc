"""Reductions of per-unit maps to per-channel vectors: spatial/token sums and the E/I split.

Layouts, by number of dimensions of a layer's tensor:

* ``(B, C)`` dense layers: a unit is a channel; nothing to sum.
* ``(B, T, D)`` token layers (ViT): the channel is the **last** dimension, summed over tokens.
* ``(B, C, H, W)`` (and any ``(B, C, ...)`` with 4+ dims) conv layers: the channel is
  dimension 1, summed over all remaining dimensions.

A 3-D tensor is always read as tokens; a ``Conv1d`` output ``(B, C, L)`` would need to be
transposed to ``(B, L, C)`` by the caller.
"""

from __future__ import annotations

import torch
from torch import Tensor

REDUCTIONS = (None, "sum", "ei")


def unit_axes(ndim: int) -> tuple[int, ...]:
    """Dimensions that hold positions (space or tokens) for a tensor of ``ndim`` dims."""
    if ndim < 2:
        raise ValueError(f"a layer tensor needs a batch and a channel dimension, got {ndim} dims")
    if ndim == 2:
        return ()
    if ndim == 3:
        return (1,)
    return tuple(range(2, ndim))


def check_reduce(reduce) -> None:
    """Raise a clear error for an unknown ``reduce`` value."""
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce: unknown reduction {reduce!r}; choose None, 'sum' or 'ei'")


def reduce_units(values: Tensor, reduce: str | None) -> Tensor:
    """Reduce a batch of unit maps.

    Parameters
    ----------
    values : Tensor, shape (B, C), (B, T, D) or (B, C, *spatial)
        Per-unit values (contributions or activations).
    reduce : {None, "sum", "ei"}
        ``None`` returns ``values`` unchanged; ``"sum"`` sums each channel over positions,
        giving (B, C) (or (B, D) for tokens); ``"ei"`` splits each unit into its positive and
        negative parts *before* summing, giving (B, 2, C) with ``[:, 0]`` the positive
        (excitatory) sum and ``[:, 1]`` the negative (inhibitory) sum, itself <= 0, so that
        ``ei.sum(1)`` equals the ``"sum"`` reduction.

    Returns
    -------
    Tensor
    """
    check_reduce(reduce)
    if reduce is None:
        return values
    axes = unit_axes(values.ndim)
    if reduce == "sum":
        return values.sum(dim=axes) if axes else values
    positive = values.clamp(min=0)
    negative = values.clamp(max=0)
    if axes:
        positive, negative = positive.sum(dim=axes), negative.sum(dim=axes)
    return torch.stack([positive, negative], dim=1)
