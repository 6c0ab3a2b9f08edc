"""A network's outputs on fixed images under many channel masks: :class:`MaskedForward`.

The part of the network before the first perturbed layer does not depend on the mask: it runs
once (the network is split there with ``torch.fx``), its result is kept, and only the rest of the
network runs per mask, many masks per pass (``cache_prefix=False`` runs the whole network per
mask, as the authors did).
"""

from __future__ import annotations

import contextlib
from typing import Mapping, Sequence

import numpy as np
import torch
import torch.fx as fx
from torch import Tensor, nn

from ..hooks import LayerCapture, channel_masks, eval_mode, resolve_layers
from ..reduce import channel_axis, check_layout


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


def _in_chunks(function, inputs: Tensor, rows: int) -> tuple:
    """``function`` of ``inputs`` (N, ...) run ``rows`` at a time, its outputs (a tensor or a tuple of
    values) put back together along the first axis, as a tuple: the peak memory of one chunk's pass,
    not of all N at once (a thousand 224-px images through an EfficientNet's first blocks hold
    gigabytes of activations). A value that is not a batch of the chunk's rows is returned as the
    first chunk gave it, for the caller to refuse."""
    parts = []
    for start in range(0, len(inputs), rows):
        out = function(inputs[start:start + rows])
        parts.append(out if isinstance(out, tuple) else (out,))
    if len(parts) == 1:
        return parts[0]
    joined = []
    for values in zip(*parts):
        batched = all(isinstance(v, Tensor) and v.ndim > 0 and v.shape[0] == min(rows, len(inputs) - i * rows)
                      for i, v in enumerate(values))
        joined.append(torch.cat(values) if batched else values[0])
    return tuple(joined)


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
        at a time, and the unperturbed pass and the cached prefix run ``rows_per_pass`` images at a
        time (which bounds the memory of a set-up on many images).
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
            self.original = _in_chunks(model, inputs, rows_per_pass)[0]
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
                self._cached = _in_chunks(self._prefix, inputs, rows_per_pass)
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
