"""Command line for the long-running steps: ``python -m codec --help``.

    python -m codec contributions --preset sample --model efficientnet_lite0 --data imagenette \\
        --per-class 100 --method ig --steps 10 --out runs/lite0-imagenette
    python -m codec info runs/lite0-imagenette

The same ``contributions`` command under ``torchrun --nproc_per_node N`` splits the chunks
across the ranks, which write into the same store without locks.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .attribution import METHODS, RULES
from .presets import PRESETS, get_preset


def parse_target(text: str):
    """``top1``, ``max``, ``entropy``, ``contrastive``, ``topk:K`` or ``class:I``."""
    if text in ("top1", "max", "entropy", "contrastive"):
        return text
    name, _, value = text.partition(":")
    if name in ("topk", "class") and value.isdigit():
        return (name, int(value))
    raise argparse.ArgumentTypeError(
        f"unknown target {text!r}: use top1, max, entropy, contrastive, topk:K or class:I"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m codec",
        description="CODEC: contributions of hidden units, stored on disk for later analysis.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "contributions",
        help="compute E/I-split contributions of a dataset into a resumable store",
        description=(
            "Compute the positive and negative contributions per channel (and spatially summed "
            "activations) of every image of a dataset at every analysis layer, into the store "
            "--out. Killed or interrupted, the same command resumes where it stopped; run "
            "again with the same settings, it only reads. Under torchrun the ranks share the "
            "work. Values not given come from --preset."
        ),
    )
    run.add_argument("--out", required=True, help="store directory (created if needed)")
    run.add_argument("--preset", default="tiny", choices=sorted(PRESETS), help="scale whose defaults to use (default: tiny)")
    run.add_argument("--model", help="codec.models name (default: the preset's)")
    run.add_argument("--weights", help="local checkpoint file for the model")
    run.add_argument("--data", help="dataset: shapes, imagenette, imagewoof, imagenet_sample or imagenet (default: the preset's)")
    run.add_argument("--data-dir", help="folder of the real images (default: $CODEC_DATA_DIR; for imagenet: its val folder)")
    run.add_argument("--per-class", type=int, help="images per class (default: the preset's)")
    run.add_argument("--split", default="test", choices=["train", "test"], help="shapes split (default: test)")
    run.add_argument("--seed", type=int, default=0, help="seed of the data selection (default: 0)")
    run.add_argument("--layers", help="comma-separated layer names (default: the model's analysis layers)")
    run.add_argument("--method", default="ig", choices=METHODS, help="contribution method (default: ig)")
    run.add_argument("--steps", type=int, help="integration steps (default: the preset's)")
    run.add_argument("--rule", default="trapezoid", choices=RULES, help="integration rule (default: trapezoid)")
    run.add_argument("--target", default="top1", type=parse_target, help="top1, max, entropy, contrastive, topk:K or class:I (default: top1)")
    run.add_argument("--softmax", action="store_true", help="apply softmax to the outputs before the target")
    run.add_argument("--batch-size", type=int, help="images per batch and per stored chunk (default: the preset's)")
    run.add_argument("--chunk-size", type=int, help="most interpolated inputs per forward/backward pass, to bound memory (default: all of a batch)")
    run.add_argument("--layout", choices=["auto", "channels_first", "channels_last"], default="auto",
                     help="where the layers' channel axis is: auto reads 3-D tensors as tokens (B, T, D) (default: auto)")
    run.add_argument("--noise-level", type=float, default=0.15,
                     help="smoothgrad: noise std as a fraction of each image's value range (default: 0.15)")
    run.add_argument("--noise-seed", type=int, default=0, help="smoothgrad: noise seed (default: 0)")
    run.add_argument("--device", help="cpu, cuda, cuda:N (default: the preset's)")
    run.add_argument("--repair", action="store_true", help="verify every chunk's checksum and recompute damaged ones")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")

    info = commands.add_parser("info", help="print a store's settings and completion state",
                               description="Print the settings that made a store and how many chunks are done.")
    info.add_argument("store", help="store directory")
    info.add_argument("--verify", action="store_true", help="also check every chunk's checksum")
    return parser


#: Each library parameter an error may name -> the flag that sets it, so that the user reads what they typed.
FLAGS = {"out": "--out", "weights": "--weights", "root": "--data-dir", "per_class": "--per-class", "steps": "--steps",
         "batch_size": "--batch-size", "chunk_size": "--chunk-size", "layers": "--layers", "device": "--device",
         "noise_level": "--noise-level", "method": "--method", "rule": "--rule", "target": "--target", "softmax": "--softmax",
         "layout": "--layout", "model": "--model", "dataset": "--data", "split": "--split", "store": "STORE"}


class FlagError(ValueError):
    """A flag's value is wrong: printed as ``error: --flag: ...``."""


def _check_flags(args) -> None:
    """Every flag of ``contributions`` checked before anything is loaded or written."""
    from . import checks
    from .data import DATASETS
    from .models import MODELS

    for flag, value, minimum in (("--per-class", args.per_class, 1), ("--steps", args.steps, 1), ("--batch-size", args.batch_size, 1),
                                 ("--chunk-size", args.chunk_size, 1), ("--seed", args.seed, 0), ("--noise-seed", args.noise_seed, 0)):
        checks.check_optional_int(flag, value, minimum)
    checks.check_number("--noise-level", args.noise_level, minimum=0)
    if args.model is not None:
        checks.check_choice("--model", args.model, sorted(MODELS))
    if args.data is not None:
        checks.check_choice("--data", args.data, sorted(DATASETS))
    if args.device is not None:
        checks.check_device("--device", args.device)
    if args.weights is not None:
        checks.check_file("--weights", args.weights)
    if args.data_dir is not None:
        checks.check_folder("--data-dir", args.data_dir)
    if args.layers is not None and not all(args.layers.split(",")):
        raise FlagError(f"--layers: give comma-separated layer names without empty ones, got {args.layers!r}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise FlagError(f"--out: {args.out!r} is a file; give a folder for the store")


def _dataset(args, preset):
    from . import data

    return data.preset_dataset(preset, name=args.data, per_class=args.per_class, split=args.split,
                               seed=args.seed, root=args.data_dir)


def run_contributions(args) -> int:
    import torch

    from .models import load_model
    from .store import compute_contributions

    _check_flags(args)
    preset = get_preset(args.preset)
    device = args.device or str(preset.resolved_device())
    if int(os.environ.get("WORLD_SIZE", 1)) > 1 and torch.distributed.is_available():
        if not torch.distributed.is_initialized():
            torch.distributed.init_process_group("nccl" if device.startswith("cuda") else "gloo")
        if device.startswith("cuda"):
            device = f"cuda:{os.environ.get('LOCAL_RANK', '0')}"
    entry = load_model(args.model or preset.model, weights=args.weights, device=device)
    dataset = _dataset(args, preset)
    layers = args.layers.split(",") if args.layers else None
    store = compute_contributions(
        entry, dataset, args.out, layers=layers, method=args.method,
        steps=args.steps if args.steps is not None else preset.steps, rule=args.rule,
        target=args.target, softmax=args.softmax,
        batch_size=args.batch_size if args.batch_size is not None else preset.batch_size,
        chunk_size=args.chunk_size, noise_level=args.noise_level, seed=args.noise_seed, device=device, repair=args.repair,
        layout=args.layout,
        progress=not args.no_progress,
    )
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    if int(os.environ.get("RANK", 0)) == 0:
        print(store.describe())
    return 0


def run_info(args) -> int:
    from .store import ContributionStore

    store = ContributionStore.open(args.store)
    print(store.describe())
    if args.verify:
        damaged = store.damaged_chunks()
        print(f"damaged: {damaged if damaged else 'none'}")
        return 1 if damaged else 0
    return 0


def flag_message(error: Exception) -> str:
    """An error's message with the library parameter it starts with replaced by its flag (:data:`FLAGS`)."""
    message = str(error)
    name, colon, rest = message.partition(":")
    return f"{FLAGS[name]}:{rest}" if colon and name in FLAGS else message


def main(argv=None) -> int:
    """Run the command line; the user's errors print ``error: --flag: ...`` and return 2 (no traceback).

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).
    """
    args = build_parser().parse_args(argv)
    try:
        return run_contributions(args) if args.command == "contributions" else run_info(args)
    except (ValueError, TypeError, FileNotFoundError) as error:  # StoreError is a ValueError; internal errors keep their traceback
        print(f"error: {flag_message(error)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
