"""What a mode sees: exact input-space maps of the contributions of channels and modes.

The paper's §6 (Fig. 7) and Supplement 10.7. For an image :math:`x`, a baseline :math:`x'`, a
layer :math:`h`, a scalar target :math:`y` and a *selection* of the layer's channels with
weights :math:`w_k` (a mode's top channels, weight 1 each by default), the **sensitivity** is
the part of the input gradient that passes through the selected channels,

.. math:: A = \\sum_{k} \\sum_p w_k \\,\frac{\\partial y}{\\partial h_{k,p}}\\, \frac{\\partial h_{k,p}}{\\partial x},

and the **contribution map** is :math:`C = A \\odot (x - x')` (InputGrad, the authors' backbone).
Summed over pixels, :math:`C` is :math:`\\sum_{k,p} w_k\\, c_{k,p}` with the hidden InputGrad
contributions :math:`c_{k,p} = (\\partial y/\\partial h_{k,p})\\,\\langle \\partial h_{k,p}/\\partial x, x - x'\rangle`
(completeness). The map splits exactly into the parts carried by units with positive and with
negative contribution: :math:`C = C^+ + C^-` with :math:`C^\\pm` the maps of the cotangents
restricted to :math:`c_{k,p} > 0` and :math:`c_{k,p} \\le 0`.

``method="ig"`` is the Integrated-Gradients version of Supplement 10.7: the same along the
straight input path :math:`x_\alpha = x' + \alpha(x - x')` with the integration rule's points and
weights, :math:`C = (x - x') \\odot \\sum_\alpha \\omega_\alpha A(x_\alpha)`; its pixel sum is the
selected channels' hidden IG contributions in derivative form,
:math:`\\sum_\alpha \\omega_\alpha\\, (\\partial y/\\partial h)(x_\alpha) \\cdot J_h(x_\alpha)(x - x')`,
which :func:`codec.contributions` (``method="ig"``, finite differences of :math:`h` along the path)
approaches as ``steps`` grows.

How it is computed, without per-unit Jacobians. The authors' code runs one backward pass per
selected channel *and* position (20 channels at 14×14 are 3,920 passes per image). Here,
``∂y/∂h`` is fixed for the image, so :math:`A` is one vector–Jacobian product of :math:`h` with
the cotangent ``(∂y/∂h) ⊙ w`` (restricted to the selection); the unit contributions
:math:`\\langle \\partial h_{k,p}/\\partial x, x - x'\rangle` of all units are one Jacobian–vector
product (forward-mode AD). All selections and both signs of one batch of images go through one
batched VJP (``is_grads_batched``), so a batch costs one forward-mode pass, one forward pass and a
handful of backward passes at each path point, whatever the number of channels and positions.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.autograd.forward_ad as fwAD
from torch import Tensor, nn

from ..attribution import INTEGRATION_RULES, RULES, baseline_for, check_model_and_inputs
from ..checks import ArgumentTypeError, check_int
from ..hooks import LayerCapture, eval_mode, frozen_parameters, resolve_layers
from ..reduce import channel_axis, check_layout
from ..targets import as_target

#: How the maps are integrated: InputGrad at the input (the authors' backbone) or IG along the input path.
MAP_METHODS = ("inputgrad", "ig")
#: Channels per mode of the authors' Fig. 7 maps (their released code).
PAPER_CHANNELS_PER_MODE = 3


@dataclass
class InputMaps:
    """Result of :func:`input_maps`.

    Attributes
    ----------
    positive, negative : Tensor, shape (B, M, *input)
        The maps carried by the selected units with positive contribution (``c > 0``) and with
        the rest (``c <= 0``), for each of B images and M selections.
    unit_totals : Tensor, shape (B, M, 2)
        The weighted sums of the selected units' hidden contributions, positive units
        ``[..., 0]`` and the rest ``[..., 1]``: what each map sums to over its pixels.
    target_at_input : Tensor, shape (B,)
        ``y(x)``.
    target_classes : Tensor of int64, shape (B, k), or None
        The classes the target used, chosen at the input.
    layer, method, steps, rule
        The settings that produced the maps.
    """

    positive: Tensor
    negative: Tensor
    unit_totals: Tensor
    target_at_input: Tensor
    target_classes: Tensor | None
    layer: str
    method: str
    steps: int
    rule: str | None

    @property
    def maps(self) -> Tensor:
        """The whole contribution maps, ``positive + negative``: (B, M, *input)."""
        return self.positive + self.negative

    def pixel_sums(self) -> Tensor:
        """Each map summed over its pixels (and colour channels), positive and rest: (B, M, 2)."""
        return torch.stack([self.positive.flatten(2).sum(2), self.negative.flatten(2).sum(2)], dim=-1)

    def completeness_error(self) -> Tensor:
        """``|pixel sum − unit total|`` of the whole maps, relative to the largest unit total of the image: (B, M)."""
        error = (self.pixel_sums().sum(-1) - self.unit_totals.sum(-1)).abs()
        scale = self.unit_totals.abs().sum(-1).amax(1, keepdim=True).clamp_min(torch.finfo(error.dtype).tiny)
        return error / scale


def channel_selection(channels: Sequence[Sequence[int]], n_channels: int, weights: Sequence[Sequence[float]] | None = None) -> Tensor:
    """Selections given as channel indices, as the (M, C) weight matrix :func:`input_maps` takes.

    Parameters
    ----------
    channels : sequence of M sequences of int
        The channels of each selection (each non-empty, no repeats, in ``[0, C)``).
    n_channels : int
        C, the layer's channel count.
    weights : sequence of M sequences of float, optional
        A weight per listed channel; 1 by default.

    Returns
    -------
    Tensor, shape (M, C), float32
    """
    check_int("n_channels", n_channels, 1)
    if isinstance(channels, (str, bytes)) or not len(channels):
        raise ValueError("channels: give at least one selection, a non-empty list of channel indices")
    rows = torch.zeros(len(channels), n_channels)
    for m, chosen in enumerate(channels):
        chosen = np.asarray(chosen)
        if chosen.ndim != 1 or chosen.size == 0:
            raise ValueError(f"channels: selection {m} is empty or not a flat list of channel indices ({chosen.tolist()!r})")
        if not np.issubdtype(chosen.dtype, np.integer):
            raise TypeError(f"channels: selection {m} holds {chosen.dtype} values; give integer channel indices")
        if chosen.min() < 0 or chosen.max() >= n_channels:
            raise ValueError(f"channels: selection {m} has channel {int(chosen.max() if chosen.max() >= n_channels else chosen.min())} "
                             f"outside [0, {n_channels}) (the layer has {n_channels} channels)")
        if np.unique(chosen).size != chosen.size:
            raise ValueError(f"channels: selection {m} repeats a channel ({chosen.tolist()})")
        values = torch.ones(chosen.size) if weights is None else torch.as_tensor(np.asarray(weights[m], dtype=np.float32))
        if values.shape != (chosen.size,):
            raise ValueError(f"weights: selection {m} has {chosen.size} channels and {tuple(values.shape)} weights")
        rows[m, torch.as_tensor(chosen)] = values
    return rows


def mode_selection(dictionary, modes: Sequence[int], n_channels: int, top: int = PAPER_CHANNELS_PER_MODE,
                   weighted: bool = False, combine: str = "sum") -> Tensor:
    """The top channels of some modes of an SAE, as the (M, C) weight matrix :func:`input_maps` takes.

    Parameters
    ----------
    dictionary : array, shape (K, F)
        The SAE's dictionary (modes × features; F = C or 2C, :func:`codec.control.channel_weights`).
    modes : sequence of M int
        Which modes (rows of the dictionary).
    n_channels : int
        C, the layer's channel count.
    top : int
        Channels kept per mode, by dictionary weight (ties by index); the authors' Fig. 7: 3.
    weighted : bool
        False (the authors' released setting): weight 1 for each kept channel; True: the
        channel's dictionary weight divided by the mode's largest.
    combine : {"sum", "positive"}
        How a channel's weight is formed from an SAE that read both signs (:func:`codec.control.channel_weights`).

    Returns
    -------
    Tensor, shape (M, C), float32
    """
    from ..control import channel_weights

    dictionary = np.asarray(dictionary)
    if dictionary.ndim != 2:
        raise ValueError(f"dictionary: must be a (modes, features) matrix, got shape {dictionary.shape}")
    modes = np.asarray(modes)
    if modes.ndim != 1 or modes.size == 0 or not np.issubdtype(modes.dtype, np.integer):
        raise ValueError(f"modes: give a non-empty list of mode indices, got {modes.tolist()!r}")
    if modes.min() < -dictionary.shape[0] or modes.max() >= dictionary.shape[0]:
        raise ValueError(f"modes: mode {int(modes.max() if modes.max() >= dictionary.shape[0] else modes.min())} is out of range; "
                         f"the SAE has {dictionary.shape[0]} modes (0 to {dictionary.shape[0] - 1})")
    check_int("n_channels", n_channels, 1)
    if dictionary.shape[1] not in (n_channels, 2 * n_channels):
        raise ValueError(f"dictionary: its modes have {dictionary.shape[1]} features; a layer of {n_channels} channels gives "
                         f"{n_channels} (one per channel) or {2 * n_channels} (both signs)")
    check_int("top", top, 1)
    if top > n_channels:
        raise ValueError(f"top: {top} channels asked for a layer of {n_channels}")
    weights = channel_weights(dictionary[modes], n_channels, combine)  # (M, C)
    order = np.argsort(-weights, axis=1, kind="stable")[:, :top]
    chosen = [row.tolist() for row in order]
    values = None
    if weighted:
        values = [(weights[m, row] / max(np.abs(weights[m, row]).max(), np.finfo(np.float64).tiny)).tolist() for m, row in enumerate(order)]
    return channel_selection(chosen, n_channels, values)


def random_selections(n_channels: int, size: int, count: int, seed: int = 0) -> Tensor:
    """``count`` random channel sets of ``size`` channels each (weight 1): the chance level of a mode's
    selection, (count, C)."""
    check_int("n_channels", n_channels, 1)
    check_int("size", size, 1)
    check_int("count", count, 1)
    if size > n_channels:
        raise ValueError(f"size: {size} channels asked for a layer of {n_channels}")
    rng = np.random.default_rng(check_int("seed", seed, 0))
    return channel_selection([rng.choice(n_channels, size, replace=False).tolist() for _ in range(count)], n_channels)


def _check_selections(selections, batch: int) -> Tensor:
    if not isinstance(selections, Tensor):
        selections = torch.as_tensor(np.asarray(selections, dtype=np.float32))
    if not torch.is_floating_point(selections):
        selections = selections.float()
    if selections.ndim == 2:
        selections = selections.unsqueeze(0).expand(batch, -1, -1)
    if selections.ndim != 3 or selections.shape[0] != batch:
        raise ValueError(f"selections: shape {tuple(selections.shape)}; give (M, C) channel weights for every image, "
                         f"or (B, M, C) with B = {batch} images")
    if selections.shape[1] == 0:
        raise ValueError("selections: no selection given (M = 0); give at least one row of channel weights")
    if not torch.isfinite(selections).all():
        raise ValueError("selections: contains NaN or infinite weights")
    empty = (selections != 0).sum(-1) == 0
    if empty.any():
        m = int(empty.nonzero()[0, 1])
        raise ValueError(f"selections: selection {m} selects no channel (all weights 0); an empty channel set has no map")
    return selections


def _vjp(output: Tensor, inputs: Tensor, cotangents: Tensor, per_pass: int | None = None) -> Tensor:
    """``J^T v`` for a stack of cotangents (R, *output.shape), ``per_pass`` of them per batched backward pass: (R, *inputs.shape)."""
    per_pass = per_pass or len(cotangents)
    parts = []
    for start in range(0, len(cotangents), per_pass):
        chunk = cotangents[start : start + per_pass]
        try:
            (grads,) = torch.autograd.grad(output, inputs, chunk, retain_graph=True, is_grads_batched=True)
        except RuntimeError as error:  # an operation without a batching rule: the same product, one cotangent at a time
            if "vmap" not in str(error) and "batch" not in str(error).lower():
                raise
            grads = torch.stack([torch.autograd.grad(output, inputs, v, retain_graph=True)[0] for v in chunk])
        parts.append(grads)
    return torch.cat(parts)


def input_maps(
    model: nn.Module,
    inputs: Tensor,
    layer: str,
    selections,
    *,
    method: str = "inputgrad",
    steps: int = 10,
    rule: str = "trapezoid",
    target="top1",
    softmax: bool = False,
    baseline: Tensor | None = None,
    layout: str = "auto",
    cotangents_per_pass: int | None = None,
) -> InputMaps:
    """Input-space contribution maps of channel selections at one layer (module docstring).

    Parameters
    ----------
    model : nn.Module
        Maps a batch (B, ...) to outputs (B, ...); evaluated in eval mode, no parameter gradients.
    inputs : Tensor, shape (B, *input)
        Images (B, 3, H, W), or any input the model takes.
    layer : str
        A ``named_modules()`` name, optionally with ``":input"``.
    selections : Tensor or array, shape (M, C) or (B, M, C)
        Channel weights of M selections (0: not selected), the same for every image or one set per
        image; :func:`mode_selection`, :func:`channel_selection`.
    method : {"inputgrad", "ig"}
        InputGrad at the input (the authors' backbone) or IG along the input path (Suppl. 10.7).
    steps, rule
        The path's steps and integration rule (``"ig"`` only; :data:`codec.attribution.RULES`).
    target : str, tuple, callable or codec.targets.Target
        As :func:`codec.contributions` (the authors' Fig. 7: the true class's softmax,
        ``target=("class", labels), softmax=True``). Classes are chosen at the input.
    softmax : bool
        Apply softmax over dimension 1 to the outputs before the target.
    baseline : Tensor, optional
        ``x'``, (B, *input) or (*input); zeros by default.
    layout : {"auto", "channels_first", "channels_last"}
        Where the layer's channel axis is (:mod:`codec.reduce`).
    cotangents_per_pass : int, optional
        Bounds memory: how many of the 2·M cotangents (M selections, two signs) one batched
        backward pass carries; all at once by default. Results do not depend on it.

    Returns
    -------
    InputMaps

    Raises
    ------
    ValueError, TypeError
        For an unknown layer or method, a layer the model does not run, inputs without a batch
        dimension or of a shape the model refuses, selections of the wrong shape or with an empty
        set, or a channel count that differs from the layer's. Each message names the parameter.
    """
    if method not in MAP_METHODS:
        raise ValueError(f"method: unknown method {method!r}; choose one of {MAP_METHODS}")
    if rule not in RULES:
        raise ValueError(f"rule: unknown rule {rule!r}; choose one of {RULES}")
    check_int("steps", steps, 1)
    if cotangents_per_pass is not None:
        check_int("cotangents_per_pass", cotangents_per_pass, 1)
    check_layout(layout)
    if not isinstance(layer, str):
        raise TypeError(f"layer: give one layer name (a string), got {type(layer).__name__}")
    target_obj = as_target(target)
    if softmax and target_obj.uses_distribution:
        raise ValueError(f"softmax: target {target_obj.name!r} already works on the softmax distribution; leave softmax=False")
    check_model_and_inputs(model, inputs, target_obj)
    (spec,) = resolve_layers(model, [layer])
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else inputs.device
    x = inputs.detach().to(device)
    x_base = baseline_for(baseline, x)
    batch = x.shape[0]
    weights = _check_selections(selections, batch).to(device)
    delta = x - x_base
    if method == "inputgrad":
        alphas, omegas = [1.0], [1.0]
    else:
        alphas, omegas = INTEGRATION_RULES[rule].points_and_weights(steps)

    def score(output):
        return torch.softmax(output, dim=1) if softmax else output

    with eval_mode(model), frozen_parameters(model), LayerCapture([spec], tuple(inputs.shape)) as capture:
        with torch.no_grad():
            output, captured = capture.forward(model, x)
        states = target_obj.choose(score(output), torch.arange(batch, device=device))
        y_input = target_obj(score(output), states)
        axis = channel_axis(captured[layer].ndim, layout)
        n_channels = captured[layer].shape[axis]
        if weights.shape[-1] != n_channels:
            raise ValueError(f"selections: {weights.shape[-1]} channel weights per selection; layer {layer!r} has {n_channels} channels")
        shape = [1] * captured[layer].ndim  # the weights (B, M, C) broadcast over a layer tensor (B, ...) as (B, M, ...)
        shape[axis] = n_channels
        weight_view = weights.reshape(batch, weights.shape[1], *shape[1:])
        del output, captured

        # per point of the path: the unit terms of every unit (one JVP) and the gradient at the layer
        # Every point's graph from the input to the layer is needed again for its VJP once the signs of
        # the units' contributions (summed over the path) are known: kept for one point (InputGrad),
        # rebuilt by one more forward pass per point on a path (IG), so that memory does not grow with steps.
        keep_graphs = len(alphas) == 1
        points = []
        for alpha, omega in zip(alphas, omegas):
            point = x_base + alpha * delta
            with torch.no_grad(), fwAD.dual_level(), warnings.catch_warnings():
                # torch's own forward-AD set-up scripts its decompositions on first use and warns about torch.jit
                warnings.filterwarnings("ignore", message=".*torch.jit.script.*is deprecated", category=FutureWarning)
                try:
                    _, captured = capture.forward(model, fwAD.make_dual(point, delta))
                except NotImplementedError as error:
                    fused = "scaled_dot_product" in str(error)
                    raise NotImplementedError(
                        f"method: the unit terms need forward-mode AD through the model, and one operation does not support it "
                        f"({str(error).splitlines()[0]})" + (
                            ". It is fused attention: for a timm ViT set block.attn.fused_attn = False for every block "
                            "(the same math on the plain path; codec's ViT entries do this)" if fused else "")) from error
                unpacked = fwAD.unpack_dual(captured[layer])
                tangent = torch.zeros_like(unpacked.primal) if unpacked.tangent is None else unpacked.tangent.clone()
                del captured, unpacked
            at_point = point.clone().requires_grad_(True)
            with torch.enable_grad():
                output, captured = capture.forward(model, at_point)
                y = target_obj(score(output), states)
                (gradient,) = torch.autograd.grad(y.sum(), [captured[layer]], retain_graph=keep_graphs)
            points.append((at_point if keep_graphs else point, captured[layer] if keep_graphs else None, gradient.detach(), tangent, omega))
            del output, captured, y

        unit_terms = sum(omega * gradient * tangent for _, _, gradient, tangent, omega in points)  # (B, ...) the units' contributions
        positive_units = (unit_terms > 0).unsqueeze(1)  # (B, 1, ...)
        weighted_terms = weight_view * unit_terms.unsqueeze(1)  # (B, M, ...)
        unit_totals = torch.stack([torch.where(positive_units, weighted_terms, 0).flatten(2).sum(2),
                                   torch.where(positive_units, 0, weighted_terms).flatten(2).sum(2)], dim=-1)
        sensitivity = torch.zeros((2, batch, weights.shape[1]) + tuple(x.shape[1:]), dtype=x.dtype, device=device)
        for at_point, hidden, gradient, _, omega in points:
            if hidden is None:
                at_point = at_point.clone().requires_grad_(True)
                with torch.enable_grad():
                    _, captured = capture.forward(model, at_point)
                hidden = captured[layer]
            cotangent = omega * weight_view * gradient.unsqueeze(1)  # (B, M, ...)
            signed = torch.stack([torch.where(positive_units, cotangent, 0), torch.where(positive_units, 0, cotangent)])  # (2, B, M, ...)
            stacked = signed.movedim(2, 1).reshape(-1, *hidden.shape)  # (2·M, B, ...)
            grads = _vjp(hidden, at_point, stacked, cotangents_per_pass)  # (2·M, B, *input)
            sensitivity += grads.reshape(2, weights.shape[1], batch, *x.shape[1:]).movedim(2, 1)
            del grads, hidden
        points.clear()
    maps = sensitivity * delta.unsqueeze(0).unsqueeze(2)
    return InputMaps(
        positive=maps[0].detach(),
        negative=maps[1].detach(),
        unit_totals=unit_totals.detach(),
        target_at_input=y_input.detach(),
        target_classes=states,
        layer=layer,
        method=method,
        steps=steps if method == "ig" else 1,
        rule=rule if method == "ig" else None,
    )


def completeness_table(result: InputMaps, names: Sequence[str], image: int = 0):
    """One image's maps checked for completeness: each map's pixel sum against the weighted sum of its
    channels' hidden contributions (positive units, the rest, and the whole), as a pandas DataFrame."""
    import pandas as pd

    if not isinstance(result, InputMaps):
        raise ArgumentTypeError(f"result: must be the InputMaps of codec.visualize.input_maps, got {type(result).__name__}")
    if isinstance(names, str) or len(names) != result.unit_totals.shape[1]:
        raise ValueError(f"names: {len(names)} names for {result.unit_totals.shape[1]} maps")
    check_int("image", image, 0, result.unit_totals.shape[0] - 1)
    sums, totals = result.pixel_sums()[image].cpu().numpy(), result.unit_totals[image].cpu().numpy()
    return pd.DataFrame({"map": list(names), "pixel sum": sums.sum(1), "channels' contributions": totals.sum(1),
                         "positive units (pixel sum)": sums[:, 0], "rest (pixel sum)": sums[:, 1],
                         "relative error": result.completeness_error()[image].cpu().numpy()}).set_index("map")


def layer_at_authors_depth(layers: Sequence[str]) -> str:
    """The layer at the relative depth of the authors' Fig. 7 (their layer 7 of ResNet-50's 16, counting from 0)."""
    if isinstance(layers, str) or not len(layers):
        raise ValueError(f"layers: give a non-empty sequence of layer names, got {layers!r}")
    return layers[round(7 * (len(layers) - 1) / 15)]
