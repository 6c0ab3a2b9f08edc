"""Speed of input-space mode maps (Fig. 7): one VJP/JVP computation against the per-unit loop.

The workload: the map of one mode's top ``--channels`` channels (weight 1 each) at one layer, on
one image, with its split into the parts of units with positive and negative contribution. Two
ways, timed side by side in one run on the same image and channels:

* ``vjp``: :func:`codec.visualize.input_maps`: one forward-mode pass for every unit's
  contribution, one forward and one backward pass for ``∂y/∂h``, and one batched backward pass
  (vector–Jacobian product) for both signs' sensitivities;
* ``loop``: the authors' way, one backward pass ``∂h_{k,p}/∂x`` per selected channel *and*
  position (``channels × H × W`` passes), each weighted by ``∂y/∂h_{k,p}`` and added to the
  positive or negative map by the sign of the unit's contribution.

Both give the same maps (the largest absolute difference, relative to the largest map value, is
printed). Prints one JSON line; nothing is asserted. Target: ``loop_over_vjp`` >= 300 on CPU for
EfficientNet-Lite0 at a 14×14 layer with 20 channels (the loop needs 3,920 backward passes, the
VJP/JVP method a handful).

    python benchmarks/maps.py                                         # EfficientNet-Lite0, blocks.4.0, 20 channels
    python benchmarks/maps.py --model shapes_resnet --layer layer2.1  # the tiny ResNet
    python benchmarks/maps.py --device cuda
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch


def loop_maps(model, image, layer_module, channels, target_class):
    """Positive and negative maps (3, H, W) of one image by one backward pass per selected unit."""
    store = {}
    handle = layer_module.register_forward_hook(lambda module, args, output: store.__setitem__("h", output))
    try:
        x = image.clone().requires_grad_(True)
        with torch.enable_grad():
            y = model(x)[0, target_class]
            hidden = store["h"]
            (gradient,) = torch.autograd.grad(y, hidden, retain_graph=True)
            positive, negative = torch.zeros_like(image[0]), torch.zeros_like(image[0])
            for k in channels:
                for i in range(hidden.shape[2]):
                    for j in range(hidden.shape[3]):
                        (row,) = torch.autograd.grad(hidden[0, k, i, j], x, retain_graph=True)
                        term = gradient[0, k, i, j] * row[0] * image[0]
                        if term.sum() > 0:
                            positive += term
                        else:
                            negative += term
    finally:
        handle.remove()
    return positive.detach(), negative.detach()


def main(argv=None):
    from codec.data import model_inputs, preset_dataset
    from codec.models import load_model
    from codec.presets import get_preset
    from codec.visualize import channel_selection, input_maps

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--layer", default="blocks.4.0", help="a layer of the model (EfficientNet-Lite0: blocks.4.0 is 14×14)")
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    entry = load_model(args.model, device=device)
    model = entry.model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    if args.model.startswith("shapes"):
        image, _ = model_inputs(preset_dataset(get_preset("tiny"), per_class=1), range(1), entry.transform)
    else:
        image = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    image = image.to(device)
    with torch.no_grad():
        target_class = int(model(image).argmax(1))
    layer_module = dict(model.named_modules())[args.layer]
    probe = {}
    handle = layer_module.register_forward_hook(lambda module, a, output: probe.__setitem__("shape", tuple(output.shape)))
    with torch.no_grad():
        model(image)
    handle.remove()
    n_channels, height, width = probe["shape"][1:]
    channels = list(np.random.default_rng(0).choice(n_channels, args.channels, replace=False))
    selection = channel_selection([channels], n_channels).to(device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    input_maps(model, image, args.layer, selection)  # warm-up
    sync()
    start = time.perf_counter()
    fast = input_maps(model, image, args.layer, selection)
    sync()
    vjp_s = time.perf_counter() - start
    start = time.perf_counter()
    positive, negative = loop_maps(model, image, layer_module, channels, target_class)
    sync()
    loop_s = time.perf_counter() - start
    scale = float(fast.maps.abs().max())
    report = {
        "model": args.model, "layer": args.layer, "layer_shape": [n_channels, height, width], "channels": args.channels,
        "backward_passes_of_the_loop": args.channels * height * width, "device": str(device), "threads": torch.get_num_threads(),
        "vjp_s": round(vjp_s, 4), "loop_s": round(loop_s, 2), "loop_over_vjp": round(loop_s / vjp_s, 1),
        "largest_difference_relative": max(float((fast.positive[0, 0] - positive).abs().max()),
                                           float((fast.negative[0, 0] - negative).abs().max())) / scale,
        "completeness_error": float(fast.completeness_error().max()),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
