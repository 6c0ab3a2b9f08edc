r"""What a mode sees: exact input-space maps of the contributions of channels and modes.

The paper's §6 (Fig. 7) and Supplement 10.7. For an image :math:`x`, a baseline :math:`x'`, a
layer :math:`h`, a scalar target :math:`y` and a *selection* of the layer's channels with
weights :math:`w_k` (a mode's top channels, weight 1 each by default), the **sensitivity** is
the part of the input gradient that passes through the selected channels,

.. math:: A = \sum_{k} \sum_p w_k \,\frac{\partial y}{\partial h_{k,p}}\, \frac{\partial h_{k,p}}{\partial x},

and the **contribution map** is :math:`C = A \odot (x - x')` (InputGrad, the authors' backbone).
Summed over pixels, :math:`C` is :math:`\sum_{k,p} w_k\, c_{k,p}` with the hidden InputGrad
contributions :math:`c_{k,p} = (\partial y/\partial h_{k,p})\,\langle \partial h_{k,p}/\partial x, x - x'\rangle`
(completeness). The map splits exactly into the parts carried by units with positive and with
negative contribution: :math:`C = C^+ + C^-` with :math:`C^\pm` the maps of the cotangents
restricted to :math:`c_{k,p} > 0` and :math:`c_{k,p} \le 0`.

``method="ig"`` is the Integrated-Gradients version of Supplement 10.7: the same along the
straight input path :math:`x_\alpha = x' + \alpha(x - x')` with the integration rule's points and
weights, :math:`C = (x - x') \odot \sum_\alpha \omega_\alpha A(x_\alpha)`; its pixel sum is the
selected channels' hidden IG contributions in derivative form,
:math:`\sum_\alpha \omega_\alpha\, (\partial y/\partial h)(x_\alpha) \cdot J_h(x_\alpha)(x - x')`,
which :func:`codec.contributions` (``method="ig"``, finite differences of :math:`h` along the path)
approaches as ``steps`` grows.

How it is computed, without per-unit Jacobians. The authors' code runs one backward pass per
selected channel *and* position (20 channels at 14×14 are 3,920 passes per image). Here,
``∂y/∂h`` is fixed for the image, so :math:`A` is one vector–Jacobian product of :math:`h` with
the cotangent ``(∂y/∂h) ⊙ w`` (restricted to the selection); the unit contributions
:math:`\langle \partial h_{k,p}/\partial x, x - x'\rangle` of all units are one Jacobian–vector
product (forward-mode AD). All selections and both signs of one batch of images go through one
batched VJP (``is_grads_batched``), so a batch costs one forward-mode pass, one forward pass and a
handful of backward passes at each path point, whatever the number of channels and positions.

Display (the authors' choices as defaults): :func:`display_mask` takes ``|C|``, median-filters each
colour channel (size 4), averages the colour channels, scales to [0, 1], multiplies by a contrast
of 7 and clips, and :func:`masked_image` uses the result as a mask on the image.

Claim 11 (a mode's maps show the same low-level feature across classes) is scored, not
eyeballed: :func:`mass_shares` (where the map's mass lies, against the regions' share of the area,
on planted images with object and distractor masks) and :func:`map_descriptors` /
:func:`cross_class_consistency` (whether one mode highlights the same kind of image content on
images of different classes, against randomly drawn channel sets of the same size).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.autograd.forward_ad as fwAD
from torch import Tensor, nn

from .attribution import INTEGRATION_RULES, RULES, baseline_for, check_int, check_model_and_inputs
from .hooks import LayerCapture, eval_mode, frozen_parameters, resolve_layers
from .reduce import channel_axis, check_layout
from .targets import as_target

#: How the maps are integrated: InputGrad at the input (the authors' backbone) or IG along the input path.
MAP_METHODS = ("inputgrad", "ig")
#: The authors' display settings (released code of Fig. 7): median filter size, contrast, channels per mode.
PAPER_FILTER_SIZE = 4
PAPER_CONTRAST = 7.0
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


# --------------------------------------------------------------------------- selections


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
    from .control import channel_weights

    dictionary = np.asarray(dictionary)
    if dictionary.ndim != 2:
        raise ValueError(f"dictionary: must be a (modes, features) matrix, got shape {dictionary.shape}")
    modes = np.asarray(modes)
    if modes.ndim != 1 or modes.size == 0 or not np.issubdtype(modes.dtype, np.integer):
        raise ValueError(f"modes: give a non-empty list of mode indices, got {modes.tolist()!r}")
    if modes.min() < -dictionary.shape[0] or modes.max() >= dictionary.shape[0]:
        raise ValueError(f"modes: mode {int(modes.max() if modes.max() >= dictionary.shape[0] else modes.min())} is out of range; "
                         f"the SAE has {dictionary.shape[0]} modes (0 to {dictionary.shape[0] - 1})")
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
    check_int("size", size, 1)
    check_int("count", count, 1)
    if size > n_channels:
        raise ValueError(f"size: {size} channels asked for a layer of {n_channels}")
    rng = np.random.default_rng(seed)
    return channel_selection([rng.choice(n_channels, size, replace=False).tolist() for _ in range(count)], n_channels)


# --------------------------------------------------------------------------- maps


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


# --------------------------------------------------------------------------- display


def _checked_maps(maps, name: str = "maps") -> np.ndarray:
    maps = maps.detach().cpu().numpy() if isinstance(maps, Tensor) else np.asarray(maps)
    if maps.ndim < 3:
        raise ValueError(f"{name}: shape {maps.shape}; give maps (..., colours, H, W)")
    return maps


def display_mask(maps, filter_size: int = PAPER_FILTER_SIZE, contrast: float = PAPER_CONTRAST) -> np.ndarray:
    """The authors' display of a map: ``|map|`` median-filtered per colour channel, averaged over
    colours, scaled to [0, 1] (min to max, per map), times ``contrast``, clipped to [0, 1].

    Parameters
    ----------
    maps : array or Tensor, shape (..., 3, H, W)
    filter_size : int
        Side of the median filter (1: none); the authors: 4.
    contrast : float
        The authors: 7 (6 in some panels).

    Returns
    -------
    numpy.ndarray, shape (..., H, W), in [0, 1]
    """
    from scipy.ndimage import median_filter

    maps = np.abs(_checked_maps(maps))
    check_int("filter_size", filter_size, 1)
    if not (np.isfinite(contrast) and contrast > 0):
        raise ValueError(f"contrast: must be a finite number > 0, got {contrast!r}")
    size = [1] * (maps.ndim - 2) + [filter_size, filter_size]
    filtered = median_filter(maps, size=size, mode="nearest") if filter_size > 1 else maps
    mean = filtered.mean(axis=-3)
    low = mean.min(axis=(-2, -1), keepdims=True)
    span = mean.max(axis=(-2, -1), keepdims=True) - low
    scaled = np.divide(mean - low, span, out=np.zeros_like(mean), where=span > 0)
    return np.clip(scaled * contrast, 0.0, 1.0)


def masked_image(picture, mask) -> np.ndarray:
    """A displayable image (H, W, 3) in [0, 1] (``ModelEntry.to_image``) times a mask (H, W) in [0, 1]: (H, W, 3)."""
    picture, mask = np.asarray(picture), np.asarray(mask)
    if picture.ndim != 3 or picture.shape[2] != 3 or mask.shape != picture.shape[:2]:
        raise ValueError(f"picture, mask: give a picture (H, W, 3) and a mask (H, W) of the same size; got {picture.shape} and {mask.shape}")
    return np.clip(picture, 0, 1) * mask[..., None]


def completeness_table(result: InputMaps, names: Sequence[str], image: int = 0):
    """One image's maps checked for completeness: each map's pixel sum against the weighted sum of its
    channels' hidden contributions (positive units, the rest, and the whole), as a pandas DataFrame."""
    import pandas as pd

    if len(names) != result.unit_totals.shape[1]:
        raise ValueError(f"names: {len(names)} names for {result.unit_totals.shape[1]} maps")
    sums, totals = result.pixel_sums()[image].cpu().numpy(), result.unit_totals[image].cpu().numpy()
    return pd.DataFrame({"map": list(names), "pixel sum": sums.sum(1), "channels' contributions": totals.sum(1),
                         "positive units (pixel sum)": sums[:, 0], "rest (pixel sum)": sums[:, 1],
                         "relative error": result.completeness_error()[image].cpu().numpy()}).set_index("map")


def layer_at_authors_depth(layers: Sequence[str]) -> str:
    """The layer at the relative depth of the authors' Fig. 7 (their layer 7 of ResNet-50's 16, counting from 0)."""
    if not len(layers):
        raise ValueError("layers: give at least one layer")
    return layers[round(7 * (len(layers) - 1) / 15)]


# --------------------------------------------------------------------------- claim 11: where the mass lies, what it highlights


def mass_shares(maps, regions: dict) -> dict:
    """Where a map's mass lies: the share of ``|map|`` (summed over colours) inside each region,
    and each region's share of the area.

    Parameters
    ----------
    maps : array or Tensor, shape (N, 3, H, W)
        One map per image.
    regions : dict of str to array, each shape (N, H, W), bool
        Disjoint regions, e.g. ``object``, ``distractors``, ``background``.

    Returns
    -------
    dict with ``"mass"`` and ``"area"``: each a dict of region → (N,) shares.
    """
    maps = np.abs(_checked_maps(maps)).sum(axis=-3)  # (N, H, W)
    total = maps.reshape(len(maps), -1).sum(1)
    mass, area = {}, {}
    covered = np.zeros(maps.shape, dtype=int)
    for name, region in regions.items():
        region = region.detach().cpu().numpy() if isinstance(region, Tensor) else np.asarray(region)
        if region.shape != maps.shape or region.dtype != bool:
            raise ValueError(f"regions: {name!r} has shape {region.shape} and dtype {region.dtype}; give boolean masks {maps.shape}")
        covered += region
        mass[name] = np.divide((maps * region).reshape(len(maps), -1).sum(1), total, out=np.full(len(maps), np.nan), where=total > 0)
        area[name] = region.reshape(len(maps), -1).mean(1)
    if (covered > 1).any():
        raise ValueError("regions: the regions overlap; give disjoint masks")
    return {"mass": mass, "area": area}


def image_features(images, sigma: float = 1.0) -> np.ndarray:
    """A small bank of local low-level features per pixel: the colour values and the gradient
    energy of their mean at two scales in four orientations, each standardised over the images.

    Parameters
    ----------
    images : array or Tensor, shape (N, colours, H, W)
    sigma : float
        Scale of the finer Gaussian derivative, in pixels (the coarser is twice it).

    Returns
    -------
    numpy.ndarray, shape (N, colours + 8, H, W)
    """
    from scipy.ndimage import gaussian_filter

    images = _checked_maps(images, "images").astype(np.float64)
    if images.ndim != 4:
        raise ValueError(f"images: shape {images.shape}; give (N, colours, H, W)")
    grey = images.mean(1)
    features = [images[:, c] for c in range(images.shape[1])]
    for scale in (sigma, 2 * sigma):
        dy = gaussian_filter(grey, (0, scale, scale), order=(0, 1, 0))
        dx = gaussian_filter(grey, (0, scale, scale), order=(0, 0, 1))
        for angle in np.arange(4) * np.pi / 4:
            features.append((np.cos(angle) * dx + np.sin(angle) * dy) ** 2)
    stacked = np.stack(features, axis=1)
    mean = stacked.mean(axis=(0, 2, 3), keepdims=True)
    std = stacked.std(axis=(0, 2, 3), keepdims=True)
    return (stacked - mean) / np.where(std > 0, std, 1.0)


def map_descriptors(maps, features) -> np.ndarray:
    """What a map highlights: the ``|map|``-weighted mean of each local feature, per map.

    Parameters
    ----------
    maps : array or Tensor, shape (N, S, 3, H, W)
        S maps (selections) on each of N images.
    features : array, shape (N, F, H, W)
        :func:`image_features` of the same images.

    Returns
    -------
    numpy.ndarray, shape (N, S, F); NaN for a map without mass.
    """
    weights = np.abs(_checked_maps(maps)).sum(axis=-3)  # (N, S, H, W)
    features = np.asarray(features)
    if weights.ndim != 4 or features.ndim != 4 or weights.shape[0] != features.shape[0] or weights.shape[2:] != features.shape[2:]:
        raise ValueError(f"maps, features: give maps (N, S, 3, H, W) and features (N, F, H, W) of the same images; "
                         f"got {weights.shape[:1] + weights.shape[1:]} and {features.shape}")
    total = weights.sum(axis=(2, 3))[..., None]
    weighted = np.einsum("nshw,nfhw->nsf", weights, features)
    return np.divide(weighted, total, out=np.full(weighted.shape, np.nan), where=total > 0)


def cross_class_consistency(descriptors, labels) -> np.ndarray:
    """How alike one selection's maps are on images of *different* classes: the mean Pearson
    correlation of its descriptors over all pairs of images with different labels.

    Parameters
    ----------
    descriptors : array, shape (N, S, F)
        :func:`map_descriptors`.
    labels : array, shape (N,)

    Returns
    -------
    numpy.ndarray, shape (S,)
    """
    descriptors, labels = np.asarray(descriptors, dtype=np.float64), np.asarray(labels)
    if descriptors.ndim != 3 or labels.shape != descriptors.shape[:1]:
        raise ValueError(f"descriptors, labels: give (N, S, F) and (N,); got {descriptors.shape} and {labels.shape}")
    if np.unique(labels).size < 2:
        raise ValueError("labels: the images need at least two classes to compare maps across classes")
    centred = descriptors - descriptors.mean(-1, keepdims=True)
    norm = np.linalg.norm(centred, axis=-1, keepdims=True)
    unit = np.divide(centred, norm, out=np.full(centred.shape, np.nan), where=norm > 0)
    pairs = labels[:, None] != labels[None, :]  # (N, N)
    values = []
    for s in range(descriptors.shape[1]):
        corr = unit[:, s] @ unit[:, s].T  # (N, N)
        values.append(np.nanmean(corr[pairs]))
    return np.asarray(values)


def mode_loadings_rows(codes, mode: int, labels, exclude, n: int) -> np.ndarray:
    """The rows (images) of other classes on which a mode loads most: where to look for what it
    shares across classes (Fig. 7B: a violin mode on cellos and marimbas).

    Parameters
    ----------
    codes : array, shape (N, K)
        The SAE's codes (loadings) of N images.
    mode : int
    labels : array, shape (N,)
    exclude : int or sequence of int
        Classes left out (the mode's own class).
    n : int
        How many rows, highest loading first (fewer if fewer images are left).

    Returns
    -------
    numpy.ndarray of int64, shape (<= n,)
    """
    codes, labels = np.asarray(codes), np.asarray(labels)
    if not 0 <= mode < codes.shape[1]:
        raise ValueError(f"mode: {mode} is out of range; the SAE has {codes.shape[1]} modes (0 to {codes.shape[1] - 1})")
    check_int("n", n, 1)
    allowed = ~np.isin(labels, np.atleast_1d(exclude))
    candidates = np.flatnonzero(allowed)
    return candidates[np.argsort(-codes[candidates, mode], kind="stable")[:n]]


def _rows_of_two_classes(codes, mode: int, labels, own_class, n: int) -> np.ndarray:
    """:func:`mode_loadings_rows` of the classes other than ``own_class``, made to hold at least two
    classes (the maps are compared across classes): where the top ``n`` are all of one class, the
    highest-loading image of a third class replaces the last, or of the own class where there is
    no third (a dataset of two classes)."""
    chosen = mode_loadings_rows(codes, mode, labels, own_class, n)
    if np.unique(labels[chosen]).size >= 2:
        return chosen
    ranked = mode_loadings_rows(codes, mode, labels, [], len(labels))
    taken = labels[chosen[0]] if chosen.size else own_class
    third = ranked[(labels[ranked] != taken) & (labels[ranked] != own_class)]
    other = third if third.size else ranked[labels[ranked] != taken]
    return np.concatenate([chosen[: n - 1], other[:1]]) if chosen.size else np.concatenate([ranked[:1], other[:1]])


def group_selections(fits, layer: str, group_indicator, n_channels: int, top: int = PAPER_CHANNELS_PER_MODE,
                     combine: str = "sum") -> dict:
    """Each group's selection at one layer from every source of :data:`codec.control.SOURCES`.

    ``contribution modes`` and ``activation modes``: the top ``top`` channels of the group's most
    correlated mode of each SAE; ``single channels``: the ``top`` channels most correlated with
    the group by their own positive contribution part (the SAE's input).

    Parameters
    ----------
    fits : mapping of (layer, kind) to codec.sae.LayerFit
    layer : str
    group_indicator : array, shape (N, G)
        Indicators of the groups (classes or superclasses) on the SAEs' rows.
    n_channels : int
    top : int
    combine : {"sum", "positive"}

    Returns
    -------
    dict of source to (Tensor (G, C), numpy.ndarray (G,) of the chosen modes, or of the best channel)
    """
    from .modes import correlation, top_modes

    selections = {}
    for source, kind in (("contribution modes", "contributions"), ("activation modes", "activations")):
        fit = fits[layer, kind]
        best = top_modes(correlation(fit.codes, group_indicator), 1)[:, 0]
        selections[source] = (mode_selection(fit.dictionary, best, n_channels, top, combine=combine), best)
    features = fits[layer, "contributions"].features
    if features.shape[1] not in (n_channels, 2 * n_channels):
        raise ValueError(f"fits: the SAE of {layer!r} reads {features.shape[1]} features; the layer has {n_channels} channels")
    channel_corr = np.nan_to_num(correlation(features[:, :n_channels], group_indicator), nan=-np.inf)  # (C, G)
    order = np.argsort(-channel_corr.T, axis=1, kind="stable")[:, :top]
    selections["single channels"] = (channel_selection(order.tolist(), n_channels), order[:, 0])
    return selections


def map_target(labels, rows, true_class_softmax: bool = True, store_settings: dict | None = None) -> dict:
    """The ``target`` and ``softmax`` arguments of :func:`input_maps` for some store rows: the softmax of
    each image's true class (the authors' Fig. 7), or the store's own target (``store.settings``)."""
    if true_class_softmax:
        return {"target": ("class", torch.as_tensor(np.asarray(labels)[np.asarray(rows)])), "softmax": True}
    if store_settings is None:
        raise ValueError("store_settings: give the store's settings (store.settings) to use its target")
    return {"target": store_settings["target"], "softmax": store_settings["softmax"]}


def _rows_of_target(target, rows, n_inputs: int):
    """A per-input class target restricted to some rows; any other target as given."""
    if isinstance(target, tuple) and len(target) == 2 and target[0] == "class":
        index = torch.as_tensor(target[1])
        if index.ndim == 1 and index.numel() == n_inputs:
            return ("class", index[torch.as_tensor(rows, dtype=torch.long)])
    return target


def map_scores(model: nn.Module, inputs: Tensor, labels, layer: str, groups: dict, *, regions: dict | None = None,
               n_random: int = 20, seed: int = 0, target="top1", softmax: bool = False,
               cotangents_per_pass: int | None = None):
    """Claim 11's numbers: for each group, whether each source's selection highlights the same
    image content on images of different classes (against random channel sets of the same size),
    and where its maps put their mass.

    Parameters
    ----------
    model : nn.Module
    inputs : Tensor, shape (N, 3, H, W)
    labels : array, shape (N,)
        Classes of the inputs (the pairs compared are those of different classes).
    layer : str
    groups : dict of group name to (rows, {source: Tensor (C,)})
        The images (row indices into ``inputs``) and each source's channel weights for the group.
    regions : dict of region name to array (N, H, W) of bool, optional
        Disjoint masks (planted data: ``object``, ``distractors``, ``background``).
    n_random : int
        Random channel sets per group, of the size of the group's first source's selection.
    seed : int
    target, softmax, cotangents_per_pass
        As :func:`input_maps`; a ``("class", indices)`` target with one index per input is split by group.

    Returns
    -------
    pandas.DataFrame
        One row per group and source (``random channels`` for the random sets' mean): ``consistency``,
        ``chance_95`` (the random sets' 95th percentile), ``above_chance`` and, with ``regions``,
        ``mass_<region>`` and ``area_<region>`` (means over the group's images).
    """
    import pandas as pd

    labels = np.asarray(labels)
    check_int("n_random", n_random, 1)
    features = image_features(inputs)
    rng = np.random.default_rng(seed)
    rows_out = []
    for name, (rows, chosen) in groups.items():
        rows = np.asarray(rows)
        sources = list(chosen)
        stacked = torch.stack([torch.as_tensor(chosen[source], dtype=torch.float32) for source in sources])
        size = int((stacked[0] != 0).sum())
        randoms = random_selections(stacked.shape[1], size, n_random, seed=int(rng.integers(2**31)))
        result = input_maps(model, inputs[rows], layer, torch.cat([stacked, randoms]).to(inputs.dtype),
                            target=_rows_of_target(target, rows, len(inputs)),
                            softmax=softmax, cotangents_per_pass=cotangents_per_pass)
        maps = result.maps.detach().cpu().numpy()
        consistency = cross_class_consistency(map_descriptors(maps, features[rows]), labels[rows])
        chance = consistency[len(sources):]
        chance_95 = float(np.nanpercentile(chance, 95))
        for s, source in enumerate(sources + ["random channels"]):
            row = {"group": name, "source": source, "images": len(rows),
                   "consistency": float(consistency[s]) if source != "random channels" else float(np.nanmean(chance)),
                   "chance_95": chance_95}
            row["above_chance"] = bool(row["consistency"] > chance_95) if source != "random channels" else False
            if regions is not None:
                picked = slice(s, s + 1) if source != "random channels" else slice(len(sources), None)
                per_map = [mass_shares(maps[:, m], {k: np.asarray(v)[rows] for k, v in regions.items()})
                           for m in range(picked.start, picked.stop if picked.stop is not None else maps.shape[1])]
                for region in regions:
                    row[f"mass_{region}"] = float(np.nanmean([share["mass"][region] for share in per_map]))
                    row[f"area_{region}"] = float(np.mean(per_map[0]["area"][region]))
            rows_out.append(row)
    return pd.DataFrame(rows_out)


def claim_details(table, layer: str, what: str) -> dict:
    """:func:`map_scores`'s table as the details claim 11's rule reads: per group, per source, its numbers.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`map_scores`'s result.
    layer : str
    what : str
        What the groups are, in words (for the scorecard's value).

    Returns
    -------
    dict with ``layer``, ``what``, ``masks`` (whether mass shares were measured) and ``groups``.
    """
    numbers = [column for column in table.columns if column == "consistency" or column.startswith(("mass_", "area_"))]
    groups = {}
    for name, rows in table.groupby("group", sort=False):
        groups[name] = {row["source"]: {column: float(row[column]) for column in numbers} for _, row in rows.iterrows()}
        groups[name]["chance_95"] = float(rows["chance_95"].iloc[0])
        groups[name]["images"] = int(rows["images"].iloc[0])
    return {"layer": layer, "what": what, "masks": any(column.startswith("mass_") for column in numbers), "groups": groups}


def claim_groups(dataset, labels, fits, layer: str, n_channels: int, top: int, images: int, n_groups: int | None = None,
                 class_names: Sequence[str] | None = None):
    """The groups claim 11 is scored on, their images (store rows) and each source's selection.

    With planted data (a dataset with ``texture`` superclasses and masks): one group per texture,
    its four classes (one per shape), ``images`` rows of each; the regions are the object, the
    distractors and the background. Otherwise: one group per class (the first ``n_groups``), the
    ``images`` rows of *other* classes on which the class's most correlated contribution mode
    loads most (of any class, its own included, where the others are one class only); no regions.

    Parameters
    ----------
    dataset : the store's dataset
    labels : array, shape (N,)
        The store's labels (row i is dataset item i).
    fits : mapping of (layer, kind) to codec.sae.LayerFit
    layer : str
    n_channels : int
    top : int
        Channels per selection.
    images : int
    n_groups : int, optional
    class_names : sequence of str, optional
        Names of the labels (``ModelEntry.class_names``), to name the groups of classes.

    Returns
    -------
    groups : dict of name to (rows, {source: Tensor (C,)})
    regions : dict of region to numpy.ndarray (N, H, W) of bool, or None
    what : str
        The groups in words.
    """
    from .modes import correlation, indicators, superclass_indicators, top_modes

    labels = np.asarray(labels)
    check_int("images", images, 1)
    planted = hasattr(dataset, "superclasses") and hasattr(dataset, "tensors") and any(
        name.startswith("texture ") for name in dataset.superclasses())
    if planted:
        members = {name: classes for name, classes in dataset.superclasses().items() if name.startswith("texture ")}
        names = list(members)[:n_groups]
        group_indicator = superclass_indicators(labels, {name: members[name] for name in names})
        rows = {name: np.concatenate([np.flatnonzero(labels == c)[:images] for c in members[name]]) for name in names}
        masks = dataset.tensors(range(len(labels)))
        objects, distractors = masks["object_masks"].numpy(), masks["distractor_masks"].numpy()
        regions = {"object": objects, "distractors": distractors, "background": ~(objects | distractors)}
        what = f"{len(names)} textures, each on {len(next(iter(members.values())))} shapes ({images} images per class)"
    else:
        group_indicator, classes = indicators(labels)
        names = [str(c) for c in classes][:n_groups]
        best = top_modes(correlation(fits[layer, "contributions"].codes, group_indicator), 1)[:, 0]
        codes = fits[layer, "contributions"].codes
        rows = {}
        if classes.size < 2:
            raise ValueError("labels: claim 11 compares maps across classes; the store has one class")
        check_int("images", images, 2)
        for k, name in enumerate(names):
            rows[name] = _rows_of_two_classes(codes, int(best[k]), labels, classes[k], images)
        group_indicator = group_indicator[:, : len(names)]
        regions = None
        what = (f"{len(names)} classes, each on the {images} images of other classes where its top contribution mode "
                "loads most")
        if class_names is not None:
            names_of = {str(c): class_names[int(c)] for c in classes}
            rows = {names_of[name]: value for name, value in rows.items()}
            names = [names_of[name] for name in names]
    selections = group_selections(fits, layer, group_indicator, n_channels, top)
    groups = {name: (rows[name], {source: chosen[g] for source, (chosen, _) in selections.items()}) for g, name in enumerate(names)}
    return groups, regions, what
