"""Speed of the control section's sweep (Fig. 6D-E): prefix-cached and batched against one full forward pass per mask.

The workload is the sweep of ``codec.control.depth_sweep``: at every analysis layer of the
model, ``--trials`` trials (a target and an off-target class, ``--per-class`` images each), each
evaluating 4 sources of channels (three rankings and a random order) × the paper's 9 pcts =
36 masks on the trial's images, for ablation and for preservation. The rankings are random
permutations here: which channels a mask zeroes does not change its cost. The images are the
planted shapes for the shapes models and, for ImageNet models (no data on a GPU machine),
synthetic colour grids drawn until ``--classes`` predicted classes have ``--per-class`` images
each. The labels are the network's own predictions on the images, so every class can be drawn.
Three ways to run the same masks on the same images, timed side by side in one run:

* ``cached``: :class:`codec.control.MaskedForward` as the book runs it: the network up to the
  layer once per image, then only the rest of it per mask, ``--rows`` rows (masks × images)
  per pass;
* ``batched``: the whole network per mask, masks batched ``--rows`` rows per pass
  (``cache_prefix=False``): what batching alone gives;
* ``per_mask``: the whole network once per mask on the trial's images, the masks spliced in by
  hooks (the authors' way).

The three give the same accuracies (checked: the largest difference of the curves is printed).
Prints one JSON line with seconds per sweep, the ratios, and the ratio at each layer; nothing is
asserted. What caching can save at a layer is the part of the network before it: little at the
first block, nearly all at the last. Targets: ``per_mask_over_cached_later_half`` >= 5 on CPU
for the tiny ResNet (the whole sweep's ratio is bounded by its first layers, see
benchmarks/README.md); on a GPU, where batching also pays, ``per_mask_over_cached`` >= 5 for
EfficientNet-Lite0.

    python benchmarks/control.py                                  # tiny: shapes_resnet, all 6 layers, CPU
    python benchmarks/control.py --model efficientnet_lite0 --device cuda --rows 2048
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch


def sweep_seconds(model, inputs, labels, classes, layers, rankings, args, cache_prefix, rows_per_pass, sync):
    """Seconds of the sweep at each layer (both modes) and the curves, one way of running it."""
    from codec import control

    seconds, tables = {}, []
    for layer in layers:
        sync()
        start = time.perf_counter()
        forward = control.MaskedForward(model, inputs, [layer], cache_prefix=cache_prefix, rows_per_pass=rows_per_pass)
        for mode in control.MODES:
            table = control.control_sweep(forward, layer, labels, classes, rankings[layer], control.PAPER_PCTS, args.trials, mode)
            tables.append(table[["ratio_target", "ratio_off"]].to_numpy())
        sync()
        seconds[layer] = time.perf_counter() - start
    return seconds, np.concatenate(tables)


def images_of_predicted_classes(model, n_classes: int, per_class: int, device, max_batches: int = 60, seed: int = 0):
    """``per_class`` synthetic images of each of ``n_classes`` classes the model predicts, and those predictions.

    A pretrained ImageNet network puts Gaussian noise into one class (EfficientNet-Lite0: all of
    them), and a sweep needs two classes at least. Random colour grids of 2 to 64 cells a side,
    smoothly upsampled to 224 px, fall into many classes (14 in 96 such images for EfficientNet-Lite0).
    Batches of them are drawn until enough classes have ``per_class`` images each.

    Returns ``inputs`` (n_classes * per_class, 3, 224, 224) on ``device`` and ``labels`` (same length).
    """
    generator = torch.Generator().manual_seed(seed)
    cells = (2, 4, 8, 16, 32, 64)
    found: dict[int, list] = {}
    for _ in range(max_batches):
        grids = [torch.rand(1, 3, cells[i % len(cells)], cells[i % len(cells)], generator=generator) for i in range(64)]
        batch = torch.cat([torch.nn.functional.interpolate(grid, size=224, mode="bilinear", align_corners=False)
                           for grid in grids]) * 2 - 1
        with torch.no_grad():
            predicted = model(batch.to(device)).argmax(1).cpu().tolist()
        for image, label in zip(batch, predicted):
            found.setdefault(label, [])
            if len(found[label]) < per_class:
                found[label].append(image)
        full = [label for label, images in found.items() if len(images) == per_class]
        if len(full) >= n_classes:
            break
    if len(full) < 2:
        raise SystemExit(f"--classes: the model put {max_batches * 64} synthetic images into fewer than two classes with "
                         f"{per_class} images each; lower --per-class")
    chosen = full[:n_classes]
    if len(chosen) < n_classes:
        print(f"--classes: only {len(chosen)} classes got {per_class} of {max_batches * 64} synthetic images; "
              f"the sweep runs on those", file=sys.stderr)
    inputs = torch.stack([image for label in chosen for image in found[label]]).to(device)
    return inputs, np.repeat(chosen, per_class)


def main(argv=None):
    from codec.data import model_inputs, preset_dataset
    from codec.models import load_model
    from codec.presets import get_preset

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="shapes_resnet")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--per-class", type=int, default=10, help="images per class (a trial runs two classes' images)")
    parser.add_argument("--classes", type=int, default=16, help="classes of the sweep")
    parser.add_argument("--rows", type=int, default=80, help="rows (masks × images) per pass of the cached and batched runs")
    parser.add_argument("--layers", type=int, default=None, help="how many of the model's layers, evenly spaced (default all)")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from codec import control

    device = torch.device(args.device)
    entry = load_model(args.model, device=device)
    model = entry.model.eval()
    n_images = args.classes * args.per_class
    if args.model.startswith("shapes"):
        dataset = preset_dataset(get_preset("tiny"), per_class=args.per_class)
        inputs, _ = model_inputs(dataset, range(min(n_images, len(dataset))), entry.transform)
        inputs = inputs.to(device)
        with torch.no_grad():
            labels = model(inputs).argmax(1).cpu().numpy()
    else:
        inputs, labels = images_of_predicted_classes(model, args.classes, args.per_class, device)
    # labels: the network's own predictions, so every class it predicts has accuracy 1 unperturbed
    classes = np.unique(labels)
    layers = control.evenly_spaced(entry.layers, args.layers)
    rng = np.random.default_rng(0)
    probe = control.MaskedForward(model, inputs[:1], layers, cache_prefix=False)
    rankings = {layer: {name: np.stack([rng.permutation(probe.channels[layer]) for _ in classes]) for name in control.SOURCES}
                for layer in layers}

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    per_trial_rows = 2 * args.per_class
    runs = {"cached": (True, args.rows), "batched": (False, args.rows), "per_mask": (False, per_trial_rows)}
    warm = argparse.Namespace(trials=1)
    for cache_prefix, rows in ((True, args.rows), (False, per_trial_rows)):
        sweep_seconds(model, inputs, labels, classes, layers[:1], rankings, warm, cache_prefix, rows, sync)
    seconds, curves = {}, {}
    for name, (cache_prefix, rows) in runs.items():
        seconds[name], curves[name] = sweep_seconds(model, inputs, labels, classes, layers, rankings, args, cache_prefix, rows, sync)
    masks = len(layers) * 2 * args.trials * 4 * len(control.PAPER_PCTS)
    total = {name: sum(per_layer.values()) for name, per_layer in seconds.items()}
    later = layers[len(layers) // 2:]
    report = {
        "model": args.model, "device": str(device), "layers": len(layers), "trials": args.trials, "classes": len(classes),
        "images_per_trial": per_trial_rows, "masks": masks, "rows_per_pass": args.rows, "threads": torch.get_num_threads(),
        **{f"{name}_s": round(value, 3) for name, value in total.items()},
        "per_mask_over_cached": round(total["per_mask"] / total["cached"], 2),
        "batched_over_cached": round(total["batched"] / total["cached"], 2),
        "per_mask_over_batched": round(total["per_mask"] / total["batched"], 2),
        # the part after a layer is what a mask costs: the later half of the layers is where caching pays
        "per_mask_over_cached_later_half": round(sum(seconds["per_mask"][layer] for layer in later)
                                                 / sum(seconds["cached"][layer] for layer in later), 2),
        "per_mask_over_cached_by_layer": {layer: round(seconds["per_mask"][layer] / seconds["cached"][layer], 2) for layer in layers},
        "largest_curve_difference": float(max(np.nanmax(np.abs(curves[name] - curves["per_mask"])) for name in runs)),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
