"""What is done to a layer: channel masks, and the ablate / preserve context managers.

A channel of a layer is *ablated* by zeroing its whole map at the layer's output (every
position); *preservation* zeroes every channel of the layer but the selected ones. How many
channels a percentage selects follows the authors' rule, ``int(C · pct / 100)``.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ..checks import check_int
from ..hooks import channel_masks

MODES = ("ablate", "preserve")


def check_mode(mode: str) -> None:
    """Raise a ValueError naming ``mode`` unless it is one of :data:`MODES`."""
    if mode not in MODES:
        raise ValueError(f"mode: must be one of {MODES}, got {mode!r}")


def check_pct(pct) -> float:
    """A percentage of a layer's channels, in (0, 100], as a float (else a ValueError naming ``pct``)."""
    if isinstance(pct, bool) or not isinstance(pct, (int, float, np.integer, np.floating)) or not 0 < pct <= 100:
        raise ValueError(f"pct: a percentage of the layer's channels in (0, 100], got {pct!r}")
    return float(pct)


def n_selected(n_channels: int, pct: float) -> int:
    """How many channels ``pct`` % of ``n_channels`` selects: ``int(C · pct / 100)``, the authors' rule.

    Small layers select none at small percentages (1% of 16 channels is 0).
    """
    return int(check_int("n_channels", n_channels, 1) * check_pct(pct) / 100)


def _check_channels(channels, n_channels: int, name: str = "channels") -> np.ndarray:
    channels = np.asarray(channels)
    if channels.size and not np.issubdtype(channels.dtype, np.integer):
        raise ValueError(f"{name}: channel indices must be integers, got dtype {channels.dtype}")
    channels = channels.astype(np.int64).ravel()
    if channels.size and (channels.min() < 0 or channels.max() >= n_channels):
        bad = channels[(channels < 0) | (channels >= n_channels)]
        raise ValueError(f"{name}: indices {bad[:5].tolist()} are out of range for a layer of {n_channels} channels "
                         f"(valid: 0 to {n_channels - 1})")
    return channels


def channel_mask(n_channels: int, channels, mode: str = "ablate") -> Tensor:
    """The (C,) float mask that ablates or preserves some channels of a layer.

    Parameters
    ----------
    n_channels : int
        C, the layer's channel count.
    channels : sequence of int
        The selected channels.
    mode : {"ablate", "preserve"}
        ``"ablate"``: 0 at the selected channels, 1 elsewhere; ``"preserve"``: the complement.

    Returns
    -------
    Tensor of float32, shape (C,)
    """
    check_mode(mode)
    check_int("n_channels", n_channels, 1)
    channels = _check_channels(channels, n_channels)
    selected = torch.zeros(n_channels, dtype=torch.bool)
    selected[torch.as_tensor(channels, dtype=torch.long)] = True
    return (~selected if mode == "ablate" else selected).float()


@contextlib.contextmanager
def _perturb(model: nn.Module, channels: Mapping[str, Sequence[int]], mode: str, layout: str) -> Iterator[nn.Module]:
    check_mode(mode)
    if not channels:
        raise ValueError("channels: give at least one layer and its channel indices")
    masks = {layer: (lambda c, chosen=chosen, layer=layer: channel_mask(c, _check_channels(chosen, c, f"channels[{layer!r}]"), mode))
             for layer, chosen in channels.items()}
    with channel_masks(model, masks, layout=layout):
        yield model


def ablate(model: nn.Module, channels: Mapping[str, Sequence[int]], layout: str = "auto"):
    """Context manager: zero the selected channels of some layers (their whole maps) in every forward pass.

    Parameters
    ----------
    model : nn.Module
    channels : mapping of layer name to sequence of int
        ``{layer: channel indices}``; layer names as :func:`codec.hooks.resolve_layers` (a name
        ending in ``":input"`` perturbs a module's input, e.g. a ViT's attention heads before
        the output projection).
    layout : {"auto", "channels_first", "channels_last"}
        Where the channel axis is (:mod:`codec.reduce`); ``"auto"`` takes dim 1 of a conv map
        and the last dim of a (B, tokens, D) layer.

    Examples
    --------
    >>> with ablate(model, {"layer3.1": [4, 17]}):  # doctest: +SKIP
    ...     logits = model(images)
    """
    return _perturb(model, channels, "ablate", layout)


def preserve(model: nn.Module, channels: Mapping[str, Sequence[int]], layout: str = "auto"):
    """Context manager: zero every channel of some layers but the selected ones (:func:`ablate`'s complement)."""
    return _perturb(model, channels, "preserve", layout)
