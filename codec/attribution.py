r"""Contributions of hidden units to a scalar target, for many layers in one batched pass.

For an input :math:`x`, a baseline :math:`x'` (zeros by default), a hidden layer
:math:`h(x)` and a scalar target :math:`y`, the methods are

``"ig"`` (default) -- hidden Integrated Gradients along the straight *input* path,
    decomposed at the layer (what Captum calls *conductance*). With
    :math:`x_k = x' + \tfrac{k}{m}(x - x')`, :math:`h_k = h(x_k)`, :math:`g_k = \partial y/\partial h|_{x_k}`:

    .. math:: \mathrm{HIG}_j = \sum_{k=1}^{m} w_j^{(k)} \, (h_{k,j} - h_{k-1,j})

    with :math:`w^{(k)} = g_{k-1}` for ``rule="left"`` (Captum's ``LayerConductance``),
    :math:`g_k` for ``rule="right"`` (the equation of the paper's Supplement 10.7) and
    :math:`\tfrac12(g_{k-1} + g_k)` for ``rule="trapezoid"`` (the authors' released code; the
    default). Summed over the units of a layer that every path from input to output crosses,
    the contributions approach :math:`y(x) - y(x')` as ``steps`` grows (completeness).
``"ig_hidden"`` -- Integrated Gradients along the straight path *in the layer's own space*,
    :math:`(h_j - h'_j) \sum_k w_k\, \partial y / \partial h_j |_{h' + \alpha_k (h - h')}` (Captum's
    ``LayerIntegratedGradients``; layers upstream see the input :math:`x`). Each layer needs
    its own path, so this method runs one pass per layer.
``"actgrad"`` -- :math:`h_j\, \partial y/\partial h_j` at :math:`x`: the paper's main text and
    the authors' released code. One forward and one backward pass at the input; the baseline is
    not evaluated (``target_at_baseline`` is NaN).
``"actgrad_norm"`` -- as ``"actgrad"`` with the gradient scaled to unit L2 norm over all
    units of the layer, per input ("act-normgrad", likewise the paper's and the released form).
``"actgrad_delta"``, ``"actgrad_norm_delta"`` -- the Supplement's generalisation to a baseline,
    :math:`(h_j - h'_j)\, \partial y/\partial h_j` (and its unit-gradient form): one more
    forward pass, at the baseline; with the zero baseline they differ from the paper's forms
    by :math:`h'_j\,\partial y/\partial h_j`, which is zero only where :math:`h(0) = 0`.
``"inputgrad"`` -- hidden InputGrad, :math:`\sum_i (\partial y/\partial h_j)(\partial h_j/\partial x_i)(x_i - x'_i)`,
    i.e. the gradient times the Jacobian-vector product :math:`J_h(x)\,(x - x')`, computed
    with forward-mode AD (one JVP pass, no per-unit Jacobians).
``"smoothgrad"`` -- ``"actgrad"`` averaged over ``steps`` noisy copies
    :math:`x + \varepsilon`, :math:`\varepsilon \sim \mathcal N(0, (\sigma\,(\max x - \min x))^2)`,
    :math:`\sigma` = ``noise_level``; the classes of the target are chosen at the clean input.

On a linear network ``ig``, ``actgrad`` and ``inputgrad`` coincide exactly.

Performance: for ``"ig"`` every requested layer is captured in the same pass; the
``(steps + 1) * B`` interpolated inputs are evaluated in chunks of at most ``chunk_size``
rows (all at once by default), ordered point by point so that each point is a contiguous
block; parameter gradients are never computed and the backward pass stops at the earliest
hooked layer. The rule is applied with in-place ``addcmul_`` into one accumulator per input,
and each input's contributions are reduced (``reduce``) on the device as soon as its path is
complete. Points whose gradient the rule does not use (``x`` for ``left``, ``x'`` for
``right``) are evaluated without a backward pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
import torch.autograd.forward_ad as fwAD
from torch import Tensor, nn

from .checks import check_int, check_number
from .hooks import LayerCapture, LayerSpec, eval_mode, frozen_parameters, resolve_layers
from .reduce import check_layout, check_reduce, reduce_units
from .targets import ClassTarget, Target, as_target


@dataclass(frozen=True)
class IntegrationRule:
    """A Riemann rule of the path integral, as the weights it gives each interval's two ends.

    For the interval between path points ``alpha = k/m`` and ``(k+1)/m``, the gradient at the
    lower end (nearer the baseline) is weighted ``lower`` and the one at the upper end
    (nearer the input) ``upper``; the weights sum to 1. Everything else is derived from these
    two numbers: which points need a gradient (:meth:`needs_gradient`), and the points and
    weights of the layer-space path of ``ig_hidden`` (:meth:`points_and_weights`).
    """

    lower: float
    upper: float

    def __post_init__(self):
        lower = check_number("lower", self.lower, minimum=0, maximum=1)
        upper = check_number("upper", self.upper, minimum=0, maximum=1)
        if abs(lower + upper - 1) > 1e-12:
            raise ValueError(f"upper: the two ends' weights must sum to 1, got lower={lower} and upper={upper}")

    def needs_gradient(self, steps: int) -> list[bool]:
        """Per point of the input path, ordered from the input (alpha 1) to the baseline (alpha 0)."""
        return [(k < steps and self.upper != 0) or (k > 0 and self.lower != 0) for k in range(steps + 1)]

    def points_and_weights(self, steps: int) -> tuple[list[float], list[float]]:
        """Points alpha (ascending) with a nonzero weight, and their weights: the rule on [0, 1]."""
        weights = [((self.lower if k < steps else 0.0) + (self.upper if k > 0 else 0.0)) / steps for k in range(steps + 1)]
        kept = [k for k in range(steps + 1) if weights[k] != 0]
        return [k / steps for k in kept], [weights[k] for k in kept]


#: The integration rules by name: ``left`` uses each interval's lower end (Captum's
#: LayerConductance), ``right`` its upper end (the paper's Supplement 10.7), ``trapezoid`` both
#: (the authors' released code; the default).
INTEGRATION_RULES = {
    "left": IntegrationRule(lower=1.0, upper=0.0),
    "right": IntegrationRule(lower=0.0, upper=1.0),
    "trapezoid": IntegrationRule(lower=0.5, upper=0.5),
}
RULES = tuple(INTEGRATION_RULES)


@dataclass
class Contributions:
    """Result of :func:`contributions`.

    Attributes
    ----------
    contributions : dict of str to Tensor
        Per layer: ``(B, *unit_shape)`` with ``reduce=None``, ``(B, C)`` with ``"sum"``,
        ``(B, 2, C)`` with ``"ei"`` (``[:, 0]`` positive, ``[:, 1]`` negative part).
    activations : dict of str to Tensor
        Per layer, the activations ``h(x)`` at the inputs with the same reduction.
    target_at_input : Tensor, shape (B,)
        ``y(x)``.
    target_at_baseline : Tensor, shape (B,)
        ``y(x')``; NaN for ``"actgrad"`` and ``"actgrad_norm"``, which do not evaluate the baseline.
    predictions : Tensor of int64, shape (B,), or None
        Arg-max of the output at the input, when the output is (B, classes).
    target_classes : Tensor of int64, shape (B, k), or None
        The classes the target uses, chosen at the input (top-k, contrastive, class).
    method, rule, steps, target, softmax, reduce
        The settings that produced the result (``rule`` is None for methods without one).
    """

    contributions: dict[str, Tensor]
    activations: dict[str, Tensor]
    target_at_input: Tensor
    target_at_baseline: Tensor
    predictions: Tensor | None
    target_classes: Tensor | None
    method: str
    rule: str | None
    steps: int
    target: str
    softmax: bool
    reduce: str | None
    layers: list[str] = field(default_factory=list)

    def __getitem__(self, layer: str) -> Tensor:
        return self.contributions[layer]

    def total(self, layer: str) -> Tensor:
        """Sum of a layer's contributions over all units, per input: shape (B,)."""
        values = self.contributions[layer]
        return values.reshape(values.shape[0], -1).sum(dim=1)

    def completeness_error(self, layer: str) -> Tensor:
        """``|sum of contributions - (y(x) - y(x'))| / |y(x) - y(x')|`` per input, shape (B,)."""
        delta = self.target_at_input - self.target_at_baseline
        return (self.total(layer) - delta).abs() / delta.abs()


class _Collector:
    """Per-input results arriving in input order, concatenated at the end."""

    def __init__(self, names: Sequence[str]):
        self.contributions: dict[str, list[Tensor]] = {n: [] for n in names}
        self.activations: dict[str, list[Tensor]] = {n: [] for n in names}
        self.y_in: list[Tensor] = []
        self.y_base: list[Tensor] = []
        self.predictions: list[Tensor] = []
        self.states: list[Tensor] = []

    def result(self) -> dict:
        def cat(parts):
            return torch.cat(parts) if parts else None

        return dict(
            contributions={n: cat(v) for n, v in self.contributions.items()},
            activations={n: cat(v) for n, v in self.activations.items()},
            y_in=cat(self.y_in),
            y_base=cat(self.y_base),
            predictions=cat(self.predictions),
            states=cat(self.states),
        )


@dataclass
class _Context:
    model: nn.Module
    specs: list[LayerSpec]
    capture: LayerCapture
    target: Target
    softmax: bool
    chunk_size: int | None
    progress: object | None
    layouts: dict = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.specs]

    def reduce_layer(self, values: Tensor, reduce: str | None, name: str) -> Tensor:
        return reduce_units(values, reduce, self.layouts.get(name, "auto"))

    def score(self, output: Tensor) -> Tensor:
        return torch.softmax(output, dim=1) if self.softmax else output

    def advance(self, n: int) -> None:
        if self.progress is not None:
            self.progress.update(n)


def _accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.promote_types(dtype, torch.float32)


def _unit_norm(grad: Tensor) -> Tensor:
    norm = grad.reshape(grad.shape[0], -1).norm(dim=1).clamp_min(torch.finfo(grad.dtype).tiny)
    return grad / norm.view(-1, *[1] * (grad.ndim - 1))


def _path_pieces(batch: int, n_points: int, chunk_size: int | None):
    """Split the (input, point) grid into chunks of at most ``chunk_size`` rows.

    With room for whole paths, a chunk is a group of inputs with all their points; otherwise
    it is a run of consecutive points of one input. Yields ``(inputs slice, j0, j1)``.
    """
    if chunk_size is None or chunk_size >= n_points:
        per = batch if chunk_size is None else chunk_size // n_points
        for start in range(0, batch, per):
            yield slice(start, min(start + per, batch)), 0, n_points
    else:
        for b in range(batch):
            for j0 in range(0, n_points, chunk_size):
                yield slice(b, b + 1), j0, min(j0 + chunk_size, n_points)


def _path(
    ctx: _Context,
    x: Tensor,
    x_base: Tensor,
    alphas: Sequence[float],
    grad_points: Sequence[bool],
    rule: IntegrationRule,
    reduce: str | None,
    normalize_gradient: bool = False,
    fixed_states: Tensor | None = None,
) -> dict:
    """Contributions along a path of points ``x' + alpha (x - x')``, all layers at once.

    ``alphas`` run from 1 (point 0, the input) down to 0 (the baseline), so a target's
    classes are chosen at the first point, before any gradient is taken. Within a chunk the
    rows are ordered point by point (all inputs of the chunk at point 0, then at point 1, ...)
    so that each point is a contiguous block; the rule is applied interval by interval with
    in-place ``addcmul_`` into one accumulator per input. A path cut across chunks carries its
    last point's values and its partial sum to the next chunk.
    """
    n_points = len(alphas)
    out = _Collector(ctx.names)
    carry: dict = {}

    for inputs, j0, j1 in _path_pieces(x.shape[0], n_points, ctx.chunk_size):
        xs, xbs = x[inputs], x_base[inputs]
        n_in = xs.shape[0]
        grad_pts = [j for j in range(j0, j1) if grad_points[j]]
        rest_pts = [j for j in range(j0, j1) if not grad_points[j]]

        def batch_of(points):
            return torch.cat([torch.lerp(xbs, xs, float(alphas[j])) for j in points])

        out_g = h_g = out_r = h_r = None
        if grad_pts:
            with torch.enable_grad():
                out_g, h_g = ctx.capture.forward(ctx.model, batch_of(grad_pts))
        if rest_pts:
            with torch.no_grad():
                out_r, h_r = ctx.capture.forward(ctx.model, batch_of(rest_pts))

        def block(j, grad_value, rest_value):
            """Rows of point j: a view into the pass that computed it."""
            if j in grad_pts:
                k = grad_pts.index(j)
                return None if grad_value is None else grad_value[k * n_in : (k + 1) * n_in]
            k = rest_pts.index(j)
            return rest_value[k * n_in : (k + 1) * n_in]

        out_g_detached = None if out_g is None else out_g.detach()
        if j0 == 0:
            output0 = block(0, out_g_detached, out_r)
            scored0 = ctx.score(output0)
            if fixed_states is not None:
                state = fixed_states[inputs]
            else:
                index = torch.arange(inputs.start, inputs.stop, device=x.device)
                state = ctx.target.choose(scored0, index)
                if state is not None:
                    out.states.append(state)
            if output0.ndim == 2:
                out.predictions.append(output0.argmax(dim=1))
        else:
            state = carry["state"]

        def repeat_state(times):
            return None if state is None else state.repeat((times,) + (1,) * (state.ndim - 1))

        grads: dict[str, Tensor | None] = {}
        y_g = y_r = None
        if grad_pts:
            with torch.enable_grad():
                y_g = ctx.target(ctx.score(out_g), repeat_state(len(grad_pts)))
                tensors = [h_g[name] for name in ctx.names]
                found = torch.autograd.grad(y_g.sum(), tensors, allow_unused=True)
            grads = dict(zip(ctx.names, found))
            y_g = y_g.detach()
            del out_g, tensors, found
        if rest_pts:
            y_r = ctx.target(ctx.score(out_r), repeat_state(len(rest_pts)))
        if j0 == 0:
            out.y_in.append(block(0, y_g, y_r))
        if j1 == n_points:
            out.y_base.append(block(n_points - 1, y_g, y_r))

        for name in ctx.names:
            reference = (h_g if h_g is not None else h_r)[name]
            acc_dtype = _accumulation_dtype(reference.dtype)
            h_grad = None if h_g is None else h_g[name].detach().to(acc_dtype)
            h_rest = None if h_r is None else h_r[name].to(acc_dtype)
            g_all = grads.get(name)
            if g_all is None and h_grad is not None:
                g_all = torch.zeros_like(h_grad)  # the layer does not reach the target
            if g_all is not None:
                g_all = g_all.to(acc_dtype)
                if normalize_gradient:
                    g_all = _unit_norm(g_all)

            def value(j):
                if j < j0:
                    return carry[name][1]
                return block(j, h_grad, h_rest)  # noqa: F821 (deleted below once the layer is done)

            def gradient(j):
                if j < j0:
                    return carry[name][2]
                return block(j, g_all, None) if j in grad_pts else None  # noqa: F821 (likewise)

            if j0 == 0:
                acc = torch.zeros((n_in, *reference.shape[1:]), dtype=acc_dtype, device=reference.device)
                first_interval = 1
            else:
                acc = carry[name][0]
                first_interval = j0
            for j in range(first_interval, j1):
                # points run from the input to the baseline: j - 1 is the interval's upper end
                difference = value(j - 1) - value(j)
                for weight, end in ((rule.upper, j - 1), (rule.lower, j)):
                    if weight != 0:
                        acc.addcmul_(difference, gradient(end), value=weight)
                del difference
            if j0 == 0:
                out.activations[name].append(ctx.reduce_layer(value(0), reduce, name))
            if j1 == n_points:
                out.contributions[name].append(ctx.reduce_layer(acc, reduce, name))
                carry.pop(name, None)
            else:
                last = j1 - 1
                carry[name] = (acc, value(last).clone(), None if gradient(last) is None else gradient(last).clone())
            del acc, h_grad, h_rest, g_all
        carry["state"] = state
        del h_g, h_r, grads
        ctx.advance(n_in * (j1 - j0))
    return out.result()


def _endpoints(ctx: _Context, x: Tensor, reduce: str | None):
    """No-gradient forward pass at the inputs: outputs, chosen states and activations."""
    with torch.no_grad():
        output, captured = ctx.capture.forward(ctx.model, x)
    scored = ctx.score(output)
    index = torch.arange(x.shape[0], device=x.device)
    states = ctx.target.choose(scored, index)
    return dict(
        output=output,
        captured=captured,
        states=states,
        y=ctx.target(scored, states),
        predictions=output.argmax(dim=1) if output.ndim == 2 else None,
        activations={n: ctx.reduce_layer(captured[n], reduce, n) for n in ctx.names},
    )


def _groups(batch: int, rows_per_input: int, chunk_size: int | None):
    size = batch if chunk_size is None else max(1, chunk_size // rows_per_input)
    for start in range(0, batch, size):
        yield slice(start, min(start + size, batch))


# ActGrad from a baseline as a one-interval path whose only gradient is the one at the input
_AT_INPUT = IntegrationRule(lower=0.0, upper=1.0)


def _actgrad_delta(ctx, x, x_base, reduce, steps, rule, noise_level, seed):
    return _path(ctx, x, x_base, [1.0, 0.0], [True, False], _AT_INPUT, reduce)


def _actgrad_norm_delta(ctx, x, x_base, reduce, steps, rule, noise_level, seed):
    return _path(ctx, x, x_base, [1.0, 0.0], [True, False], _AT_INPUT, reduce, normalize_gradient=True)


def _activation_times_gradient(ctx, x, reduce, normalize_gradient):
    """The paper's ActGrad, h(x) * dy/dh at x: one forward and one backward pass, no baseline."""
    names = ctx.names
    out = _Collector(names)
    for group in _groups(x.shape[0], 1, ctx.chunk_size):
        xg = x[group]
        with torch.enable_grad():
            output, captured = ctx.capture.forward(ctx.model, xg)
            detached = output.detach()
            states = ctx.target.choose(ctx.score(detached), torch.arange(group.start, group.stop, device=x.device))
            y = ctx.target(ctx.score(output), states)
            found = torch.autograd.grad(y.sum(), [captured[n] for n in names], allow_unused=True)
        for name, grad in zip(names, found):
            value = captured[name].detach()
            acc_dtype = _accumulation_dtype(value.dtype)
            grad = torch.zeros_like(value, dtype=acc_dtype) if grad is None else grad.to(acc_dtype)
            if normalize_gradient:
                grad = _unit_norm(grad)
            out.contributions[name].append(ctx.reduce_layer(value.to(acc_dtype) * grad, reduce, name))
            out.activations[name].append(ctx.reduce_layer(value.to(acc_dtype), reduce, name))
        out.y_in.append(y.detach())
        out.y_base.append(torch.full_like(y.detach(), float("nan")))  # the baseline is not evaluated
        if detached.ndim == 2:
            out.predictions.append(detached.argmax(dim=1))
        if states is not None:
            out.states.append(states)
        ctx.advance(xg.shape[0])
    return out.result()


def _actgrad(ctx, x, x_base, reduce, steps, rule, noise_level, seed):
    return _activation_times_gradient(ctx, x, reduce, normalize_gradient=False)


def _actgrad_norm(ctx, x, x_base, reduce, steps, rule, noise_level, seed):
    return _activation_times_gradient(ctx, x, reduce, normalize_gradient=True)


def _ig(ctx, x, x_base, reduce, steps, rule, noise_level, seed):
    alphas = [(steps - j) / steps for j in range(steps + 1)]
    return _path(ctx, x, x_base, alphas, rule.needs_gradient(steps), rule, reduce)


def _smoothgrad(ctx, x, x_base, reduce, samples, rule, noise_level, seed):
    """ActGrad averaged over noisy copies (``samples`` = steps); classes fixed at the clean input."""
    names = ctx.names
    out = _Collector(names)
    for group in _groups(x.shape[0], 2, ctx.chunk_size):
        xg, xbg = x[group], x_base[group]
        clean = _endpoints(ctx, xg, reduce)
        noise = []
        for b in range(group.start, group.stop):
            generator = torch.Generator().manual_seed(seed * 1_000_003 + b)
            noise.append(torch.randn((samples, *x.shape[1:]), generator=generator, dtype=x.dtype))
        noise = torch.stack(noise, dim=1).to(x.device)  # (samples, G, ...)
        spread = (xg.amax(dim=tuple(range(1, x.ndim))) - xg.amin(dim=tuple(range(1, x.ndim))))
        scale = (noise_level * spread).view(-1, *[1] * (x.ndim - 1))
        total = None
        for s in range(samples):
            result = _path(ctx, xg + scale * noise[s], xbg, [1.0, 0.0], [True, False], _AT_INPUT, None,
                           fixed_states=clean["states"])
            if total is None:
                total, y_base = result["contributions"], result["y_base"]
            else:
                for name in names:
                    total[name] += result["contributions"][name]
        for name in names:
            out.contributions[name].append(ctx.reduce_layer(total[name] / samples, reduce, name))
            out.activations[name].append(clean["activations"][name])
        out.y_in.append(clean["y"])
        out.y_base.append(y_base)
        if clean["predictions"] is not None:
            out.predictions.append(clean["predictions"])
        if clean["states"] is not None:
            out.states.append(clean["states"])
    return out.result()


def _inputgrad(ctx, x, x_base, reduce, steps, rule, noise_level, seed):
    """Gradient at x times the forward-mode JVP J_h(x) (x - x')."""
    names = ctx.names
    out = _Collector(names)
    for group in _groups(x.shape[0], 3, ctx.chunk_size):
        xg, xbg = x[group], x_base[group]
        with torch.no_grad(), fwAD.dual_level():
            try:
                output_dual, captured = ctx.capture.forward(ctx.model, fwAD.make_dual(xg, xg - xbg))
            except NotImplementedError as error:
                raise NotImplementedError(
                    f"method: 'inputgrad' needs forward-mode AD through every operation of the "
                    f"model, and one does not support it ({str(error).splitlines()[0]}). Use "
                    "another method, or a non-fused variant of that operation (timm attention: "
                    "set block.attn.fused_attn = False)"
                ) from error
            output = fwAD.unpack_dual(output_dual).primal.clone()
            primal, tangent = {}, {}
            for name in names:
                unpacked = fwAD.unpack_dual(captured[name])
                primal[name] = unpacked.primal.clone()
                tangent[name] = (
                    torch.zeros_like(primal[name])
                    if unpacked.tangent is None
                    else unpacked.tangent.clone()
                )
            del output_dual, captured
        scored = ctx.score(output)
        index = torch.arange(group.start, group.stop, device=x.device)
        states = ctx.target.choose(scored, index)
        with torch.enable_grad():
            out_g, h_g = ctx.capture.forward(ctx.model, xg)
            y = ctx.target(ctx.score(out_g), states)
            found = torch.autograd.grad(y.sum(), [h_g[n] for n in names], allow_unused=True)
        with torch.no_grad():
            out_base, _ = ctx.capture.forward(ctx.model, xbg)
        for name, grad in zip(names, found):
            grad = torch.zeros_like(primal[name]) if grad is None else grad
            acc_dtype = _accumulation_dtype(grad.dtype)
            value = grad.to(acc_dtype) * tangent[name].to(acc_dtype)
            out.contributions[name].append(ctx.reduce_layer(value, reduce, name))
            out.activations[name].append(ctx.reduce_layer(primal[name].to(acc_dtype), reduce, name))
        out.y_in.append(y.detach())
        out.y_base.append(ctx.target(ctx.score(out_base), states))
        if output.ndim == 2:
            out.predictions.append(output.argmax(dim=1))
        if states is not None:
            out.states.append(states)
        ctx.advance(3 * xg.shape[0])
    return out.result()


def _ig_hidden(ctx, x, x_base, reduce, steps, rule, noise_level, seed):
    """IG in each layer's own space; one path per layer (layers upstream see x)."""
    names = ctx.names
    out = _Collector(names)
    alphas, weights = rule.points_and_weights(steps)
    n_points = len(alphas)
    for group in _groups(x.shape[0], n_points, ctx.chunk_size):
        xg, xbg = x[group], x_base[group]
        at_input = _endpoints(ctx, xg, reduce)
        with torch.no_grad():
            out_base, at_base = ctx.capture.forward(ctx.model, xbg)
        states = at_input["states"]
        batch = xg.shape[0]
        for spec in ctx.specs:
            name = spec.name
            h_in, h_base = at_input["captured"][name], at_base[name]
            acc_dtype = _accumulation_dtype(h_in.dtype)
            acc = torch.zeros(h_in.shape, dtype=acc_dtype, device=h_in.device)
            total_rows = batch * n_points
            chunk = ctx.chunk_size or total_rows
            alpha_of_point = torch.tensor(alphas, dtype=h_in.dtype, device=x.device)
            weight_of_point = torch.tensor(weights, dtype=acc_dtype, device=x.device)
            view = (-1,) + (1,) * (h_in.ndim - 1)
            with LayerCapture([spec]) as single:
                for start in range(0, total_rows, chunk):
                    rows = torch.arange(start, min(start + chunk, total_rows), device=x.device)
                    b, k = rows // n_points, rows % n_points
                    alpha, weight = alpha_of_point[k], weight_of_point[k]
                    point = torch.lerp(h_base[b], h_in[b], alpha.view(view)).requires_grad_(True)
                    with torch.enable_grad():
                        output, _ = single.forward(ctx.model, xg[b], replace={name: point})
                        y = ctx.target(ctx.score(output), None if states is None else states[b])
                        (grad,) = torch.autograd.grad(y.sum(), [point], allow_unused=True)
                    if grad is not None:
                        acc.index_add_(0, b, grad.to(acc_dtype) * weight.view(view))
                    ctx.advance(len(rows))
            value = (h_in.to(acc_dtype) - h_base.to(acc_dtype)) * acc
            out.contributions[name].append(ctx.reduce_layer(value, reduce, name))
            out.activations[name].append(at_input["activations"][name])
        out.y_in.append(at_input["y"])
        out.y_base.append(ctx.target(ctx.score(out_base), states))
        if at_input["predictions"] is not None:
            out.predictions.append(at_input["predictions"])
        if states is not None:
            out.states.append(states)
    return out.result()


@dataclass(frozen=True)
class _Method:
    """One method: how it runs, how many model rows it evaluates per input, whether it integrates."""

    run: Callable  # (ctx, x, x_base, reduce, steps, rule, noise_level, seed) -> _Collector.result()
    rows_per_input: Callable  # (steps, rule, n_layers) -> int, for the progress bar
    integrates: bool = False  # takes a rule


_METHODS = {
    "ig": _Method(_ig, lambda steps, rule, n_layers: steps + 1, integrates=True),
    "ig_hidden": _Method(_ig_hidden, lambda steps, rule, n_layers: len(rule.points_and_weights(steps)[0]) * n_layers, integrates=True),
    "actgrad": _Method(_actgrad, lambda steps, rule, n_layers: 1),
    "actgrad_norm": _Method(_actgrad_norm, lambda steps, rule, n_layers: 1),
    "actgrad_delta": _Method(_actgrad_delta, lambda steps, rule, n_layers: 2),
    "actgrad_norm_delta": _Method(_actgrad_norm_delta, lambda steps, rule, n_layers: 2),
    "inputgrad": _Method(_inputgrad, lambda steps, rule, n_layers: 3),
    "smoothgrad": _Method(_smoothgrad, lambda steps, rule, n_layers: 2 * steps),
}
METHODS = tuple(_METHODS)


def _check_tensor(name: str, value: Tensor) -> None:
    if not torch.is_floating_point(value):
        raise TypeError(f"{name}: must be a floating-point tensor, got dtype {value.dtype}")
    if not torch.isfinite(value).all():
        bad = int((~torch.isfinite(value)).sum())
        raise ValueError(f"{name}: contains {bad} NaN or infinite values; clean the data first")


def check_settings(method, rule, steps, chunk_size, reduce, seed, noise_level, target, softmax) -> Target:
    """Check the settings of :func:`contributions` that do not depend on the model (each error names its
    parameter); returns the target object."""
    if method not in METHODS:
        raise ValueError(f"method: unknown method {method!r}; choose one of {METHODS}")
    if rule not in RULES:
        raise ValueError(f"rule: unknown rule {rule!r}; choose one of {RULES}")
    check_int("steps", steps, 1)
    if chunk_size is not None:
        check_int("chunk_size", chunk_size, 1)
    check_reduce(reduce)
    check_int("seed", seed, 0)
    if not (isinstance(noise_level, (int, float)) and math.isfinite(noise_level) and noise_level >= 0):
        raise ValueError(f"noise_level: must be a finite number >= 0, got {noise_level!r}")
    target_obj = as_target(target)
    if softmax and target_obj.uses_distribution:
        raise ValueError(
            f"softmax: target {target_obj.name!r} already works on the softmax distribution; "
            "softmax=True would apply it twice. Leave softmax=False."
        )
    return target_obj


def check_model_and_inputs(model, inputs, target: Target) -> None:
    """Refuse, naming the parameter, a model that is not a Module and inputs that are not a finite
    floating-point batch (B, ...), or that a per-input class target does not fit."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(inputs, Tensor):
        raise TypeError(f"inputs: must be a torch.Tensor, got {type(inputs).__name__}")
    if inputs.ndim < 2:
        raise ValueError(
            f"inputs: shape {tuple(inputs.shape)} has no batch dimension; inputs need shape "
            "(B, ...) (add one with inputs.unsqueeze(0))"
        )
    if inputs.shape[0] == 0:
        raise ValueError("inputs: the batch is empty")
    _check_tensor("inputs", inputs)
    if isinstance(target, ClassTarget):
        target.check_batch(inputs.shape[0])


def _layer_layouts(layout, names: list[str]) -> dict[str, str]:
    """``layout`` (one value or a dict by layer) as one layout per requested layer."""
    if isinstance(layout, str):
        check_layout(layout)
        return {name: layout for name in names}
    if not isinstance(layout, dict):
        raise TypeError(f"layout: must be a string or a dict of layer name to string, got {type(layout).__name__}")
    unknown = sorted(set(layout) - set(names))
    if unknown:
        raise ValueError(f"layout: {unknown} are not among the requested layers {names}")
    for value in layout.values():
        check_layout(value)
    return dict(layout)


def baseline_for(baseline, x: Tensor) -> Tensor:
    """The baseline x' of every input: zeros, or ``baseline`` (per input or shared) on x's device."""
    if baseline is None:
        return torch.zeros_like(x)
    if not isinstance(baseline, Tensor):
        raise TypeError(f"baseline: must be a tensor or None, got {type(baseline).__name__}")
    if baseline.shape not in (x.shape, x.shape[1:]):
        raise ValueError(
            f"baseline: shape {tuple(baseline.shape)} must equal the inputs' "
            f"{tuple(x.shape)} or one input's {tuple(x.shape[1:])}"
        )
    _check_tensor("baseline", baseline)
    return baseline.detach().to(device=x.device, dtype=x.dtype).expand_as(x)


def contributions(
    model: nn.Module,
    inputs: Tensor,
    layers: str | Sequence[str],
    *,
    method: str = "ig",
    steps: int = 10,
    rule: str = "trapezoid",
    target="top1",
    softmax: bool = False,
    baseline: Tensor | None = None,
    reduce: str | None = None,
    chunk_size: int | None = None,
    noise_level: float = 0.15,
    seed: int = 0,
    progress: bool = False,
    layout: str | dict = "auto",
) -> Contributions:
    """Contributions of the units of several hidden layers to a scalar target.

    Parameters
    ----------
    model : nn.Module
        Maps a batch ``(B, ...)`` to outputs ``(B, ...)``. Evaluated in eval mode (its
        modes are restored afterwards); its parameters get no gradients.
    inputs : Tensor, shape (B, ...)
        A batch, e.g. images (B, 3, H, W) or stimuli (B, time, H, W). Moved to the model's
        device; results live on that device.
    layers : str or sequence of str
        ``model.named_modules()`` names; ``"name:input"`` takes the module's input. Layer
        tensors may be (B, C), tokens (B, T, D) or maps (B, C, H, W).
    method : {"ig", "ig_hidden", "actgrad", "actgrad_norm", "actgrad_delta", "actgrad_norm_delta", "inputgrad", "smoothgrad"}
        See the module docstring.
    steps : int
        Integration steps ``m`` (``ig``, ``ig_hidden``); noisy samples (``smoothgrad``).
    rule : {"trapezoid", "left", "right"}
        Riemann rule of the path integral (``ig``, ``ig_hidden``). ``left`` equals Captum's
        ``LayerConductance(method="riemann_trapezoid")``.
    target : str, tuple, callable or codec.targets.Target
        ``"top1"``, ``("topk", k)``, ``("class", idx)``, ``"entropy"``, ``"contrastive"``,
        ``codec.targets.surprisal(mean, cov)`` or ``f(outputs) -> (B,)``. Classes are chosen
        at the input, never re-chosen along the path.
    softmax : bool
        Apply softmax over dimension 1 to the outputs before the target (the paper does for
        classifiers). Refused with ``"entropy"``, which already uses the softmax.
    baseline : Tensor, optional
        ``x'``: shape (B, ...) or (...) shared by all inputs; zeros by default.
    reduce : {None, "sum", "ei"}
        ``None`` keeps full maps; ``"sum"`` sums each channel over space/tokens;
        ``"ei"`` splits each unit into positive and negative parts before summing: (B, 2, C).
    chunk_size : int, optional
        Largest number of rows (interpolated inputs) per forward/backward pass; bounds
        memory. For ``ig``, a pass holds the whole paths of ``chunk_size // (steps + 1)``
        inputs, or, when ``chunk_size < steps + 1``, a run of points of one input's path.
        Results do not depend on it. Default: all rows in one pass.
    noise_level : float
        ``smoothgrad`` noise standard deviation as a fraction of each input's value range.
    seed : int
        ``smoothgrad`` noise seed (noise of input ``b`` depends on ``seed`` and ``b`` only).
    progress : bool
        Show a tqdm progress bar over rows.
    layout : {"auto", "channels_first", "channels_last"} or dict of str to str
        Where each layer's channel axis is, for ``reduce`` (see :mod:`codec.reduce`): one
        value for every layer or one per layer name (others ``"auto"``). ``"auto"`` reads a
        3-D tensor as tokens (B, T, D); a ``Conv1d`` output (B, C, L) needs ``"channels_first"``.

    Returns
    -------
    Contributions
        Per-layer contributions and activations, and ``y(x)``, ``y(x')`` per input.

    Raises
    ------
    ValueError, TypeError
        For unknown methods, rules, targets, reductions or layer names, ``steps < 1``,
        non-finite inputs, inputs without a batch dimension, or a callable target that does
        not return one value per input. Each message names the parameter.
    """
    target_obj = check_settings(method, rule, steps, chunk_size, reduce, seed, noise_level, target, softmax)
    check_model_and_inputs(model, inputs, target_obj)
    specs = resolve_layers(model, layers)
    names = [s.name for s in specs]
    layouts = _layer_layouts(layout, names)
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else inputs.device
    x = inputs.detach().to(device)
    x_base = baseline_for(baseline, x)

    chosen, integration = _METHODS[method], INTEGRATION_RULES[rule]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        total = x.shape[0] * chosen.rows_per_input(steps, integration, len(specs))
        bar = tqdm(total=total, unit="row", desc=f"codec {method}")
    try:
        with eval_mode(model), frozen_parameters(model), LayerCapture(specs, tuple(inputs.shape)) as capture:
            ctx = _Context(model, specs, capture, target_obj, softmax, chunk_size, bar, layouts)
            result = chosen.run(ctx, x, x_base, reduce, steps, integration, noise_level, seed)
    finally:
        if bar is not None:
            bar.close()

    states = result["states"]
    return Contributions(
        contributions=result["contributions"],
        activations=result["activations"],
        target_at_input=result["y_in"],
        target_at_baseline=result["y_base"],
        predictions=result["predictions"],
        target_classes=states,
        method=method,
        rule=rule if chosen.integrates else None,
        steps=steps,
        target=target_obj.describe(),
        softmax=softmax,
        reduce=reduce,
        layers=[s.name for s in specs],
    )
