"""SAEs of store layers: the feature matrix of a layer, and one trained SAE per settings, cached in the store."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from .. import __version__
from .models import ThresholdSAE, TopKSAE, build_sae, n_modes_for
from .training import train_sae

KINDS = ("contributions", "activations")
# Part of every cached SAE's key: raise it when training changes in a way the settings do not
# show (initialisation, loss), so that older cached SAEs are not loaded as current.
TRAINING_VERSION = 3


def feature_matrix(store, layer: str, kind: str = "contributions") -> np.ndarray:
    """The images × features matrix of one store layer, float32.

    Parameters
    ----------
    store : codec.store.ContributionStore
    layer : str
        One of ``store.layers``.
    kind : {"contributions", "activations"}
        ``"contributions"``: (N, 2C), the positive parts of the C channels then the magnitudes
        of their negative parts. ``"activations"``: (N, C), spatially summed activations.
    """
    _check_layer_and_kind(store, layer, kind)
    if kind == "contributions":
        parts = store.contributions(layer)
        return np.concatenate([parts[:, 0], -parts[:, 1]], axis=1).astype(np.float32)
    return store.activations(layer).astype(np.float32)


def _check_layer_and_kind(store, layer, kind):
    if layer not in store.layers:
        raise ValueError(f"layer: {layer!r} is not in the store at {str(store.path)!r}; its layers are {store.layers}")
    if kind not in KINDS:
        raise ValueError(f"kind: must be one of {KINDS}, got {kind!r}")


@dataclass(frozen=True)
class SAESettings:
    """Hyperparameters of one cached SAE (the defaults are the paper's)."""

    type: str = "threshold"
    expansion: float = 3
    hidden: int | None = None
    threshold: float = 0.9
    nonnegative: bool = True
    k: int = 8
    epochs: int = 500
    batch_size: int = 128
    lr: float = 5e-5
    l1_codes: float = 0.0
    l1_dictionary: float = 5e-5
    patience: int = 20
    seed: int = 0


def fit_sae(store, layer: str, kind: str = "contributions", settings: SAESettings | None = None, *,
            cache: bool = True, device=None, progress: bool = False, **overrides):
    """The SAE of one store layer, trained once and cached in ``<store>/sae/``.

    Parameters
    ----------
    store : codec.store.ContributionStore
        A complete store.
    layer : str
    kind : {"contributions", "activations"}
    settings : SAESettings, optional
        Hyperparameters; ``overrides`` replace single fields (``fit_sae(..., seed=1)``).
    cache : bool
        Load a cached SAE trained with the same store, layer, kind and settings, or save the
        newly trained one.

    Returns
    -------
    sae : nn.Module (eval mode, on ``device`` or CPU)
    history : dict
        The training history (see :func:`train_sae`), loaded with the SAE when cached.
    """
    settings = replace(settings or SAESettings(), **overrides)
    if settings.type not in ("threshold", "topk"):
        raise ValueError(f"type: must be 'threshold' or 'topk', got {settings.type!r}")
    if not store.complete:
        raise ValueError(f"store: {str(store.path)!r} is not complete; finish computing it first")
    _check_layer_and_kind(store, layer, kind)
    key = json.dumps({"store": store.settings, "items": store.n_items, "layer": layer, "kind": kind,
                      "settings": asdict(settings), "codec": __version__, "training": TRAINING_VERSION}, sort_keys=True, default=str)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    folder = Path(store.path) / "sae"
    path = folder / f"{layer.replace('/', '_').replace(':', '_')}-{kind}-{digest}.pt"
    device = torch.device(device) if device is not None else torch.device("cpu")
    if cache and path.is_file():
        saved = torch.load(path, map_location=device, weights_only=True)
        sae = build_sae(json.loads(saved["config"])).to(device)
        sae.load_state_dict(saved["state"])
        return sae.eval(), json.loads(saved["history"])
    data = feature_matrix(store, layer, kind)  # read only to train: a cached SAE does not need it
    n_modes = n_modes_for(store.channels[layer], settings.expansion)
    if settings.type == "threshold":
        sae = ThresholdSAE(data.shape[1], n_modes, hidden=settings.hidden, threshold=settings.threshold,
                           nonnegative=settings.nonnegative, seed=settings.seed)
    else:
        sae = TopKSAE(data.shape[1], n_modes, k=min(settings.k, n_modes), seed=settings.seed)
    sae, history = train_sae(sae, data, epochs=settings.epochs, batch_size=settings.batch_size, lr=settings.lr,
                             l1_codes=settings.l1_codes, l1_dictionary=settings.l1_dictionary,
                             patience=settings.patience, seed=settings.seed, device=device, progress=progress)
    if cache:
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        torch.save({"config": json.dumps(sae.config), "state": sae.state_dict(), "history": json.dumps(history)}, partial)
        partial.replace(path)
    return sae, history
