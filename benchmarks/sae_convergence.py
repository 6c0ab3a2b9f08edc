"""How long the SAE as released (``STSAE``) needs to train on a scale's data: its R² and alive modes
epoch by epoch, against the SAE as written trained as the book trains it (issue 32, item 4).

The authors train ``STSAE`` for 300 epochs over ImageNet's 50,000 images (about 117,000 steps of
128 rows, Adam at 5e-5, the rate halving after 10 epochs without improvement). A book scale has
far fewer images (sample: 2,000, 16 steps per epoch), so its epoch limit says little: this script
trains it with no early stopping for ``--epochs`` epochs and reports when its R² settles.

For each layer and each kind (contributions, activations as the book's SAEs read them):

* ``r2_at``: the global R² of the epoch's batches (train mode) after 10, 25, 50, 100, 200, ...
  epochs, and ``alive_at``: the modes that fired in that epoch;
* ``epochs_to_settle``: the first epoch whose R² is within ``--tolerance`` (default 0.01) of the
  best R² of the run, and the steps (batches) that makes;
* ``r2_final`` and ``alive_final``: the trained SAE in eval mode on all rows (codec.sae.evaluate);
* ``seconds_per_epoch`` (informational: this is a measurement of training length, not a timing);
* ``as_written``: the same numbers for the SAE as written, trained as the scale trains it.

Prints a line per SAE and one JSON line at the end. Nothing is asserted.

    python benchmarks/sae_convergence.py --preset sample --layers blocks.4.2,blocks.5.2 --epochs 1500
    python benchmarks/sae_convergence.py --preset sample --layers blocks.5.2 --export runs/convergence.npz   # matrices only
    python benchmarks/sae_convergence.py --matrices runs/convergence.npz --device cuda --epochs 20000 --lr 5e-5   # a GPU, no store
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHECKPOINTS = (10, 25, 50, 100, 200, 300, 500, 1000, 1500, 2000, 3000, 5000, 10000, 20000)


def settle(r2: list[float], tolerance: float) -> int:
    """The first epoch (1-based) whose R² is within ``tolerance`` of the run's best."""
    best = max(r2)
    return next(i + 1 for i, value in enumerate(r2) if value >= best - tolerance)


def train(matrix: np.ndarray, settings, device: str, tolerance: float) -> dict:
    """Train one SAE of ``settings`` on ``matrix`` (N, F) and summarise its history."""
    from codec import sae as codec_sae

    n_modes = codec_sae.n_modes_for(matrix.shape[1], settings.expansion)
    model = settings.build(matrix.shape[1], n_modes)
    started = time.perf_counter()
    model, history = codec_sae.train_sae(model, matrix, epochs=settings.epochs, batch_size=settings.batch_size, lr=settings.lr,
                                         l1_codes=settings.l1_codes, l1_dictionary=settings.l1_dictionary, patience=settings.patience,
                                         seed=settings.seed, device=device, progress=False,
                                         l1_dictionary_reduction=settings.l1_dictionary_reduction,
                                         plateau_patience=settings.plateau_patience)
    seconds = time.perf_counter() - started
    final = codec_sae.evaluate(model, matrix)
    r2 = history["r2"]
    steps_per_epoch = -(-matrix.shape[0] // settings.batch_size)
    at = [epoch for epoch in CHECKPOINTS if epoch <= len(r2)]
    settled = settle(r2, tolerance)
    return {"sae": type(settings).__name__, "epochs_run": len(r2), "lr": settings.lr, "modes": n_modes,
            "r2_at": {str(e): round(r2[e - 1], 4) for e in at},
            "alive_at": {str(e): n_modes - history["dead_modes"][e - 1] for e in at},
            "epochs_to_settle": settled, "steps_to_settle": settled * steps_per_epoch, "best_r2": round(max(r2), 4),
            "r2_final": round(float(final["r2"]), 4), "alive_final": int(final["alive_modes"]),
            "seconds_per_epoch": round(seconds / len(r2), 3)}


def store_matrices(preset: str, layers: list[str]) -> tuple[dict, dict]:
    """The feature matrices the book's SAEs read at ``layers`` of the preset's store, and the scale's settings."""
    from codec.experiment import Experiment
    from codec.sae import PAPER_CONFIGURATIONS, feature_matrix

    experiment = Experiment.from_preset(preset)
    store = experiment.store()
    written = experiment.sae_settings(PAPER_CONFIGURATIONS["as written"])
    released = experiment.sae_settings(PAPER_CONFIGURATIONS["as released"])
    unknown = sorted(set(layers) - set(store.layers))
    if unknown:
        raise SystemExit(f"--layers: {unknown} are not layers of the {preset} store; it has {store.layers}")
    matrices = {f"{layer}|{kind}": feature_matrix(store, layer, kind, written.inputs, written.activation_part)
                for layer in layers for kind in ("contributions", "activations")}
    return matrices, {"as written": written, "as released": released}


def main(argv=None) -> None:
    from codec.sae import PAPER_CONFIGURATIONS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="sample", help="the scale whose store and SAE settings are read (default sample)")
    parser.add_argument("--layers", default="blocks.5.2", help="comma-separated store layers (default blocks.5.2, a control layer)")
    parser.add_argument("--matrices", type=Path, help="train on the matrices saved by --export instead of a store")
    parser.add_argument("--export", type=Path, help="only save the layers' feature matrices (npz) for --matrices, then stop")
    parser.add_argument("--epochs", type=int, default=1500, help="epochs of the SAE as released, no early stopping (default 1500)")
    parser.add_argument("--lr", type=float, help="Adam rate of the SAE as released (default: the scale's)")
    parser.add_argument("--tolerance", type=float, default=0.01, help="R² within this of the best counts as settled (default 0.01)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--skip-written", action="store_true", help="train only the SAE as released")
    args = parser.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.epochs < 1 or args.tolerance <= 0:
        parser.error("--epochs: at least 1; --tolerance: above 0")
    if args.matrices:
        saved = np.load(args.matrices, allow_pickle=False)
        matrices = {key: saved[key] for key in saved.files if key != "settings"}
        settings = {name: PAPER_CONFIGURATIONS[name](**fields) for name, fields in json.loads(str(saved["settings"])).items()}
    else:
        matrices, settings = store_matrices(args.preset, args.layers.split(","))
    if args.export:
        from dataclasses import asdict

        np.savez(args.export, settings=json.dumps({name: asdict(s) for name, s in settings.items()}), **matrices)
        print(f"saved {len(matrices)} matrices to {args.export}")
        return
    released = replace(settings["as released"], epochs=args.epochs, patience=0, **({"lr": args.lr} if args.lr else {}))
    results = {}
    for key, matrix in matrices.items():
        results[key] = {"rows": int(matrix.shape[0]), "features": int(matrix.shape[1]),
                        "as_released": train(matrix, released, args.device, args.tolerance)}
        print(key, "as released:", json.dumps(results[key]["as_released"]), flush=True)
        if not args.skip_written:
            results[key]["as_written"] = train(matrix, settings["as written"], args.device, args.tolerance)
            print(key, "as written:", json.dumps(results[key]["as_written"]), flush=True)
    print(json.dumps({"device": args.device, "torch_threads": torch.get_num_threads(), "tolerance": args.tolerance,
                      "results": results}))


if __name__ == "__main__":
    main()
