"""A slow, literal reference implementation of every contribution method.

One input at a time, one step at a time, one unit at a time, written from the equations in
``codec.attribution``'s docstring (DESIGN §1) and sharing no code with the engine. Meant for
tiny networks only. The target is the top-1 logit, with its class chosen at the input.
"""

from __future__ import annotations

import torch
from torch import nn


def _layer_value_and_grad(model, module, point, cls, replace=None):
    """h(point) and dy/dh at point for one input (1, ...), by plain autograd."""
    store = {}

    def hook(mod, inputs, output):
        if replace is not None:
            output = replace.clone().requires_grad_(True)
        elif not output.requires_grad:
            output = output.detach().requires_grad_(True)
        store["h"] = output
        return output

    handle = module.register_forward_hook(hook)
    try:
        with torch.enable_grad():
            y = model(point)[0, cls]
            (grad,) = torch.autograd.grad(y, store["h"])
    finally:
        handle.remove()
    return store["h"].detach()[0], grad[0]


def _layer_value(model, module, point):
    store = {}
    handle = module.register_forward_hook(lambda m, i, o: store.__setitem__("h", o.detach()))
    try:
        with torch.no_grad():
            model(point)
    finally:
        handle.remove()
    return store["h"][0]


def literal_contributions(
    model: nn.Module,
    inputs: torch.Tensor,
    layer: str,
    method: str,
    steps: int = 4,
    rule: str = "trapezoid",
    noise_level: float = 0.15,
    seed: int = 0,
) -> torch.Tensor:
    """Contributions (B, *unit_shape) of one layer, computed literally."""
    model.eval()
    module = dict(model.named_modules())[layer]
    results = []
    for b in range(inputs.shape[0]):
        x = inputs[b : b + 1]
        base = torch.zeros_like(x)
        with torch.no_grad():
            cls = int(model(x)[0].argmax())
        h_x = _layer_value(model, module, x)
        h_base = _layer_value(model, module, base)
        units = h_x.numel()
        contribution = torch.zeros(units, dtype=torch.float64)

        if method == "ig":
            hs, gs = [], []
            for k in range(steps + 1):
                point = base + (k / steps) * (x - base)
                h, g = _layer_value_and_grad(model, module, point, cls)
                hs.append(h.flatten())
                gs.append(g.flatten())
            for k in range(1, steps + 1):
                for j in range(units):
                    if rule == "left":
                        weight = gs[k - 1][j]
                    elif rule == "right":
                        weight = gs[k][j]
                    else:
                        weight = 0.5 * (gs[k - 1][j] + gs[k][j])
                    contribution[j] += weight * (hs[k][j] - hs[k - 1][j])

        elif method == "ig_hidden":
            if rule == "left":
                points = [(k / steps, 1 / steps) for k in range(steps)]
            elif rule == "right":
                points = [(k / steps, 1 / steps) for k in range(1, steps + 1)]
            else:
                points = [(k / steps, (0.5 if k in (0, steps) else 1.0) / steps) for k in range(steps + 1)]
            for alpha, weight in points:
                replaced = (h_base + alpha * (h_x - h_base))[None]
                _, g = _layer_value_and_grad(model, module, x, cls, replace=replaced)
                g = g.flatten()
                for j in range(units):
                    contribution[j] += weight * g[j] * (h_x.flatten()[j] - h_base.flatten()[j])

        elif method in ("actgrad", "actgrad_norm", "actgrad_delta", "actgrad_norm_delta"):
            _, g = _layer_value_and_grad(model, module, x, cls)
            g = g.flatten()
            norm = torch.sqrt(sum(g[j] ** 2 for j in range(units))) if "norm" in method else 1.0
            from_baseline = method.endswith("_delta")
            for j in range(units):
                reference_value = h_base.flatten()[j] if from_baseline else 0.0
                contribution[j] = (h_x.flatten()[j] - reference_value) * g[j] / norm

        elif method == "inputgrad":
            _, g = _layer_value_and_grad(model, module, x, cls)
            # Per-unit Jacobian dh/dx, (*unit_shape, 1, *input_shape), by reverse mode.
            jacobian = torch.autograd.functional.jacobian(lambda inp: _hidden(model, module, inp), x)
            jacobian = jacobian.reshape(units, -1)
            delta = (x - base).flatten()
            g = g.flatten()
            for j in range(units):
                contribution[j] = sum(g[j] * jacobian[j, i] * delta[i] for i in range(delta.numel()))

        elif method == "smoothgrad":
            generator = torch.Generator().manual_seed(seed * 1_000_003 + b)
            noise = torch.randn((steps, *x.shape[1:]), generator=generator, dtype=x.dtype)
            spread = x.max() - x.min()
            for s in range(steps):
                noisy = x + noise_level * spread * noise[s][None]
                h, g = _layer_value_and_grad(model, module, noisy, cls)
                h, g = h.flatten(), g.flatten()
                for j in range(units):
                    contribution[j] += (h[j] - h_base.flatten()[j]) * g[j] / steps
        else:
            raise ValueError(method)
        results.append(contribution.reshape(h_x.shape))
    return torch.stack(results)


def _hidden(model, module, inp):
    """h(inp) with autograd kept, for the Jacobian."""
    store = {}
    handle = module.register_forward_hook(lambda m, i, o: store.__setitem__("h", o))
    try:
        model(inp)
    finally:
        handle.remove()
    return store["h"][0]


def literal_input_maps(model, module, x, weights, cls, points=((1.0, 1.0),), baseline=None):
    """Input-space maps of one input (1, ...) and one channel selection, one unit at a time.

    For every path point (alpha, omega) and every unit (k, p) of the layer with a nonzero weight
    ``weights[k]``: one backward pass for dh_{k,p}/dx, times omega * w_k * dy/dh_{k,p} and
    (x - x'); the unit's contribution is the same weighted product with <dh_{k,p}/dx, x - x'>
    (summed over the path), and its terms go to the positive map if that contribution is > 0,
    else to the negative one. Returns ``(positive, negative)``, each shaped like ``x[0]``.
    """
    x_base = torch.zeros_like(x) if baseline is None else baseline
    delta = (x - x_base)[0]
    n_channels = weights.shape[0]
    terms = []  # per unit: (sum over points of omega * g * J_row, sum over points of omega * g * <J_row, delta>)
    for alpha, omega in points:
        point = (x_base + alpha * (x - x_base)).clone().requires_grad_(True)
        store = {}
        handle = module.register_forward_hook(lambda m, i, o: store.__setitem__("h", o))
        try:
            with torch.enable_grad():
                y = model(point)[0, cls]
                h = store["h"]
                (g,) = torch.autograd.grad(y, h, retain_graph=True)
        finally:
            handle.remove()
        flat_h, flat_g = h[0].reshape(n_channels, -1), g[0].reshape(n_channels, -1)
        for k in range(n_channels):
            if weights[k] == 0:
                continue
            for p in range(flat_h.shape[1]):
                (row,) = torch.autograd.grad(flat_h[k, p], point, retain_graph=True)
                sensitivity = omega * weights[k] * flat_g[k, p] * row[0]
                term = omega * flat_g[k, p] * (row[0] * delta).sum()
                terms.append(((k, p), sensitivity, term))
    by_unit = {}
    for key, sensitivity, term in terms:
        total_s, total_t = by_unit.get(key, (0.0, 0.0))
        by_unit[key] = (total_s + sensitivity, total_t + term)
    positive = torch.zeros_like(delta)
    negative = torch.zeros_like(delta)
    for sensitivity, term in by_unit.values():
        if term > 0:
            positive = positive + sensitivity * delta
        else:
            negative = negative + sensitivity * delta
    return positive, negative
