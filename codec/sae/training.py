"""One training loop for every SAE of :mod:`codec.sae.models`."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..checks import check_device, check_int, check_number, check_optional_int
from ..stats import as_tensor
from .losses import codes_l1, dictionary_l1, dictionary_l1_mean, reconstruction_mse

#: How the dictionary's L1 is normalised: the sum of |D| (the paper's text read literally) or its
#: mean (the authors' released code), smaller by the number of entries.
DICTIONARY_L1 = {"sum": dictionary_l1, "mean": dictionary_l1_mean}


def train_sae(sae: nn.Module, data, *, epochs: int = 500, batch_size: int = 128, lr: float = 5e-5,
              l1_codes: float = 0.0, l1_dictionary: float = 5e-5, scale: bool = True, seed: int = 0,
              patience: int = 20, min_delta: float = 1e-4, initialize: bool = True, device=None,
              progress: bool = True, l1_dictionary_reduction: str = "sum", plateau_patience: int | None = None):
    """Train any SAE of this module on ``data`` (N, F); returns ``(sae, history)``.

    The data stay on the device and are shuffled by index each epoch (no DataLoader). The loss
    is the mean squared reconstruction error (in units of the scaled data) plus
    ``l1_codes × mean_b Σ_m |codes|`` plus ``l1_dictionary × Σ |dictionary|`` (or the mean of
    |dictionary| with ``l1_dictionary_reduction="mean"``). Adam with a plateau schedule (the
    rate halves after ``plateau_patience`` epochs without improvement, by default
    ``patience // 2``), and training stops early after ``patience`` epochs whose loss improved
    by less than ``min_delta`` (relative). Randomness inside the SAE (dropout) draws from torch's
    global generator, seeded with ``seed`` for the training and restored afterwards.

    Parameters
    ----------
    sae : ThresholdSAE or TopKSAE
    data : numpy.ndarray or torch.Tensor, shape (N, F)
        Finite values; F must equal the SAE's ``n_features``.
    epochs, batch_size : int
    lr : float
        Adam learning rate (the paper: 5e-5).
    l1_codes, l1_dictionary : float
        L1 penalties (the paper: 0 and 5e-5).
    l1_dictionary_reduction : {"sum", "mean"}
        The dictionary L1 as a sum over entries or as their mean (:data:`DICTIONARY_L1`).
    plateau_patience : int, optional
        Epochs without improvement before the rate halves (default ``max(1, patience // 2)``).
    scale : bool
        Divide the data by their global standard deviation (as the authors' code does); the
        SAE keeps the scale, so it takes and returns unscaled data.
    seed : int
        Seed of the shuffling.
    patience : int
        Epochs without improvement before stopping (0: never stop early).
    initialize : bool
        Start from the data (the SAE's ``initialize_``: for :class:`ThresholdSAE`, dictionary
        rows drawn from the data at the scale of the first reconstructions). False continues
        from the SAE's current parameters.
    device : str or torch.device, optional
        Default: the SAE's device.
    progress : bool
        A tqdm bar with the loss, R² and dead-mode count.

    Returns
    -------
    sae : nn.Module
        The same module, trained, in eval mode.
    history : dict of lists
        Per epoch: ``loss``, ``r2`` (global, on the epoch's batches), ``dead_modes`` (modes
        that fired on no row of the epoch), ``lr``; and ``stopped_early`` (bool), ``epochs``.
    """
    x = as_tensor(data, "data")
    if x.ndim != 2:
        raise ValueError(f"data: must be a matrix (N, F), got shape {tuple(x.shape)}")
    if x.shape[1] != sae.config["n_features"]:
        raise ValueError(f"data: has {x.shape[1]} features, the SAE expects n_features={sae.config['n_features']}")
    if x.shape[0] < 2:
        raise ValueError(f"data: needs at least 2 rows, got {x.shape[0]}")
    if not torch.isfinite(x).all():
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"data: contains {bad} non-finite values (NaN or inf); clean or drop those rows first")
    check_int("epochs", epochs, 1)
    check_int("batch_size", batch_size, 1)
    check_number("lr", lr, above=0)
    check_number("l1_codes", l1_codes, minimum=0)
    check_number("l1_dictionary", l1_dictionary, minimum=0)
    check_int("seed", seed, 0)
    check_int("patience", patience, 0)
    check_number("min_delta", min_delta, minimum=0)
    if l1_dictionary_reduction not in DICTIONARY_L1:
        raise ValueError(f"l1_dictionary_reduction: must be one of {sorted(DICTIONARY_L1)}, got {l1_dictionary_reduction!r}")
    check_optional_int("plateau_patience", plateau_patience, 1)
    dictionary_term = DICTIONARY_L1[l1_dictionary_reduction]
    device = check_device("device", device) if device is not None else next(sae.parameters()).device
    sae.to(device)
    x = x.to(device=device, dtype=torch.float32)
    with torch.no_grad():
        std = x.std() if scale else torch.ones((), device=device)
        sae.input_scale.copy_(std.clamp_min(1e-12) if scale else std)
    scaled = x / sae.input_scale
    total_ss = ((scaled - scaled.mean()) ** 2).sum()
    generator = torch.Generator(device="cpu").manual_seed(seed)
    if initialize:
        sae.initialize_(scaled, generator)
    # one fused kernel per step for all parameters (CPU and CUDA): the optimiser is a fifth of a
    # step's time with the default per-parameter loop
    optimizer = torch.optim.Adam(sae.parameters(), lr=lr, fused=True)
    schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=0.5, patience=plateau_patience if plateau_patience is not None else max(1, patience // 2))
    history = {"loss": [], "r2": [], "dead_modes": [], "lr": [], "stopped_early": False}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc=f"SAE {sae.config['type']} {sae.config['n_modes']} modes", leave=False)
    sae.train()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        _epochs(sae, scaled, epochs, batch_size, generator, optimizer, schedule, history, dictionary_term,
                l1_codes, l1_dictionary, total_ss, patience, min_delta, bar)
    if bar is not None:
        bar.close()
    history["epochs"] = len(history["loss"])
    return sae.eval(), history


def _epochs(sae, scaled, epochs, batch_size, generator, optimizer, schedule, history, dictionary_term,
            l1_codes, l1_dictionary, total_ss, patience, min_delta, bar):
    """The epoch loop of :func:`train_sae` (fills ``history``)."""
    device = scaled.device
    n, best, stale = scaled.shape[0], math.inf, 0
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator).to(device)
        loss_sum = torch.zeros((), device=device)
        sse = torch.zeros((), device=device)
        fired = torch.zeros(sae.config["n_modes"], dtype=torch.bool, device=device)
        for start in range(0, n, batch_size):
            batch = scaled[order[start:start + batch_size]]
            _, codes, reconstruction = sae.forward_scaled(batch)
            mse = reconstruction_mse(sae, batch, codes, reconstruction)
            loss = mse
            if l1_codes:
                loss = loss + l1_codes * codes_l1(sae, batch, codes, reconstruction)
            if l1_dictionary:
                loss = loss + l1_dictionary * dictionary_term(sae, batch, codes, reconstruction)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            sae.project_()
            with torch.no_grad():
                loss_sum += loss.detach() * batch.shape[0]
                sse += mse.detach() * batch.numel()
                fired |= (codes.detach() != 0).any(0)
        epoch_loss = float(loss_sum) / n
        history["loss"].append(epoch_loss)
        history["r2"].append(float(1 - sse / total_ss))
        history["dead_modes"].append(int((~fired).sum()))
        history["lr"].append(optimizer.param_groups[0]["lr"])
        schedule.step(epoch_loss)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{epoch_loss:.4g}", r2=f"{history['r2'][-1]:.3f}", dead=history["dead_modes"][-1])
        if epoch_loss < best * (1 - min_delta):
            best, stale = epoch_loss, 0
        else:
            stale += 1
            if patience and stale >= patience:
                history["stopped_early"] = True
                break
