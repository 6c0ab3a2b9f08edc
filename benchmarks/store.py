"""Memory and time cost of streaming contributions into the store.

The tiny preset's model (shapes_resnet), hidden IG with 10 steps, batches of 64 planted
shapes images, every analysis layer, E/I split:

* peak RSS of a process that streams 500 and one that streams 5,000 images into a store:
  memory must stay flat (the store writes each batch and keeps nothing);
* wall time of the same batches computed with and without writing the store (interleaved,
  best of ``--repeats``): the store's overhead.

Prints one JSON line. Nothing is asserted; targets: rss_5000 / rss_500 <= 1.10 and
store_overhead <= 0.05.

    python benchmarks/store.py [--small 500 --large 5000 --timing 1000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(mode: str, n: int, batch: int, steps: int) -> dict:
    import torch

    from codec import contributions
    from codec.data import model_inputs, shapes
    from codec.models import load_model
    from codec.store import compute_contributions

    torch.manual_seed(0)
    entry = load_model("shapes_resnet")
    dataset = shapes("test", n)
    start = time.perf_counter()
    if mode == "store":
        with tempfile.TemporaryDirectory() as directory:
            compute_contributions(entry, dataset, Path(directory) / "store", steps=steps, batch_size=batch, progress=False)
            seconds = time.perf_counter() - start
    else:  # the same batches, same calls, results dropped
        for first in range(0, n, batch):
            images, _ = model_inputs(dataset, range(first, min(first + batch, n)), entry.transform)
            contributions(entry.model, images, entry.layers, steps=steps, reduce="ei")
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_rss_mb": peak_rss_mb()}


def run_child(mode, n, args) -> dict:
    command = [sys.executable, __file__, "--child", mode, "--n", str(n), "--batch", str(args.batch), "--steps", str(args.steps)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=500)
    parser.add_argument("--large", type=int, default=5000)
    parser.add_argument("--timing", type=int, default=1000, help="images per timing run")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.n, args.batch, args.steps)))
        return

    small, large = run_child("store", args.small, args), run_child("store", args.large, args)
    with_store, without = [], []
    for _ in range(args.repeats):  # interleaved, so that background load hits both
        with_store.append(run_child("store", args.timing, args)["seconds"])
        without.append(run_child("compute", args.timing, args)["seconds"])
    report = {
        "model": "shapes_resnet", "steps": args.steps, "batch": args.batch,
        f"rss_{args.small}_mb": round(small["peak_rss_mb"], 1),
        f"rss_{args.large}_mb": round(large["peak_rss_mb"], 1),
        "rss_ratio": round(large["peak_rss_mb"] / small["peak_rss_mb"], 3),
        f"s_per_image_store_{args.large}": round(large["seconds"] / args.large, 5),
        "timing_images": args.timing,
        "seconds_with_store": round(min(with_store), 2),
        "seconds_without_store": round(min(without), 2),
        "store_overhead": round(min(with_store) / min(without) - 1, 4),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
