"""Speed of the contribution engine against Captum, a step-by-step loop, and the floor.

torchvision ResNet-50 (random weights: speed does not depend on them), 224 px inputs,
hidden IG with 10 steps, the 16 bottleneck-block outputs, E/I-split channel sums.

Variants, each in its own subprocess so that its peak memory is its own:

engine        ``codec.contributions`` (default trapezoid rule: 11 points with gradients)
engine_left   the same with ``rule="left"`` (10 points with gradients + 1 without)
captum        Captum ``LayerConductance`` called once per layer (16 x 11 points)
loop          one forward+backward per step with hooks on all layers, copying full maps to
              numpy at every step and integrating in numpy (how the authors' code works)
floor         10 forward+backward passes of the bare model, gradients w.r.t. the input only

Prints one JSON line: seconds per image (best of ``--repeats``), peak memory per variant,
and the ratios captum/engine, loop/engine, engine/floor. Timings are taken in this one run,
side by side; nothing here is asserted.

    python benchmarks/contributions.py                 # CPU, batch 1
    python benchmarks/contributions.py --device cuda --batch 32 --autocast both
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import torch
import torchvision

LAYERS = [f"layer{s}.{b}" for s, n in zip((1, 2, 3, 4), (3, 4, 6, 3)) for b in range(n)]


def build(args):
    torch.manual_seed(0)
    model = torchvision.models.resnet50().eval().to(args.device)
    x = torch.randn(args.batch, 3, args.size, args.size, device=args.device)
    return model, x


def ei_reduce(t: torch.Tensor) -> torch.Tensor:
    return torch.stack([t.clamp(min=0).sum((2, 3)), t.clamp(max=0).sum((2, 3))], dim=1)


def run_engine(model, x, args, rule):
    import codec

    return codec.contributions(
        model, x, LAYERS, method="ig", steps=args.steps, rule=rule, reduce="ei",
        chunk_size=args.chunk_size,
    )


def run_captum(model, x, args):
    from captum.attr import LayerConductance

    with torch.no_grad():
        classes = model(x).argmax(1)
    modules = dict(model.named_modules())
    out = {}
    for name in LAYERS:
        attribution = LayerConductance(model, modules[name]).attribute(
            x, target=classes, n_steps=args.steps, method="riemann_trapezoid",
            internal_batch_size=args.chunk_size,
        )
        out[name] = ei_reduce(attribution.detach())
    return out


def run_loop(model, x, args):
    """Step by step: hooks keep every layer's map and gradient, copied to numpy each step."""
    modules = dict(model.named_modules())
    with torch.no_grad():
        classes = model(x).argmax(1)
    for p in model.parameters():
        p.requires_grad_(False)
    acts, grads = {}, {}
    handles = []
    for name in LAYERS:
        def hook(module, inputs, output, name=name):
            acts[name] = output
            output.register_hook(lambda g, name=name: grads.__setitem__(name, g))
        handles.append(modules[name].register_forward_hook(hook))
    steps_h = {n: [] for n in LAYERS}
    steps_g = {n: [] for n in LAYERS}
    for k in range(args.steps + 1):
        point = (k / args.steps * x).requires_grad_(True)
        y = model(point).gather(1, classes[:, None]).sum()
        y.backward()
        for name in LAYERS:
            steps_h[name].append(acts[name].detach().cpu().numpy())
            steps_g[name].append(grads[name].detach().cpu().numpy())
    for h in handles:
        h.remove()
    out = {}
    for name in LAYERS:
        h, g = np.stack(steps_h[name]), np.stack(steps_g[name])
        contribution = (0.5 * (g[1:] + g[:-1]) * (h[1:] - h[:-1])).sum(0)
        out[name] = np.stack([np.clip(contribution, 0, None).sum((2, 3)),
                              np.clip(contribution, None, 0).sum((2, 3))], axis=1)
    return out


def run_floor(model, x, args):
    for p in model.parameters():
        p.requires_grad_(False)
    points = torch.cat([(k / args.steps) * x for k in range(1, args.steps + 1)]).requires_grad_(True)
    y = model(points).max(1).values.sum()
    (grad,) = torch.autograd.grad(y, points)
    return grad


def current_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(args) -> dict:
    torch.set_num_threads(args.threads)
    model, x = build(args)
    rss_before = current_rss_mb()
    fn = {
        "engine": lambda: run_engine(model, x, args, "trapezoid"),
        "engine_left": lambda: run_engine(model, x, args, "left"),
        "captum": lambda: run_captum(model, x, args),
        "loop": lambda: run_loop(model, x, args),
        "floor": lambda: run_floor(model, x, args),
    }[args.variant]
    autocast = (
        torch.autocast(args.device.split(":")[0], dtype=torch.bfloat16)
        if args.bf16 else torch.autocast("cpu", enabled=False)
    )
    cuda = args.device.startswith("cuda")
    times = []
    with autocast:
        for _ in range(args.repeats + 1):  # the first run warms up
            if cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            fn()
            if cuda:
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    result = {
        "variant": args.variant,
        "s_per_image": min(times[1:]) / args.batch,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_mb": rss_before,
    }
    if cuda:
        result["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2, help="timed runs after one warm-up")
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--variants", default="engine,engine_left,floor,loop,captum")
    parser.add_argument("--autocast", choices=["off", "on", "both"], default="off",
                        help="bf16 autocast (GPU): off, on, or both")
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--bf16", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats: must be at least 1 (one warm-up run comes on top)")
    if args.batch < 1:
        parser.error("--batch: must be at least 1")

    if args.variant:  # child process
        print(json.dumps(measure(args)))
        return

    report = {
        "model": "resnet50", "device": args.device, "batch": args.batch, "size": args.size,
        "steps": args.steps, "layers": len(LAYERS), "threads": args.threads,
        "torch": torch.__version__,
    }
    modes = {"off": [False], "on": [True], "both": [False, True]}[args.autocast]
    base = [sys.executable, __file__, "--device", args.device, "--batch", str(args.batch),
            "--size", str(args.size), "--steps", str(args.steps), "--repeats", str(args.repeats),
            "--threads", str(args.threads)]
    if args.chunk_size:
        base += ["--chunk-size", str(args.chunk_size)]
    for bf16 in modes:
        suffix = "_bf16" if bf16 else ""
        for variant in args.variants.split(","):
            command = base + ["--variant", variant] + (["--bf16"] if bf16 else [])
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            measured = json.loads(output.strip().splitlines()[-1])
            report[f"{variant}{suffix}_s_per_image"] = measured["s_per_image"]
            report[f"{variant}{suffix}_peak_rss_mb"] = round(measured["peak_rss_mb"], 1)
            report[f"{variant}{suffix}_working_mb"] = round(
                measured["peak_rss_mb"] - measured["rss_before_mb"], 1
            )
            if "peak_gpu_mb" in measured:
                report[f"{variant}{suffix}_peak_gpu_mb"] = round(measured["peak_gpu_mb"], 1)
        r = {k: v for k, v in report.items() if k.endswith(f"{suffix}_s_per_image")}

        def ratio(a, b):
            a, b = f"{a}{suffix}_s_per_image", f"{b}{suffix}_s_per_image"
            return round(r[a] / r[b], 3) if a in r and b in r else None

        report[f"captum_over_engine{suffix}"] = ratio("captum", "engine")
        report[f"loop_over_engine{suffix}"] = ratio("loop", "engine")
        report[f"engine_over_floor{suffix}"] = ratio("engine", "floor")
        report[f"engine_left_over_floor{suffix}"] = ratio("engine_left", "floor")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
