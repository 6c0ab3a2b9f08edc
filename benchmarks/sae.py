"""Training speed of codec.sae.train_sae against a plain DataLoader loop.

Both train the paper's ThresholdSAE with ``--modes`` modes (default: the paper's expansion,
3 x features, on a GPU; 1 x features on a CPU, where the paper's 1,536 modes over 512 features
take 2 s per epoch and leave the loops even less to differ in) with the same hyperparameters
(batch 128, Adam lr 5e-5, dictionary L1 5e-5, non-negative projection), on the same random
non-negative matrix:

* ``train_sae``: the data on the device, shuffled by index, metrics accumulated on the device;
* the baseline: ``torch.utils.data.DataLoader(TensorDataset(x), batch_size=128, shuffle=True)``
  over a CPU tensor, each batch copied to the device, the loss read back with ``.item()``
  every step (what a hand-written loop usually does);

and, as a bound, the arithmetic floor: per step only the eight matrix products every
implementation of this SAE must compute (three forward, five backward, at the model's shapes)
and one fused Adam update of its parameters, nothing else. ``ceiling_ratio`` (DataLoader loop /
floor) is the largest ratio any data pipeline could reach on this device at float32: if it is
below a target, no rewrite of the loop can meet that target there. (The floor counts the last,
partial batch as a full one: at 10,000 rows it does at most 1% more work than the loops.)
``floor_gflop_per_s`` is the rate of those products, the Adam update's time included.

Epochs are timed side by side, alternating, best of ``--repeats``. Prints one JSON line with
epochs per second and the ratios. Nothing is asserted; targets: ratio >= 1.5 on CPU
(10,000 x 512) and >= 5 on a GPU (50,000 x 2,048).

    python benchmarks/sae.py                   # CPU: 10,000 x 512, 512 modes
    python benchmarks/sae.py --modes 1536      # CPU, the paper's expansion
    python benchmarks/sae.py --device cuda --rows 50000 --features 2048 --modes 6144
"""

from __future__ import annotations

import argparse
import json
import time

import torch


def dataloader_epoch(sae, x_cpu, optimizer, device, l1_dictionary, generator):
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(x_cpu), batch_size=128, shuffle=True, generator=generator)
    for (batch,) in loader:
        batch = batch.to(device)
        _, codes, reconstruction = sae(batch)
        loss = (reconstruction - batch).pow(2).mean() + l1_dictionary * sae._dictionary.abs().sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        sae.project_()
        loss.item()  # logged every step


def arithmetic_floor(sae, batch_size, device):
    """A function running one epoch of only the matrix products and the optimiser update of ``sae``."""
    weight_in, weight_out = sae.encoder[0].weight, sae.encoder[2].weight  # (H, F), (M, H)
    dictionary = sae._dictionary  # (M, F)
    hidden, features = weight_in.shape
    modes = weight_out.shape[0]
    make = lambda *shape: torch.rand(*shape, device=device)  # noqa: E731
    x, h, z, r = make(batch_size, features), make(batch_size, hidden), make(batch_size, modes), make(batch_size, features)
    for parameter in sae.parameters():
        parameter.grad = torch.rand_like(parameter)
    optimizer = torch.optim.Adam(sae.parameters(), lr=5e-5, fused=True)

    def flop_per_epoch(rows):
        """Floating-point operations of the eight products over one epoch."""
        return 2 * batch_size * (2 * features * hidden + 3 * hidden * modes + 3 * modes * features) * -(-rows // batch_size)

    @torch.no_grad()
    def epoch(rows):
        for _ in range(-(-rows // batch_size)):
            torch.mm(x, weight_in.t(), out=h)                     # forward: encoder, hidden layer
            torch.mm(h, weight_out.t(), out=z)                    # encoder, output layer
            torch.mm(z, dictionary, out=r)                        # decoder
            torch.mm(z.t(), r, out=dictionary.grad)               # backward: dictionary gradient
            torch.mm(r, dictionary.t(), out=z)                    # code gradient
            torch.mm(z.t(), h, out=weight_out.grad)               # output-layer weight gradient
            torch.mm(z, weight_out, out=h)                        # hidden gradient
            torch.mm(h.t(), x, out=weight_in.grad)                # hidden-layer weight gradient
            optimizer.step()

    epoch.flop = flop_per_epoch
    return epoch


def main(argv=None):
    from codec.sae import ThresholdSAE, train_sae

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--features", type=int, default=512)
    parser.add_argument("--modes", type=int, default=None, help="dictionary size (default 3 x features on a GPU, features on a CPU)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per timed run")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    modes = args.modes or (3 * args.features if device.type == "cuda" else args.features)
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(args.rows, args.features, generator=generator) * (torch.rand(args.rows, args.features, generator=generator) < 0.2)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    codec_times, loader_times, floor_times = [], [], []
    for repeat in range(args.repeats + 1):  # the first round warms up
        sae = ThresholdSAE(args.features, modes, seed=0)
        sync()
        start = time.perf_counter()
        train_sae(sae, x, epochs=args.epochs, lr=5e-5, l1_dictionary=5e-5, patience=0, device=device, progress=False)
        sync()
        codec_times.append((time.perf_counter() - start) / args.epochs)

        sae = ThresholdSAE(args.features, modes, seed=0).to(device)
        sae.input_scale.fill_(float(x.std()))
        optimizer = torch.optim.Adam(sae.parameters(), lr=5e-5)
        sync()
        start = time.perf_counter()
        for _ in range(args.epochs):
            dataloader_epoch(sae, x, optimizer, device, 5e-5, generator)
        sync()
        loader_times.append((time.perf_counter() - start) / args.epochs)

        floor_epoch = arithmetic_floor(ThresholdSAE(args.features, modes, seed=0).to(device), 128, device)
        sync()
        start = time.perf_counter()
        for _ in range(args.epochs):
            floor_epoch(args.rows)
        sync()
        floor_times.append((time.perf_counter() - start) / args.epochs)
    codec_best, loader_best, floor_best = min(codec_times[1:]), min(loader_times[1:]), min(floor_times[1:])
    print(json.dumps({
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "rows": args.rows, "features": args.features, "modes": modes, "threads": torch.get_num_threads(),
        "train_sae_epochs_per_s": round(1 / codec_best, 3),
        "dataloader_epochs_per_s": round(1 / loader_best, 3),
        "floor_epochs_per_s": round(1 / floor_best, 3),
        "floor_gflop_per_s": round(floor_epoch.flop(args.rows) / floor_best / 1e9, 1),
        "ratio": round(loader_best / codec_best, 2),
        "ceiling_ratio": round(loader_best / floor_best, 2),
        "train_sae_over_floor": round(codec_best / floor_best, 2),
        "target": ">= 5 on GPU" if device.type == "cuda" else ">= 1.5 on CPU",
    }))


if __name__ == "__main__":
    main()
