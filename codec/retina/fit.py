"""Fitting the retina CNN to a recording, and how well it predicts held-out responses.

:func:`train_cnn` fits :class:`codec.models.retina.RetinaCNN` by the Poisson likelihood of the
observed rates (as torch-deep-retina does), Adam, mini-batches of random windows.
:func:`fitted_cnn` trains once and caches the weights under a key of everything that made
them (the recording's data, the architecture, the training settings). :func:`prediction_quality`
reports per cell what the field reports: the correlation of predicted and observed rates on the
test movie and, where the noise-free rates are known, the fraction of the explainable variance.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..checks import ArgumentTypeError, check_int, check_number
from ..models.retina import RetinaCNN, retina_entry
from ..stats import pearson
from .recording import Recording
from .stimuli import gather_windows, windows

__all__ = ["CNNSettings", "train_cnn", "fitted_cnn", "predict", "prediction_quality"]

# Part of a cached CNN's key: raise it when training changes in a way the settings do not show.
TRAINING_VERSION = 4  # 4: the first convolution through the FFT


@dataclass(frozen=True)
class CNNSettings:
    """Architecture and training of the retina CNN.

    Attributes
    ----------
    channels, kernels : (int, int)
        The paper's: 8 and 8 channels, 15×15 and 11×11 kernels (for 50-px windows).
    epochs, batch_size : int
    lr, weight_decay : float
        Adam's rate and L2 penalty.
    noise : float
        Training noise after each batch norm (the paper's models: 0.05).
    seed : int
    """

    channels: tuple = (8, 8)
    kernels: tuple = (15, 11)
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-5
    noise: float = 0.05
    seed: int = 0

    def __post_init__(self):
        for name in ("channels", "kernels"):
            value = getattr(self, name)
            if isinstance(value, (str, bytes)) or len(value) != 2:
                raise ValueError(f"{name}: give two sizes, one per convolution layer, got {value!r}")
            for size in value:
                check_int(name, size, 1)
        check_int("epochs", self.epochs, 1)
        check_int("batch_size", self.batch_size, 2)  # batch norm needs two rows per batch; with one, no batch would train
        check_number("lr", self.lr, above=0)
        check_number("weight_decay", self.weight_decay, minimum=0)
        check_number("noise", self.noise, minimum=0)
        check_int("seed", self.seed, 0)


def _recording_digest(recording: Recording) -> str:
    digest = hashlib.sha256()
    for tensor in (recording.train_movie, recording.train_rates):
        digest.update(tensor.numpy().tobytes())
    digest.update(json.dumps([recording.frames, recording.bin_ms]).encode())
    return digest.hexdigest()[:16]


def _untrained(recording: Recording, settings: CNNSettings) -> RetinaCNN:
    return RetinaCNN(recording.n_cells, frames=recording.frames, size=recording.size, channels=tuple(settings.channels),
                     kernels=tuple(settings.kernels), noise=settings.noise)


def train_cnn(recording: Recording, settings: CNNSettings | None = None, progress: bool = False) -> tuple[RetinaCNN, dict]:
    """Fit a retina CNN to a recording's training part.

    The output batch norm's bias starts at each cell's mean rate (through the softplus), so that
    the fit begins at the right scale; then every parameter is trained.

    Returns
    -------
    model : RetinaCNN (eval mode)
    history : dict
        ``loss``: the mean Poisson loss of each epoch.
    """
    if not isinstance(recording, Recording):
        raise ArgumentTypeError(f"recording: must be a codec.retina.Recording (simulate_recording or load_recording), got {type(recording).__name__}")
    settings = settings or CNNSettings()
    if not isinstance(settings, CNNSettings):
        raise ArgumentTypeError(f"settings: must be codec.retina.CNNSettings, got {type(settings).__name__}")
    torch.manual_seed(settings.seed)
    model = _untrained(recording, settings)
    movie, rates = recording.train_movie, recording.train_rates
    with torch.no_grad():  # start each cell's output near its mean rate: softplus(z + b), z ~ N(0, 1)
        mean = rates.mean(0).clamp_min(1e-3)
        model.bn3.bias.copy_(torch.where(mean > 20, mean, torch.log(torch.expm1(mean))))
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    loss_fn = torch.nn.PoissonNLLLoss(log_input=False)
    n = rates.shape[0]
    if n < 2:
        raise ValueError(f"recording: {n} training windows; the CNN's batch norm needs at least two")
    generator = torch.Generator().manual_seed(settings.seed)
    history = {"loss": []}
    epochs = range(settings.epochs)
    if progress:
        from tqdm.auto import tqdm

        epochs = tqdm(epochs, desc="retina CNN", unit="epoch")
    model.train()
    for _ in epochs:
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for start in range(0, n, settings.batch_size):
            index = order[start:start + settings.batch_size]
            if len(index) < 2:  # batch norm needs two rows
                continue
            batch = gather_windows(movie, recording.frames, index)
            loss = loss_fn(model(batch), rates[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(index)
        history["loss"].append(total / n)
    return model.eval(), history


def fitted_cnn(recording: Recording, settings: CNNSettings | None = None, cache_dir=None, progress: bool = False):
    """The retina CNN fitted to a recording, trained once and then read from ``cache_dir``.

    Returns
    -------
    entry : codec.models.ModelEntry
        Named ``retina_cnn``; layers ``relu1``, ``relu2``; ``class_names`` are the cells'.
    history : dict
    """
    if not isinstance(recording, Recording):
        raise ArgumentTypeError(f"recording: must be a codec.retina.Recording (simulate_recording or load_recording), got {type(recording).__name__}")
    settings = settings or CNNSettings()
    key = json.dumps({"recording": _recording_digest(recording), "settings": asdict(settings), "training": TRAINING_VERSION,
                      "cells": recording.cell_names}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"retina_cnn-{digest}.pt" if cache_dir is not None else None
    if path is not None and path.is_file():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        model = _untrained(recording, settings)
        model.load_state_dict(saved["state"])
        history = json.loads(saved["history"])
    else:
        model, history = train_cnn(recording, settings, progress=progress)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial")
            torch.save({"state": model.state_dict(), "history": json.dumps(history), "key": key}, partial)
            partial.replace(path)
    return retina_entry(model.eval(), cell_names=recording.cell_names), history


@torch.no_grad()
def predict(model: torch.nn.Module, movie: Tensor, frames: int, batch_size: int = 256) -> Tensor:
    """A model's responses at every window of a movie, ``(T − frames + 1, n_cells)``."""
    check_int("frames", frames, 1)
    check_int("batch_size", batch_size, 1)
    model.eval()
    n = movie.shape[0] - frames + 1
    return torch.cat([model(windows(movie, frames, start, min(start + batch_size, n))) for start in range(0, n, batch_size)])


def prediction_quality(predicted, observed, true=None) -> dict:
    """How well predicted rates follow the observed ones, per cell.

    Parameters
    ----------
    predicted, observed : array, shape (T, n_cells)
    true : array, shape (T, n_cells), optional
        Noise-free rates (a simulation's), for the explainable variance.

    Returns
    -------
    dict of numpy arrays, each (n_cells,)
        ``r_observed``: Pearson r of predicted and observed rates. With ``true``:
        ``r_true`` (predicted vs noise-free), ``ceiling`` (noise-free vs observed: the best r
        any model can reach) and ``explained_fraction`` = ``r_observed² / ceiling²``, the
        fraction of the explainable variance the model explains.
    """
    predicted, observed = np.asarray(predicted, dtype=np.float64), np.asarray(observed, dtype=np.float64)
    if predicted.shape != observed.shape or predicted.ndim != 2:
        raise ValueError(f"predicted, observed: expected the same (T, n_cells) shape, got {predicted.shape} and {observed.shape}")
    quality = {"r_observed": pearson(predicted, observed, axis=0)}
    if true is not None:
        true = np.asarray(true, dtype=np.float64)
        if true.shape != observed.shape:
            raise ValueError(f"true: expected shape {observed.shape}, got {true.shape}")
        quality["r_true"] = pearson(predicted, true, axis=0)
        quality["ceiling"] = pearson(true, observed, axis=0)
        quality["explained_fraction"] = quality["r_observed"] ** 2 / quality["ceiling"] ** 2
    return quality
