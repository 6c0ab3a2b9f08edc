"""Reductions of per-unit maps to per-channel vectors: spatial/token sums and the E/I split.

Where the channel axis is (the ``layout``):

* ``"auto"`` (default), by number of dimensions: ``(B, C)`` dense layers (nothing to sum);
  ``(B, T, D)`` token layers (ViT), the channel **last**, summed over tokens; ``(B, C, H, W)``
  and any ``(B, C, ...)`` with 4+ dims, the channel at dimension 1, summed over the rest.
* ``"channels_first"``: ``(B, C, ...)`` whatever the number of dims, e.g. a ``Conv1d`` output
  ``(B, C, L)`` or a retina layer over time.
* ``"channels_last"``: ``(B, ..., C)``, e.g. a channels-last 4-D map ``(B, H, W, C)``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .checks import ArgumentTypeError

REDUCTIONS = (None, "sum", "ei")
LAYOUTS = ("auto", "channels_first", "channels_last")


def check_layout(layout) -> None:
    """Raise a clear error for an unknown ``layout`` value."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout: unknown layout {layout!r}; choose one of {LAYOUTS}")


def unit_axes(ndim: int, layout: str = "auto") -> tuple[int, ...]:
    """Dimensions that hold positions (space, tokens, time) for a tensor of ``ndim`` dims."""
    check_layout(layout)
    if ndim < 2:
        raise ValueError(f"ndim: a layer tensor needs a batch and a channel dimension, got {ndim} dims")
    if ndim == 2:
        return ()
    if layout == "channels_first":
        return tuple(range(2, ndim))
    if layout == "channels_last" or ndim == 3:
        return tuple(range(1, ndim - 1))
    return tuple(range(2, ndim))


def channel_axis(ndim: int, layout: str = "auto") -> int:
    """The channel dimension of a tensor of ``ndim`` dims under ``layout``."""
    positions = unit_axes(ndim, layout)
    return next(axis for axis in range(1, ndim) if axis not in positions)


def check_reduce(reduce) -> None:
    """Raise a clear error for an unknown ``reduce`` value."""
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce: unknown reduction {reduce!r}; choose None, 'sum' or 'ei'")


def reduce_units(values: Tensor, reduce: str | None, layout: str = "auto") -> Tensor:
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
    layout : {"auto", "channels_first", "channels_last"}
        Where the channel axis is (module docstring).

    Returns
    -------
    Tensor
    """
    check_reduce(reduce)
    check_layout(layout)
    if not isinstance(values, Tensor):
        raise ArgumentTypeError(f"values: must be a tensor of unit values (B, C, ...), got {type(values).__name__}")
    if reduce is None:
        return values
    axes = unit_axes(values.ndim, layout)
    if reduce == "sum":
        return values.sum(dim=axes) if axes else values
    positive = values.clamp(min=0)
    negative = values.clamp(max=0)
    if axes:
        positive, negative = positive.sum(dim=axes), negative.sum(dim=axes)
    return torch.stack([positive, negative], dim=1)
