"""Capture hidden-layer tensors at named modules, as context managers.

Layers are named by ``model.named_modules()`` names. A name may end in ``":input"`` to
take the module's first positional *input* instead of its output (for example the
attention output before a ViT's output projection, ``"blocks.0.attn.proj:input"``).

The capture is careful about three things that silently corrupt attributions:

* a module that runs more than once in one forward pass (torchvision's ResNets reuse one
  ``ReLU`` module several times per block) is refused with an error;
* a captured tensor that a later in-place operation modifies (``out += identity``) is
  detected through its version counter, and the forward pass is re-run with that layer
  cloned, so the captured values and gradients are those of the layer itself;
* the model's own training flags and ``requires_grad`` flags are restored on exit.
"""

from __future__ import annotations

import contextlib
import difflib
from dataclasses import dataclass
from typing import Iterator, Mapping, Sequence

import torch
from torch import Tensor, nn

from .checks import ArgumentTypeError, check_module

INPUT_SUFFIX = ":input"


@dataclass(frozen=True)
class LayerSpec:
    """A resolved analysis layer.

    Attributes
    ----------
    name : str
        The name as given by the user (``named_modules()`` name, optionally with ``":input"``).
    module : nn.Module
        The module that is hooked.
    capture_input : bool
        True to capture the module's first positional input, False for its output.
    """

    name: str
    module: nn.Module
    capture_input: bool


def resolve_layers(model: nn.Module, layers: str | Sequence[str]) -> list[LayerSpec]:
    """Resolve layer names to modules, with helpful errors.

    Parameters
    ----------
    model : nn.Module
        The network.
    layers : str or sequence of str
        ``named_modules()`` names, each optionally suffixed with ``":input"``.

    Returns
    -------
    list of LayerSpec
        In the order given.

    Raises
    ------
    ValueError
        If ``layers`` is empty, repeats a name, or names a module that does not exist (the
        message lists the closest existing names).
    """
    check_module("model", model)
    if isinstance(layers, str):
        layers = [layers]
    layers = list(layers)
    if not layers:
        raise ValueError("layers: give at least one module name from model.named_modules()")
    if len(set(layers)) != len(layers):
        repeated = sorted({n for n in layers if layers.count(n) > 1})
        raise ValueError(f"layers: each layer may appear once; repeated: {repeated}")
    modules = dict(model.named_modules())
    specs = []
    for name in layers:
        if not isinstance(name, str):
            raise TypeError(f"layers: names must be strings, got {type(name).__name__} ({name!r})")
        capture_input = name.endswith(INPUT_SUFFIX)
        module_name = name[: -len(INPUT_SUFFIX)] if capture_input else name
        if module_name not in modules or module_name == "":
            candidates = [n for n in modules if n]
            close = difflib.get_close_matches(module_name, candidates, n=5, cutoff=0.5)
            hint = f" Did you mean one of {close}?" if close else ""
            raise ValueError(
                f"layers: {module_name!r} is not a module of this model.{hint} "
                f"Names come from model.named_modules() ({len(candidates)} modules)."
            )
        specs.append(LayerSpec(name, modules[module_name], capture_input))
    return specs


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put every submodule in eval mode and restore each one's flag on exit."""
    check_module("model", model)
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, flag in flags:
            m.training = flag


@contextlib.contextmanager
def frozen_parameters(model: nn.Module) -> Iterator[nn.Module]:
    """Turn off ``requires_grad`` of all parameters (no parameter gradients) and restore it."""
    check_module("model", model)
    flags = [(p, p.requires_grad) for p in model.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield model
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


class CaptureError(RuntimeError, ValueError):
    """A layer cannot be captured as asked (reused module, non-tensor value, not run): the ``layers``
    the user gave do not fit the model, so a ValueError too."""


class LayerCapture:
    """Record the tensors of several layers during one forward pass.

    Use as a context manager; then :meth:`forward` runs the model and returns its output
    and a dict ``{layer name: tensor (N, ...)}``.

    In a forward pass with gradients enabled, a captured tensor that does not yet require
    gradients (because nothing upstream does) is made a leaf that requires them, so that
    ``torch.autograd.grad(y, captured)`` works without computing any parameter gradient.

    Parameters
    ----------
    specs : list of LayerSpec
        The layers to capture.
    input_shape : tuple, optional
        Shape of the user's ``inputs``, quoted in error messages.
    """

    def __init__(self, specs: Sequence[LayerSpec], input_shape: tuple | None = None):
        if isinstance(specs, LayerSpec) or not all(isinstance(spec, LayerSpec) for spec in specs):
            raise ArgumentTypeError("specs: must be a list of LayerSpec (codec.hooks.resolve_layers(model, layers))")
        self.specs = list(specs)
        self.input_shape = input_shape
        self._handles: list = []
        self._records: dict[str, tuple[Tensor, int]] = {}
        self._clone: set[str] = set()
        self._replace: Mapping[str, Tensor] = {}
        self._active = False
        self._first = True

    def __enter__(self) -> "LayerCapture":
        for spec in self.specs:
            if spec.capture_input:
                handle = spec.module.register_forward_pre_hook(self._pre_hook(spec.name))
            else:
                handle = spec.module.register_forward_hook(self._post_hook(spec.name))
            self._handles.append(handle)
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _take(self, name: str, tensor) -> Tensor | None:
        """Record ``tensor`` for layer ``name``; return a replacement for it, or None."""
        if not self._active:
            return None
        if not isinstance(tensor, Tensor):
            raise CaptureError(
                f"layers: {name!r} produced a {type(tensor).__name__}, not a tensor; choose a "
                "module whose output (or ':input') is a single tensor"
            )
        if name in self._records:
            raise CaptureError(
                f"layers: module {name!r} ran more than once in one forward pass (the module is "
                "reused, like torchvision's shared ReLU in ResNet blocks); choose a module that "
                "runs once, e.g. the enclosing block or a conv/bn module"
            )
        replaced = None
        if name in self._replace:
            new = self._replace[name]
            if new.shape != tensor.shape:
                raise ValueError(
                    f"replacement for layer {name!r} has shape {tuple(new.shape)}, "
                    f"the layer gives {tuple(tensor.shape)}"
                )
            tensor = new
            replaced = new.clone()
        elif torch.is_grad_enabled() and not tensor.requires_grad:
            tensor = tensor.detach().requires_grad_(True)
            replaced = tensor.clone()
        elif name in self._clone:
            replaced = tensor.clone()
        self._records[name] = (tensor, tensor._version)
        return replaced

    def _post_hook(self, name: str):
        def hook(module, args, output):
            return self._take(name, output)

        return hook

    def _pre_hook(self, name: str):
        def hook(module, args):
            if not args:
                raise CaptureError(
                    f"layers: {name!r} asks for the module's input, but it was called without "
                    "positional arguments"
                )
            new = self._take(name, args[0])
            return None if new is None else (new, *args[1:])

        return hook

    def forward(
        self,
        model: nn.Module,
        inputs: Tensor,
        replace: Mapping[str, Tensor] | None = None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Run ``model(inputs)`` and return ``(output, {layer: tensor})``.

        Parameters
        ----------
        model : nn.Module
            The network (its hooks were registered on entering the context).
        inputs : Tensor, shape (N, ...)
            A batch of inputs.
        replace : mapping of layer name to Tensor, optional
            Tensors that replace those layers' values in this pass (for layer-space paths).

        Returns
        -------
        output : Tensor, shape (N, ...)
        captured : dict of str to Tensor, each shape (N, ...)
        """
        self._replace = replace or {}
        for _attempt in range(len(self.specs) + 1):
            self._records = {}
            self._active = True
            try:
                output = model(inputs)
            except (CaptureError, torch.OutOfMemoryError, NotImplementedError):
                raise
            except Exception as error:
                if not self._first:
                    raise
                shape = self.input_shape or tuple(inputs.shape)
                raise ValueError(
                    f"inputs: the model's forward pass failed on inputs of shape {shape} "
                    f"({type(error).__name__}: {error}). inputs need a "
                    "leading batch dimension (B, ...) and the shape the model expects; add a "
                    "batch dimension with inputs.unsqueeze(0)"
                ) from error
            finally:
                self._active = False
            modified = [
                name
                for name, (tensor, version) in self._records.items()
                if tensor._version != version and name not in self._clone
            ]
            if not modified:
                break
            self._clone.update(modified)
        else:  # pragma: no cover - each retry clones at least one more layer
            raise CaptureError("could not protect captured layers from in-place modification")
        missing = [s.name for s in self.specs if s.name not in self._records]
        if missing:
            fused = [s.name for s in self.specs if s.name in missing and type(s.module).__name__ == "NonDynamicallyQuantizableLinear"]
            hint = (f" {fused} are the output projections of torch.nn.MultiheadAttention, which applies them inside "
                    "its fused function (F.multi_head_attention_forward), never as modules, on its fast and its slow "
                    "path alike, so no option turns this off and the heads before the projection have no hook point: "
                    "use a ViT whose attention calls its projection as a module (timm's VisionTransformer: "
                    "'blocks.<i>.attn.proj:input'), or analyse the attention's output instead") if fused else ""
            raise CaptureError(
                f"layers: {missing} did not run in the model's forward pass; choose modules "
                f"that the forward pass calls.{hint}"
            )
        n = inputs.shape[0]
        if not isinstance(output, Tensor):
            raise TypeError(
                f"model: the output is a {type(output).__name__}; codec needs a tensor (N, ...). "
                "Wrap the model so that it returns one tensor."
            )
        if output.ndim == 0 or output.shape[0] != n:
            raise ValueError(
                f"inputs: the model mapped a batch of {n} rows {tuple(inputs.shape)} to an output "
                f"of shape {tuple(output.shape)}; codec needs one output row per input row, with "
                "the batch as the first dimension of inputs and outputs"
            )
        captured = {}
        for spec in self.specs:
            tensor = self._records[spec.name][0]
            if tensor.ndim == 0 or tensor.shape[0] != n:
                raise ValueError(
                    f"layers: {spec.name!r} has shape {tuple(tensor.shape)} for a batch of {n}; "
                    "codec needs layers whose first dimension is the batch (batch_first)"
                )
            captured[spec.name] = tensor
        self._records = {}
        self._first = False
        return output, captured


@contextlib.contextmanager
def channel_masks(
    model: nn.Module,
    masks: Mapping[str, Tensor],
    layout: str = "auto",
) -> Iterator[nn.Module]:
    """Multiply the channels of named layers by masks during every forward pass in the block.

    The hooks are removed on exit, also when the block raises. A mask of 0 at a channel
    *ablates* it (its whole map, at every position, is zero for what follows the layer); a mask
    that is 0 everywhere but at some channels *preserves* those.

    Parameters
    ----------
    model : nn.Module
    masks : mapping of layer name to Tensor, shape (C,) or (B, C), or to a callable
        Per layer (``named_modules()`` names, optionally ``":input"``, as :func:`resolve_layers`),
        one mask for every row of the batch, or one per row (B must then be the batch size).
        A callable is given the layer's channel count C at the forward pass and returns the
        mask (how :func:`codec.control.ablate` turns channel indices into a mask).
    layout : {"auto", "channels_first", "channels_last"}
        Where the channel axis is (:mod:`codec.reduce`).

    Yields
    ------
    nn.Module
        The model, with the hooks in place.

    Raises
    ------
    ValueError
        For an unknown layer, or (at the forward pass) a mask whose channel count or batch size
        does not match the layer's tensor.
    """
    from .reduce import channel_axis, check_layout

    check_layout(layout)
    if not isinstance(masks, Mapping) or not masks:
        raise ArgumentTypeError(f"masks: must be a non-empty mapping of layer name to mask (C,) or (B, C), got {type(masks).__name__}")
    specs = resolve_layers(model, list(masks))
    handles = []

    def apply(name: str, tensor):
        if not isinstance(tensor, Tensor):
            raise CaptureError(f"masks: layer {name!r} produced a {type(tensor).__name__}, not a tensor")
        axis = channel_axis(tensor.ndim, layout)
        n_channels = tensor.shape[axis]
        mask = masks[name]
        if callable(mask):
            mask = mask(n_channels)
        if not isinstance(mask, Tensor):
            raise ArgumentTypeError(f"masks: the mask of layer {name!r} must be a tensor (C,) or (batch, C), got {type(mask).__name__}")
        if mask.ndim == 0 or mask.shape[-1] != n_channels or mask.ndim not in (1, 2):
            raise ValueError(f"masks: the mask of layer {name!r} has shape {tuple(mask.shape)}; the layer has "
                             f"{n_channels} channels (give (C,) or (batch, C) with C = {n_channels})")
        if mask.ndim == 2 and mask.shape[0] != tensor.shape[0]:
            raise ValueError(f"masks: the mask of layer {name!r} has {mask.shape[0]} rows for a batch of "
                             f"{tensor.shape[0]}; give one row per batch row, or a (C,) mask for all")
        shape = [1] * tensor.ndim
        shape[axis] = n_channels
        if mask.ndim == 2:
            shape[0] = tensor.shape[0]
        return tensor * mask.to(device=tensor.device, dtype=tensor.dtype).reshape(shape)

    try:
        for spec in specs:
            if spec.capture_input:
                def pre_hook(module, args, name=spec.name):
                    return (apply(name, args[0]), *args[1:])

                handles.append(spec.module.register_forward_pre_hook(pre_hook))
            else:
                def post_hook(module, args, output, name=spec.name):
                    return apply(name, output)

                handles.append(spec.module.register_forward_hook(post_hook))
        yield model
    finally:
        for handle in handles:
            handle.remove()
