"""Speed of the retina CNN's first layer: the FFT convolution against ``conv2d``, and the section's steps.

The paper's retina CNN correlates a window of 40 frames × 50×50 pixels with 15×15 kernels. On a
CPU, ``conv2d``'s gradients dominate both training (weight gradient) and IRFs (input gradient).
:class:`codec.models.retina.SpectralConv2d` computes the same layer through the FFT. Timed side by
side in one run, per window (batch ``--batch``):

* ``train``: a forward pass and the gradient of every parameter (a training step without the optimiser);
* ``ig``: one hidden-IG evaluation at ``relu1``/``relu2`` (forward, and backward to the hidden layers);
* ``irf``: a forward pass and the input gradient (one IRF).

Prints one JSON line with the milliseconds per window of each and the ratios conv2d / FFT;
nothing is asserted.

    python benchmarks/retina.py                      # the paper's size, CPU
    python benchmarks/retina.py --device cuda
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from codec.models.retina import RetinaCNN


def per_window_ms(step, batch: int, repeats: int, sync) -> float:
    """Milliseconds per window of ``step`` (a batch of ``batch`` windows), after one warm-up call.

    ``sync`` waits for the device's queued work: on a GPU a step returns before its kernels have
    run, so the clock stops only after ``sync`` (without it the last steps' work would be missed).
    """
    step()  # warm-up
    sync()
    started = time.perf_counter()
    for _ in range(repeats):
        step()
    sync()
    return (time.perf_counter() - started) / repeats / batch * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    x = torch.randn(args.batch, 40, 50, 50, device=device)
    results = {"device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
               "threads": torch.get_num_threads(), "batch": args.batch}

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    for spectral in (False, True):
        torch.manual_seed(0)
        model = RetinaCNN(16, spectral=spectral).to(device)

        def train_step():
            model.train()
            model(x).sum().backward()

        def ig_step():
            model.eval()
            captured = {}
            hooks = [getattr(model, name).register_forward_hook(lambda m, i, o, name=name: captured.__setitem__(name, o))
                     for name in ("relu1", "relu2")]
            out = model(x).sum()
            torch.autograd.grad(out, [captured["relu1"], captured["relu2"]])
            for hook in hooks:
                hook.remove()

        def irf_step():
            model.eval()
            window = x.clone().requires_grad_(True)
            torch.autograd.grad(model(window)[:, 0].sum(), window)

        name = "fft" if spectral else "conv2d"
        for step_name, step in (("train", train_step), ("ig", ig_step), ("irf", irf_step)):
            results[f"{step_name}_{name}_ms"] = round(per_window_ms(step, args.batch, args.repeats, sync), 3)
    for step_name in ("train", "ig", "irf"):
        results[f"{step_name}_conv2d_over_fft"] = round(results[f"{step_name}_conv2d_ms"] / results[f"{step_name}_fft_ms"], 2)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
