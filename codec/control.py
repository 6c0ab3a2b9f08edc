"""Controlling a network with modes: ablate or preserve a mode's top channels and measure what changes.

The paper's §5 (Fig. 6, S6, S10). A channel of a layer is *ablated* by zeroing its whole map at
the layer's output (every position); *preservation* zeroes every channel of the layer but the
selected ones. The channels come from a mode: the layer's channels ranked by the mode's
dictionary weight, the top ``pct`` % kept (``n = int(C · pct / 100)``, the authors' rule). The
effect is the accuracy of each class under the perturbation divided by its accuracy without it,
on the same images.

- :func:`ablate`, :func:`preserve`: context managers that splice the perturbation into a model
  and remove it on exit (on any layer kind: conv channels, ViT token features, MLP hidden units,
  attention dimensions before the projection);
- :class:`MaskedForward`: a network's outputs on fixed images under many channel masks. The part
  of the network before the first perturbed layer does not depend on the mask: it runs once, its
  result is kept, and only the rest of the network runs per mask, many masks per pass
  (``cache_prefix=False`` runs the whole network per mask, as the authors did);
- :func:`mode_rankings`, :func:`channel_rankings`: the channel order of each class from its top
  mode(s) or from each channel's own class correlation; :func:`top_channels`, :func:`channel_mask`;
- :func:`control_sweep`: Fig. 6D, trials of a target and an off-target class at every pct, for
  several sources of channels; :func:`curves`, :func:`performance_score` (Fig. 6E);
- :func:`class_control`: Fig. 6C, each class's channels perturbed and every class's accuracy ratio;
- :func:`group_control`: Fig. S10, a superclass's aggregated modes perturbed at several layers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import warnings
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import torch.fx as fx
from torch import Tensor, nn

from .hooks import LayerCapture, channel_masks, eval_mode, resolve_layers
from .reduce import channel_axis, check_layout

#: The percentages of a layer's channels of the paper's Fig. 6D (and the released code).
PAPER_PCTS = (1, 2, 5, 10, 18, 25, 50, 80, 99)
MODES = ("ablate", "preserve")
#: How a channel's weight is formed from a mode's dictionary row when the SAE read both signs
#: ([positive part, |negative part|] per channel): their sum (the channel's whole involvement,
#: the default) or the positive-part weight alone.
COMBINE = ("sum", "positive")


# --------------------------------------------------------------------------- masks


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode: must be one of {MODES}, got {mode!r}")


def _check_pct(pct) -> float:
    if isinstance(pct, bool) or not isinstance(pct, (int, float, np.integer, np.floating)) or not 0 < pct <= 100:
        raise ValueError(f"pct: a percentage of the layer's channels in (0, 100], got {pct!r}")
    return float(pct)


def n_selected(n_channels: int, pct: float) -> int:
    """How many channels ``pct`` % of ``n_channels`` selects: ``int(C · pct / 100)``, the authors' rule.

    Small layers select none at small percentages (1% of 16 channels is 0).
    """
    return int(n_channels * _check_pct(pct) / 100)


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
    _check_mode(mode)
    channels = _check_channels(channels, n_channels)
    selected = torch.zeros(n_channels, dtype=torch.bool)
    selected[torch.as_tensor(channels, dtype=torch.long)] = True
    return (~selected if mode == "ablate" else selected).float()


@contextlib.contextmanager
def _perturb(model: nn.Module, channels: Mapping[str, Sequence[int]], mode: str, layout: str) -> Iterator[nn.Module]:
    _check_mode(mode)
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


# --------------------------------------------------------------------------- prefix-cached evaluation


class PrefixCacheError(RuntimeError):
    """The network cannot be split at a layer (use ``cache_prefix=False``)."""


class _LeafTracer(fx.Tracer):
    """An FX tracer that keeps some modules whole and remembers which module it was inside when tracing failed."""

    def __init__(self, leaves: set[str]):
        super().__init__()
        self.leaves = leaves
        self.stack: list[str] = []
        self.failed_in: list[str] | None = None

    def is_leaf_module(self, module, qualified_name):
        return qualified_name in self.leaves or super().is_leaf_module(module, qualified_name)

    def call_module(self, module, forward, args, kwargs):
        name = self.path_of_module(module)
        self.stack.append(name)
        try:
            return super().call_module(module, forward, args, kwargs)
        except Exception:
            if self.failed_in is None:
                self.failed_in = list(self.stack)
            raise
        finally:
            self.stack.pop()


def _trace(model: nn.Module, keep_whole: set[str]) -> fx.GraphModule:
    """Trace ``model`` with the given modules kept whole; a submodule that cannot be traced is kept whole too."""
    leaves = set(keep_whole)
    for _ in range(len(list(model.modules())) + 1):
        tracer = _LeafTracer(leaves)
        try:
            graph = tracer.trace(model)
        except Exception as error:
            culprit = tracer.failed_in[-1] if tracer.failed_in else ""
            inside_layer = any(culprit == layer or layer.startswith(culprit + ".") for layer in keep_whole)
            if not culprit or culprit in leaves or inside_layer:
                raise PrefixCacheError(
                    f"the model cannot be split at its layers by torch.fx ({type(error).__name__}: {error}); "
                    "use cache_prefix=False to run the whole network per mask"
                ) from error
            leaves.add(culprit)
            continue
        return fx.GraphModule(model, graph)  # shares the model's submodules (and their hooks)
    raise PrefixCacheError("the model cannot be traced; use cache_prefix=False")  # pragma: no cover


def _split(traced: fx.GraphModule, module_name: str, capture_input: bool) -> tuple[fx.GraphModule, fx.GraphModule, int]:
    """Split a traced network at one module's output (or input) into a prefix and a suffix.

    Returns the prefix (inputs → tuple of the values the rest needs), the suffix (those values and
    the value to perturb → output), and the position of the perturbed value among the prefix's
    outputs (-1 if it is not passed across).
    """
    nodes = list(traced.graph.nodes)
    calls = [i for i, n in enumerate(nodes) if n.op == "call_module" and n.target == module_name]
    if len(calls) != 1:
        raise PrefixCacheError(f"layers: module {module_name!r} is called {len(calls)} times in the traced network; "
                               "use cache_prefix=False")
    at = calls[0]
    layer_node = nodes[at]
    prefix_nodes = nodes[:at] if capture_input else nodes[: at + 1]
    in_prefix = set(prefix_nodes)
    # parameters and buffers read after the cut are read again there: they do not depend on the images
    # and the model's optional arguments keep their defaults there
    free = [n for n in prefix_nodes if n.op == "get_attr" or (n.op == "placeholder" and n is not nodes[0])]
    crossing = [n for n in prefix_nodes if n not in free and any(u not in in_prefix for u in n.users)]
    perturbed = layer_node.args[0] if capture_input else layer_node
    if not isinstance(perturbed, fx.Node) or perturbed not in in_prefix:
        raise PrefixCacheError(f"layers: the input of {module_name!r} is not a traced value; use cache_prefix=False")

    prefix = fx.Graph()
    env: dict = {}
    for node in prefix_nodes:
        env[node] = prefix.node_copy(node, lambda n: env[n])
    prefix.output(tuple(env[n] for n in crossing))

    suffix = fx.Graph()
    senv: dict = {}
    for i, node in enumerate(crossing):
        senv[node] = suffix.placeholder(f"cut_{i}")
    extra = suffix.placeholder("perturbed")
    for node in free:
        if any(u not in in_prefix for u in node.users):
            senv[node] = suffix.node_copy(node, lambda n: senv[n])
    if not capture_input:
        senv[perturbed] = extra  # a forward hook replaces the output for all that follows
    for node in nodes[len(prefix_nodes):]:
        if node is layer_node and capture_input:  # a pre-hook changes only what this module sees
            copied = suffix.node_copy(node, lambda n: extra if n is perturbed else senv[n])
        else:
            copied = suffix.node_copy(node, lambda n: senv[n])
        senv[node] = copied
    return fx.GraphModule(traced, prefix), fx.GraphModule(traced, suffix), crossing.index(perturbed) if perturbed in crossing else -1


class MaskedForward:
    """A network's outputs on fixed inputs under many channel masks at some layers.

    Parameters
    ----------
    model : nn.Module
        The network (put in eval mode while it runs; its flags are restored).
    inputs : Tensor, shape (N, ...)
        The images, on the model's device.
    layers : sequence of str
        The layers whose channels may be masked (``named_modules()`` names, optionally
        ``":input"``).
    cache_prefix : bool
        True: run the network up to the first of ``layers`` once (the split is found by
        ``torch.fx``), keep what the rest needs, and per mask run only the rest. False: run the
        whole network per mask (the authors' way), with the masks spliced in by hooks.
    rows_per_pass : int
        Rows (masks × images) per forward pass: masks are batched ``max(1, rows_per_pass // N)``
        at a time.
    layout : {"auto", "channels_first", "channels_last"}

    Attributes
    ----------
    channels : dict of str to int
        Each layer's channel count C.
    original : Tensor, shape (N, ...)
        The unperturbed outputs.
    order : list of str
        ``layers`` in the order the forward pass reaches them.
    """

    def __init__(self, model: nn.Module, inputs: Tensor, layers: Sequence[str], cache_prefix: bool = True,
                 rows_per_pass: int = 256, layout: str = "auto"):
        check_layout(layout)
        if isinstance(rows_per_pass, bool) or not isinstance(rows_per_pass, int) or rows_per_pass < 1:
            raise ValueError(f"rows_per_pass: must be a positive integer, got {rows_per_pass!r}")
        if not isinstance(inputs, Tensor) or inputs.ndim < 2 or len(inputs) == 0:
            raise ValueError("inputs: give a non-empty batch tensor (N, ...)")
        self.model, self.inputs, self.layout = model, inputs, layout
        self.rows_per_pass, self.cache_prefix = rows_per_pass, cache_prefix
        specs = resolve_layers(model, layers)
        self.specs = {spec.name: spec for spec in specs}
        order: list[str] = []
        with eval_mode(model), torch.no_grad(), LayerCapture(specs) as capture:
            handles = [spec.module.register_forward_pre_hook(lambda m, a, name=spec.name: order.append(name)) for spec in specs]
            try:
                self.original, captured = capture.forward(model, inputs[:1])
            finally:
                for handle in handles:
                    handle.remove()
            self.original = model(inputs)
        self.order = list(dict.fromkeys(order))
        self.channels = {name: int(t.shape[channel_axis(t.ndim, layout)]) for name, t in captured.items()}
        self._cut = self.order[0]
        self._cached = None
        if cache_prefix:
            spec = self.specs[self._cut]
            modules = {name.removesuffix(":input") for name in self.specs}
            # a layer's module is kept whole unless another layer lies inside it
            traced = _trace(model, {m for m in modules if not any(o.startswith(m + ".") for o in modules)})
            called = [n.target for n in traced.graph.nodes if n.op == "call_module"]
            unseen = sorted(m for m in modules if called.count(m) != 1)
            if unseen:
                raise PrefixCacheError(
                    f"layers: {unseen} lie inside other layers given together (or run more than once), so the split "
                    "network cannot mask them; give such layers to separate MaskedForwards, or use cache_prefix=False")
            module_name = next(name for name, module in model.named_modules() if module is spec.module)
            self._prefix, self._suffix, self._perturbed_at = _split(traced, module_name, spec.capture_input)
            with eval_mode(model), torch.no_grad():
                self._cached = self._prefix(inputs)
                if not isinstance(self._cached, tuple):
                    self._cached = (self._cached,)
            n = len(inputs)
            for value in self._cached:
                if not isinstance(value, Tensor) or value.ndim == 0 or value.shape[0] != n:
                    raise PrefixCacheError(
                        f"the network passes a value that is not a batch of {n} rows across layer {self._cut!r} "
                        f"({type(value).__name__}{'' if not isinstance(value, Tensor) else tuple(value.shape)}), so the "
                        "rest of the network cannot be run on many masks at once; use cache_prefix=False")
            if self._perturbed_at < 0:
                raise PrefixCacheError(f"layer {self._cut!r}: the value to perturb is not passed across the split")

    def _masks(self, masks: Mapping[str, Tensor]) -> tuple[dict, int]:
        if not masks:
            raise ValueError("masks: give at least one layer's masks (M, C)")
        sizes = set()
        checked = {}
        for layer, mask in masks.items():
            if layer not in self.specs:
                raise ValueError(f"masks: layer {layer!r} is not one of this MaskedForward's layers {list(self.specs)}")
            mask = torch.as_tensor(mask, dtype=torch.float32)
            if mask.ndim != 2 or mask.shape[1] != self.channels[layer]:
                raise ValueError(f"masks: layer {layer!r} needs masks of shape (M, {self.channels[layer]}), "
                                 f"got {tuple(mask.shape)}")
            sizes.add(mask.shape[0])
            checked[layer] = mask.to(self.inputs.device)
        if len(sizes) != 1:
            raise ValueError(f"masks: every layer needs the same number of masks M, got {sorted(sizes)}")
        return checked, sizes.pop()

    def __call__(self, masks: Mapping[str, Tensor], rows=None) -> Tensor:
        """Outputs under each mask.

        Parameters
        ----------
        masks : mapping of layer name to Tensor, shape (M, C)
            M masks per layer (the same M for all; mask m of every layer is applied together).
            A layer without masks is left as it is.
        rows : array of int, shape (n,), optional
            Evaluate only these inputs (default: all N).

        Returns
        -------
        Tensor, shape (M, n, ...)
            The network's outputs (e.g. logits) under mask m for input i, on the inputs' device.
        """
        masks, n_masks = self._masks(masks)
        rows = torch.arange(len(self.inputs), device=self.inputs.device) if rows is None else \
            torch.as_tensor(np.asarray(rows), dtype=torch.long, device=self.inputs.device)
        n = len(rows)
        if n == 0:
            raise ValueError("rows: give at least one input row")
        per_pass = max(1, self.rows_per_pass // n)
        outputs = []
        with eval_mode(self.model), torch.no_grad():
            for start in range(0, n_masks, per_pass):
                block = {layer: mask[start:start + per_pass] for layer, mask in masks.items()}
                m = next(iter(block.values())).shape[0]
                outputs.append(self._run(block, rows, m).reshape(m, n, *self.original.shape[1:]))
        return torch.cat(outputs)

    def _run(self, block: dict, rows: Tensor, m: int) -> Tensor:
        n = len(rows)
        later = {layer: mask.repeat_interleave(n, dim=0) for layer, mask in block.items()
                 if not (self.cache_prefix and layer == self._cut)}
        with channel_masks(self.model, later, layout=self.layout) if later else contextlib.nullcontext():
            if not self.cache_prefix:
                return self.model(self.inputs[rows].repeat(m, *[1] * (self.inputs.ndim - 1)))
            cached = [value[rows] for value in self._cached]
            repeated = [value.repeat(m, *[1] * (value.ndim - 1)) for value in cached]
            h = cached[self._perturbed_at]
            if self._cut in block:
                axis = channel_axis(h.ndim, self.layout)
                shape = [m, 1] + [1] * (h.ndim - 1)
                shape[axis + 1] = h.shape[axis]
                perturbed = (h.unsqueeze(0) * block[self._cut].to(h.dtype).reshape(shape)).reshape(m * n, *h.shape[1:])
            else:
                perturbed = repeated[self._perturbed_at]
            return self._suffix(*repeated, perturbed)


# --------------------------------------------------------------------------- channel selection


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
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    rng = np.random.default_rng(seed)
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
    from .modes import top_modes

    dictionary, corr = np.asarray(dictionary), np.asarray(corr)
    if dictionary.shape[0] != corr.shape[0]:
        raise ValueError(f"dictionary, corr: {dictionary.shape[0]} modes in the dictionary, {corr.shape[0]} in corr")
    best = top_modes(corr, top)  # (K, top)
    weights = channel_weights(dictionary[best].sum(1), n_channels, combine)
    return rank_channels(weights, seed)


def channel_rankings(channel_corr, seed: int = 0) -> np.ndarray:
    """Each class's channel order by the channels' own class correlation, (C, K) → (K, C), best first."""
    return rank_channels(np.asarray(channel_corr, dtype=np.float64).T, seed)


def top_channels(ranking, pct: float) -> np.ndarray:
    """The first ``int(C · pct / 100)`` channels of a ranking (C,)."""
    ranking = np.asarray(ranking)
    return ranking[: n_selected(ranking.size, pct)]


# --------------------------------------------------------------------------- accuracy


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
    hits = _hits(outputs, labels, top_k)  # (..., N)
    result = []
    for c in np.asarray(classes):
        members = labels == c
        result.append(hits[..., members].mean(-1) if members.any() else np.full(hits.shape[:-1], np.nan))
    return np.stack(result, axis=-1)


def _checked_classes(labels, classes) -> np.ndarray:
    labels = np.asarray(labels)
    classes = np.asarray(classes)
    empty = [int(c) for c in classes if not (labels == c).any()]
    if empty:
        raise ValueError(f"classes: {empty} have no images among the inputs; give inputs of every class you name")
    return classes


def _ratio(perturbed: np.ndarray, original: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(original > 0, perturbed / np.where(original > 0, original, 1), np.nan)


# --------------------------------------------------------------------------- experiments


def control_sweep(forward: MaskedForward, layer: str, labels, classes, rankings: Mapping[str, np.ndarray],
                  pcts: Sequence[float] = PAPER_PCTS, n_trials: int = 20, mode: str = "ablate", top_k: int = 1,
                  random_source: bool = True, seed: int = 0) -> pd.DataFrame:
    """Fig. 6D: accuracy ratios of a target and an off-target class as more of the target's channels are perturbed.

    Each trial draws a target class and a different off-target class (among the classes the
    unperturbed network gets at least one image of right, so that a ratio exists); for each
    source of channels and each pct, the target's top ``pct`` % channels of ``layer`` are ablated
    (or preserved) and both classes' accuracy on their images is divided by the unperturbed one.

    Parameters
    ----------
    forward : MaskedForward
        The network on the images of all ``classes`` (``layer`` among its layers).
    layer : str
    labels : array of int, shape (N,)
        The labels of ``forward``'s inputs.
    classes : array of int, shape (K,)
        The classes the rankings are for, in their row order.
    rankings : mapping of source name to array of int, shape (K, C)
        Each class's channel order, best first (:func:`mode_rankings`, :func:`channel_rankings`).
    pcts : sequence of float
        Percentages of the layer's channels, each in (0, 100].
    n_trials : int
    mode : {"ablate", "preserve"}
    top_k : int
        Top-k accuracy.
    random_source : bool
        Add a source ``"random channels"``: a fresh random channel order in every trial.
    seed : int
        Draws of the trials and of the random orders.

    Returns
    -------
    pandas.DataFrame
        One row per source × trial × pct: ``source, trial, target, off_target, pct, n_channels,
        ratio_target, ratio_off``. ``attrs["excluded_classes"]``: classes never drawn because the
        unperturbed network gets none of their images right.
    """
    _check_mode(mode)
    if layer not in forward.channels:
        raise ValueError(f"layer: {layer!r} is not among the MaskedForward's layers {list(forward.channels)}")
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ValueError(f"n_trials: must be a positive integer, got {n_trials!r}")
    pcts = [_check_pct(p) for p in pcts]
    labels, classes = np.asarray(labels), _checked_classes(labels, classes)
    n_channels = forward.channels[layer]
    for name, ranking in rankings.items():
        ranking = np.asarray(ranking)
        if ranking.shape != (len(classes), n_channels):
            raise ValueError(f"rankings[{name!r}]: needs shape (K={len(classes)}, C={n_channels}) for layer {layer!r}, "
                             f"got {ranking.shape}")
    original = class_accuracy(forward.original, labels, classes, top_k)
    eligible = np.flatnonzero(original > 0)
    if len(eligible) < 2:
        raise ValueError("classes: the unperturbed network gets fewer than two classes' images right; no trial can be drawn")
    # the trials from one stream and the random orders from another, so that one seed draws the same
    # trials at every layer, whatever its channel count
    trial_rng, order_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    pairs = [trial_rng.choice(eligible, size=2, replace=False) for _ in range(n_trials)]
    rows = []
    for trial, (t, o) in enumerate(pairs):
        sources = {name: np.asarray(ranking)[t] for name, ranking in rankings.items()}
        if random_source:
            sources["random channels"] = order_rng.permutation(n_channels)
        masks = torch.stack([channel_mask(n_channels, top_channels(order, p), mode) for order in sources.values() for p in pcts])
        images = np.flatnonzero(np.isin(labels, classes[[t, o]]))
        accuracy = class_accuracy(forward({layer: masks}, rows=images), labels[images], classes[[t, o]], top_k)  # (S·P, 2)
        ratios = _ratio(accuracy, original[[t, o]]).reshape(len(sources), len(pcts), 2)
        for s, name in enumerate(sources):
            for p, pct in enumerate(pcts):
                rows.append({"source": name, "trial": trial, "target": int(classes[t]), "off_target": int(classes[o]),
                             "pct": pct, "n_channels": n_selected(n_channels, pct),
                             "ratio_target": float(ratios[s, p, 0]), "ratio_off": float(ratios[s, p, 1])})
    table = pd.DataFrame(rows)
    table.attrs["excluded_classes"] = [int(c) for c in np.setdiff1d(classes, classes[eligible])]
    return table


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


def curves(sweep: pd.DataFrame) -> pd.DataFrame:
    """Mean accuracy ratios over trials per source and pct (Fig. 6D), NaN ratios left out.

    Returns
    -------
    pandas.DataFrame
        Index (source, pct); columns ``ratio_target``, ``ratio_off``, ``n_channels``, ``trials``.
    """
    grouped = sweep.groupby(["source", "pct"], sort=False)
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


def class_control(forward: MaskedForward, weights: Mapping[str, np.ndarray], labels, classes, pct: float,
                  mode: str = "ablate", top_k: int = 1, seed: int = 0) -> np.ndarray:
    """Fig. 6C: for each class, perturb its top ``pct`` % channels at some layers together; every class's ratio.

    Parameters
    ----------
    forward : MaskedForward
        On images of all ``classes``.
    weights : mapping of layer name to array, shape (K, C)
        Each class's channel weights at each perturbed layer (e.g. :func:`channel_weights` of
        the sum of its top 2 modes' dictionary rows).
    labels : array of int, shape (N,)
    classes : array of int, shape (K,)
    pct : float
    mode : {"ablate", "preserve"}
    top_k : int
    seed : int
        Tie-breaking of equal weights.

    Returns
    -------
    numpy.ndarray, shape (K, K)
        ``[t, c]``: accuracy of class c with class t's channels perturbed, over its unperturbed
        accuracy (NaN where that is 0).
    """
    _check_mode(mode)
    labels, classes = np.asarray(labels), _checked_classes(labels, classes)
    masks = {}
    for layer, layer_weights in weights.items():
        if layer not in forward.channels:
            raise ValueError(f"weights: layer {layer!r} is not among the MaskedForward's layers {list(forward.channels)}")
        layer_weights = np.asarray(layer_weights)
        if layer_weights.shape != (len(classes), forward.channels[layer]):
            raise ValueError(f"weights[{layer!r}]: needs shape (K={len(classes)}, C={forward.channels[layer]}), "
                             f"got {layer_weights.shape}")
        masks[layer] = torch.stack([channel_mask(forward.channels[layer], top_channels(order, pct), mode)
                                    for order in rank_channels(layer_weights, seed)])
    original = class_accuracy(forward.original, labels, classes, top_k)
    return _ratio(class_accuracy(forward(masks), labels, classes, top_k), original[None, :])


def class_control_across(forward: MaskedForward, weights: Mapping[str, np.ndarray], labels, classes, pcts: Sequence[float],
                         mode: str = "ablate", top_k: int = 1, seed: int = 0) -> pd.DataFrame:
    """:func:`class_control` at several pcts: how the target's and the other classes' ratios move with pct.

    Returns
    -------
    pandas.DataFrame
        One row per pct and target class: ``pct``, ``target`` (the class), ``ratio_target``,
        ``ratio_others`` (the mean over the other classes).
    """
    rows = []
    for pct in pcts:
        target, others = target_and_others(class_control(forward, weights, labels, classes, pct, mode, top_k, seed))
        rows += [{"pct": float(pct), "target": int(c), "ratio_target": t, "ratio_others": o} for c, t, o in zip(classes, target, others)]
    return pd.DataFrame(rows)


def group_control(forward: MaskedForward, weights: Mapping[str, np.ndarray], labels, members, pcts: Sequence[float],
                  mode: str = "ablate", top_k: int = 5, seed: int = 0) -> pd.DataFrame:
    """Fig. S10: perturb a superclass's top channels at several layers at once; its accuracy and the others'.

    Parameters
    ----------
    forward : MaskedForward
    weights : mapping of layer name to array, shape (C,)
        The superclass's channel weights per layer (the sum of the dictionary rows of the modes
        correlated with its indicator, :func:`codec.modes.class_dictionary`).
    labels : array of int, shape (N,)
    members : sequence of int
        The superclass's classes; every other label is "others".
    pcts : sequence of float
    mode : {"ablate", "preserve"}
    top_k : int
        The paper's S10 uses top-5 accuracy.
    seed : int

    Returns
    -------
    pandas.DataFrame
        One row per pct: ``pct``, ``n_channels`` (per layer, a dict), ``group_before``,
        ``group_after``, ``others_before``, ``others_after`` (pooled top-k accuracies over the images).
    """
    _check_mode(mode)
    labels = np.asarray(labels)
    inside = np.isin(labels, np.asarray(members))
    if not inside.any() or inside.all():
        raise ValueError("members: the inputs need images of the superclass and images of other classes")
    pcts = [_check_pct(p) for p in pcts]
    masks = {}
    for layer, layer_weights in weights.items():
        if layer not in forward.channels:
            raise ValueError(f"weights: layer {layer!r} is not among the MaskedForward's layers {list(forward.channels)}")
        layer_weights = np.asarray(layer_weights, dtype=np.float64)
        if layer_weights.shape != (forward.channels[layer],):
            raise ValueError(f"weights[{layer!r}]: needs shape (C={forward.channels[layer]},), got {layer_weights.shape}")
        order = rank_channels(layer_weights[None], seed)[0]
        masks[layer] = torch.stack([channel_mask(order.size, top_channels(order, p), mode) for p in pcts])
    hits_before = _hits(forward.original, labels, top_k)
    hits_after = _hits(forward(masks), labels, top_k)  # (P, N)
    return pd.DataFrame({
        "pct": pcts,
        "n_channels": [{layer: n_selected(forward.channels[layer], p) for layer in masks} for p in pcts],
        "group_before": float(hits_before[inside].mean()), "group_after": hits_after[:, inside].mean(1),
        "others_before": float(hits_before[~inside].mean()), "others_after": hits_after[:, ~inside].mean(1),
    })


# --------------------------------------------------------------------------- from SAE fits to experiments


#: The sources of channels a sweep compares: each class's top contribution mode, its top activation
#: mode, and single channels ranked by their own class correlation (a random order is added by
#: :func:`control_sweep`). The paper compares the first two.
SOURCES = ("contribution modes", "activation modes", "single channels")


def images_per_class(labels, classes, n: int) -> np.ndarray:
    """The first ``n`` rows of each class, in class order then row order: int array (K·n,).

    Raises
    ------
    ValueError
        If a class has fewer than ``n`` rows (name fewer classes, or ask for fewer images).
    """
    labels = np.asarray(labels)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n: images per class must be a positive integer, got {n!r}")
    rows = []
    for c in np.asarray(classes):
        members = np.flatnonzero(labels == c)
        if len(members) < n:
            raise ValueError(f"n: class {int(c)} has {len(members)} images, fewer than the {n} asked for")
        rows.append(members[:n])
    return np.concatenate(rows)


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
    from .modes import correlation

    rankings = {}
    for source, kind in (("contribution modes", "contributions"), ("activation modes", "activations")):
        fit = fits[layer, kind]
        rankings[source] = mode_rankings(fit.dictionary, correlation(fit.codes, indicator), n_channels, top, combine, seed)
    features = fits[layer, "contributions"].features
    if features.shape[1] not in (n_channels, 2 * n_channels):
        raise ValueError(f"fits: the SAE of {layer!r} reads {features.shape[1]} features; the layer has {n_channels} channels")
    rankings["single channels"] = channel_rankings(correlation(features[:, :n_channels], indicator), seed)  # positive parts
    return rankings


def depth_sweep(model: nn.Module, inputs: Tensor, labels, classes, fits: Mapping, indicator, layers: Sequence[str],
                pcts: Sequence[float] = PAPER_PCTS, n_trials: int = 20, modes: Sequence[str] = MODES, top_k: int = 1,
                combine: str = "sum", seed: int = 0, rows_per_pass: int = 64, progress: bool = False,
                cache=None) -> pd.DataFrame:
    """Fig. 6D-E at every layer: :func:`control_sweep` of each source, for ablation and preservation.

    Parameters
    ----------
    model : nn.Module
    inputs : Tensor, shape (N, ...)
        The images of the trials (e.g. :func:`images_per_class` of the store's rows).
    labels : array of int, shape (N,)
    classes : array of int, shape (K,)
        The classes of ``indicator``'s columns.
    fits : mapping of (layer, kind) to codec.sae.LayerFit
    indicator : array, shape (N_sae, K)
        Class indicators of the SAEs' rows.
    layers : sequence of str
    pcts, n_trials, top_k, combine, seed
        As :func:`control_sweep` and :func:`source_rankings`; the trials are the same at every
        layer and for both modes (one seed).
    modes : sequence of {"ablate", "preserve"}
    rows_per_pass : int
        :class:`MaskedForward`.
    progress : bool
        Show a progress bar over layers.
    cache : path, optional
        A folder where the result is saved as ``control-sweep-<key>.csv`` and read back by a call
        with the same model weights, images, labels, SAE dictionaries and arguments (the key
        hashes them all).

    Returns
    -------
    pandas.DataFrame
        :func:`control_sweep`'s rows with ``layer`` and ``mode`` columns.
    """
    from tqdm.auto import tqdm

    for mode in modes:
        _check_mode(mode)
    path = None
    if cache is not None:
        key = _sweep_key(model, inputs, labels, classes, fits, indicator, layers, pcts, n_trials, modes, top_k, combine, seed)
        path = Path(cache) / f"control-sweep-{key}.csv"
        if path.is_file():
            return pd.read_csv(path)
    tables = []
    for layer in tqdm(list(layers), desc="control sweep", disable=not progress):
        forward = MaskedForward(model, inputs, [layer], rows_per_pass=rows_per_pass)
        rankings = source_rankings(fits, layer, indicator, forward.channels[layer], combine=combine, seed=seed)
        for mode in modes:
            table = control_sweep(forward, layer, labels, classes, rankings, pcts, n_trials, mode, top_k, seed=seed)
            tables.append(table.assign(layer=layer, mode=mode))
    result = pd.concat(tables, ignore_index=True)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".partial")
        result.to_csv(temporary, index=False)
        temporary.replace(path)
    return result


def _sweep_key(model, inputs, labels, classes, fits, indicator, layers, pcts, n_trials, modes, top_k, combine, seed) -> str:
    """What a depth sweep's result depends on, hashed (SHA-256, 16 hex digits)."""
    from .store import weights_identity

    digest = hashlib.sha256()
    digest.update(weights_identity(model).encode())
    for array in (inputs.detach().cpu().numpy(), np.asarray(labels), np.asarray(classes), np.asarray(indicator)):
        digest.update(np.ascontiguousarray(array).tobytes())
    for layer in layers:
        for kind in ("contributions", "activations"):
            digest.update(np.ascontiguousarray(fits[layer, kind].dictionary).tobytes())
            digest.update(np.ascontiguousarray(fits[layer, kind].codes).tobytes())
    digest.update(json.dumps([list(layers), [float(p) for p in pcts], n_trials, list(modes), top_k, combine, seed, 2]).encode())
    return digest.hexdigest()[:16]


def score_table(sweep: pd.DataFrame) -> pd.DataFrame:
    """Performance scores (Fig. 6E) of a :func:`depth_sweep`: index (mode, layer) in sweep order, one column per source."""
    rows = {}
    for (mode, layer), part in sweep.groupby(["mode", "layer"], sort=False):
        rows[mode, layer] = scores(part)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index, names=["mode", "layer"])
    return table


def class_weights(fit, indicator, n_channels: int, top: int = 2, combine: str = "sum") -> np.ndarray:
    """Each class's channel weights from its ``top`` most correlated modes (summed dictionary rows): (K, C)."""
    from .modes import correlation, top_modes

    best = top_modes(correlation(fit.codes, indicator), top)
    return channel_weights(fit.dictionary[best].sum(1), n_channels, combine)


def group_weights(fit, group_indicator, n_channels: int, combine: str = "sum") -> np.ndarray:
    """Each superclass's channel weights: the sum of the dictionary rows of the modes correlated with it
    above 0.2, else its top mode (:func:`codec.modes.class_dictionary`, the authors' rule): (G, C)."""
    from .modes import class_dictionary, correlation

    return channel_weights(class_dictionary(fit.dictionary, correlation(fit.codes, group_indicator)), n_channels, combine)


def target_and_others(ratios) -> tuple[np.ndarray, np.ndarray]:
    """From :func:`class_control`'s (K, K) ratios: the target's own ratio (K,) and its mean over the other classes (K,)."""
    ratios = np.asarray(ratios, dtype=np.float64)
    if ratios.ndim != 2 or ratios.shape[0] != ratios.shape[1] or len(ratios) < 2:
        raise ValueError(f"ratios: need a square (K, K) matrix with K >= 2, got shape {ratios.shape}")
    others = np.where(np.eye(len(ratios), dtype=bool), np.nan, ratios)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.diag(ratios).copy(), np.nanmean(others, axis=1)


def evenly_spaced(layers: Sequence[str], count: int | None) -> list:
    """``count`` of ``layers``, evenly spaced by position (first and last included when ``count`` ≥ 2;
    positions rounded half to even, as numpy rounds); None, or a count of at least ``len(layers)``: all."""
    layers = list(layers)
    if count is None or (isinstance(count, int) and not isinstance(count, bool) and count >= len(layers)):
        return layers
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count: must be a positive integer or None, got {count!r}")
    return [layers[i] for i in np.unique(np.round(np.linspace(0, len(layers) - 1, count)).astype(int))]


def superclass_groups(dataset, classes, synsets: Sequence[str] = ("dog.n.01",)) -> dict:
    """The superclasses of a control experiment: the dataset's own (planted shapes: each shape, each
    texture), else the WordNet synsets among ``classes`` (ImageNet labels), named by their first word.

    Returns
    -------
    dict of str to list of int
        Only groups with at least one of ``classes`` and not all of them.
    """
    from .classes import superclass_members

    classes = np.asarray(classes)
    own = getattr(dataset, "superclasses", lambda: {})()
    groups = own or {synset.split(".")[0]: superclass_members(synset).tolist() for synset in synsets}
    kept = {}
    for name, members in groups.items():
        inside = [int(c) for c in classes if c in set(members)]
        if 0 < len(inside) < len(classes):
            kept[name] = inside
    return kept


def _hits(outputs: Tensor, labels, top_k: int) -> np.ndarray:
    """Whether each input's label is among its top-k outputs: (..., N) float."""
    if outputs.shape[-2] != len(labels):
        raise ValueError(f"labels: {len(labels)} labels for outputs of {outputs.shape[-2]} inputs")
    labels = torch.as_tensor(np.asarray(labels), device=outputs.device)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= outputs.shape[-1]:
        raise ValueError(f"top_k: must be in [1, {outputs.shape[-1]}], got {top_k!r}")
    return (outputs.topk(top_k, dim=-1).indices == labels[:, None]).any(-1).float().cpu().numpy()


__all__ = [
    "PAPER_PCTS", "MODES", "COMBINE", "PrefixCacheError", "MaskedForward", "ablate", "preserve", "channel_mask",
    "n_selected", "channel_weights", "rank_channels", "mode_rankings", "channel_rankings", "top_channels",
    "class_accuracy", "control_sweep", "auc", "performance_score", "curves", "scores", "class_control", "class_control_across",
    "group_control",
    "SOURCES", "images_per_class", "target_and_others", "evenly_spaced", "superclass_groups",
    "source_rankings", "depth_sweep", "score_table", "class_weights", "group_weights",
]
