"""Sparse autoencoders that decompose an images × features matrix into modes.

Every SAE here maps a batch ``x`` of shape (B, F) to the same triple::

    pre_codes, codes, reconstruction = sae(x)      # (B, M), (B, M), (B, F)

and exposes its dictionary ``sae.dictionary`` of shape (M, F): row m is mode m's loading on
each feature, and ``reconstruction ≈ codes @ dictionary`` (in the units of ``x``). One function,
:func:`train_sae`, trains all of them; :func:`fit_sae` trains one once per (store, layer,
hyperparameters) and caches it beside the store.

- :class:`ThresholdSAE`, the paper's: an MLP encoder ending in a sigmoid (``pre_codes`` in
  (0, 1)), a hard threshold (``codes = pre_codes`` where ``pre_codes > threshold``, else 0; the
  gradient flows only through the codes that pass), and a dictionary of
  ``n_modes = expansion × n_channels`` modes, non-negative by default (projected after each
  step). The last encoder bias starts at ``logit(threshold)``, so that about half the codes pass
  at the start (with a zero bias no code would pass and nothing would learn), and
  :func:`train_sae` starts the dictionary from data rows scaled to the data (see
  :meth:`ThresholdSAE.initialize_`). Both are choices of this implementation.
- :class:`TopKSAE`, the field's current baseline: a linear encoder with ReLU whose ``k`` largest
  codes per row are kept, and a linear decoder with a bias.

The feature matrix of a layer (:func:`feature_matrix`) is, for contributions, the positive part
and the magnitude of the negative part of every channel side by side (B, 2C), so that the matrix
is non-negative like the activations (B, C).

R² (:func:`r2_score`) is defined two ways:

- ``"global"`` (the authors'): ``1 − Σ(x − x̂)² / Σ(x − x̄)²`` with x̄ the mean of all entries;
- ``"per_feature"``: the same with x̄ replaced by each feature's mean, i.e. ``1 − SSE / Σ_j
  SST_j``, scikit-learn's ``r2_score(..., multioutput="variance_weighted")``. It is the lower of
  the two, since the per-feature means fit the data better than one global mean.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import __version__
from .stats import hoyer

KINDS = ("contributions", "activations")
# Part of every cached SAE's key: raise it when training changes in a way the settings do not
# show (initialisation, loss), so that older cached SAEs are not loaded as current.
TRAINING_VERSION = 3


# ---------------------------------------------------------------------- models


class _SAE(nn.Module):
    """What every SAE here shares: the input scale, the dictionary in input units, the forward triple.

    A subclass defines ``forward_scaled`` (on data divided by ``input_scale``), ``project_``
    (its constraint, applied after each optimiser step) and ``initialize_`` (its start from the
    data), and keeps its dictionary in ``_dictionary`` (scaled units).
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("input_scale", torch.ones(()))

    @property
    def dictionary(self) -> torch.Tensor:
        """The modes, shape (n_modes, n_features), in units of the input."""
        return self._dictionary * self.input_scale

    def forward(self, x: torch.Tensor):
        """Encode and reconstruct ``x`` of shape (B, F); returns (pre_codes, codes, reconstruction)."""
        pre_codes, codes, reconstruction = self.forward_scaled(x / self.input_scale)
        return pre_codes, codes, reconstruction * self.input_scale


class ThresholdSAE(_SAE):
    """The paper's SAE: sigmoid encoder, hard threshold, (non-negative) dictionary.

    Parameters
    ----------
    n_features : int
        F, the width of the input rows.
    n_modes : int
        M, the number of modes (the paper: ``expansion × n_channels``; see :func:`n_modes_for`).
    hidden : int, optional
        Width of the encoder's hidden layer (default ``n_modes``).
    threshold : float
        Codes whose sigmoid output is at or below it are set to zero; in (0, 1), default 0.9.
    nonnegative : bool
        Keep the dictionary non-negative (projected after every optimiser step).
    seed : int
        Seed of the initialisation.
    """

    def __init__(self, n_features: int, n_modes: int, hidden: int | None = None, threshold: float = 0.9,
                 nonnegative: bool = True, seed: int = 0):
        super().__init__()
        _check_sizes(n_features, n_modes)
        if not (isinstance(threshold, (int, float)) and 0.0 < threshold < 1.0):
            raise ValueError(f"threshold: must lie in (0, 1) (codes are sigmoid outputs), got {threshold!r}")
        hidden = n_modes if hidden is None else hidden
        if not isinstance(hidden, int) or hidden < 1:
            raise ValueError(f"hidden: the encoder's hidden width must be a positive integer, got {hidden!r}")
        self.config = {"type": "threshold", "n_features": n_features, "n_modes": n_modes, "hidden": hidden,
                       "threshold": float(threshold), "nonnegative": bool(nonnegative), "seed": seed}
        generator = torch.Generator().manual_seed(seed)
        self.encoder = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, n_modes))
        for layer in (self.encoder[0], self.encoder[2]):
            bound = 1.0 / math.sqrt(layer.in_features)
            with torch.no_grad():
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.uniform_(-bound, bound, generator=generator)
        with torch.no_grad():
            self.encoder[2].bias.add_(math.log(threshold / (1.0 - threshold)))
        dictionary = torch.rand(n_modes, n_features, generator=generator) / math.sqrt(n_modes)
        self._dictionary = nn.Parameter(dictionary if nonnegative else dictionary - 0.5 / math.sqrt(n_modes))
        self.threshold = float(threshold)
        self.nonnegative = bool(nonnegative)

    def forward_scaled(self, scaled: torch.Tensor):
        """:meth:`forward` on data already divided by ``input_scale`` (reconstruction likewise)."""
        pre_codes = torch.sigmoid(self.encoder(scaled))
        codes = pre_codes * (pre_codes > self.threshold)
        return pre_codes, codes, codes @ self._dictionary

    @torch.no_grad()
    def project_(self) -> None:
        """Apply the dictionary constraint (non-negativity), in place."""
        if self.nonnegative:
            self._dictionary.clamp_(min=0)

    @torch.no_grad()
    def initialize_(self, scaled: torch.Tensor, generator: torch.Generator) -> None:
        """Start the dictionary from data rows, divided by the number of codes that pass at the start.

        The first reconstructions then have the data's scale. With a data-blind start, about
        half of the modes pass and their sum overshoots the data by a large factor on dense
        matrices (summed activations); the gradient then pushes every code below the threshold
        at once, and a code below the threshold gets no gradient again: all modes die.
        """
        passing = (torch.sigmoid(self.encoder(scaled)) > self.threshold).float().sum(1).mean().clamp_min(1.0)
        rows = torch.randint(0, scaled.shape[0], (self._dictionary.shape[0],), generator=generator).to(scaled.device)
        self._dictionary.copy_(scaled[rows] / passing)
        self.project_()


class TopKSAE(_SAE):
    """A TopK SAE (the field's baseline): ReLU encoder, ``k`` largest codes kept, linear decoder.

    Parameters
    ----------
    n_features, n_modes : int
    k : int
        Codes kept per row (1 ≤ k ≤ n_modes).
    seed : int
    """

    def __init__(self, n_features: int, n_modes: int, k: int = 8, seed: int = 0):
        super().__init__()
        _check_sizes(n_features, n_modes)
        if not isinstance(k, int) or not 1 <= k <= n_modes:
            raise ValueError(f"k: must be an integer in [1, n_modes={n_modes}], got {k!r}")
        self.config = {"type": "topk", "n_features": n_features, "n_modes": n_modes, "k": k, "seed": seed}
        generator = torch.Generator().manual_seed(seed)
        decoder = torch.randn(n_modes, n_features, generator=generator)
        decoder /= decoder.norm(dim=1, keepdim=True)
        self._dictionary = nn.Parameter(decoder)
        self.encoder_weight = nn.Parameter(decoder.T.clone())
        self.encoder_bias = nn.Parameter(torch.zeros(n_modes))
        self.decoder_bias = nn.Parameter(torch.zeros(n_features))
        self.k = k

    def forward_scaled(self, scaled: torch.Tensor):
        """:meth:`forward` on data already divided by ``input_scale`` (reconstruction likewise)."""
        pre_codes = torch.relu((scaled - self.decoder_bias) @ self.encoder_weight + self.encoder_bias)
        values, indices = pre_codes.topk(self.k, dim=1)
        codes = torch.zeros_like(pre_codes).scatter(1, indices, values)
        return pre_codes, codes, codes @ self._dictionary + self.decoder_bias

    @torch.no_grad()
    def project_(self) -> None:
        """Keep the decoder's rows at unit norm (the usual TopK SAE constraint), in place."""
        self._dictionary.div_(self._dictionary.norm(dim=1, keepdim=True).clamp_min(1e-12))

    @torch.no_grad()
    def initialize_(self, scaled: torch.Tensor, generator: torch.Generator) -> None:
        """Start the decoder bias at the data's mean (the encoder and the unit-norm decoder stay random)."""
        self.decoder_bias.copy_(scaled.mean(0))


def _check_sizes(n_features, n_modes):
    if not isinstance(n_features, int) or n_features < 1:
        raise ValueError(f"n_features: must be a positive integer, got {n_features!r}")
    if not isinstance(n_modes, int) or n_modes < 1:
        raise ValueError(f"n_modes: must be a positive integer (at least one mode), got {n_modes!r}")


def n_modes_for(n_channels: int, expansion: float = 3) -> int:
    """The paper's dictionary size: ``expansion × n_channels`` modes (at least 1)."""
    if not (isinstance(expansion, (int, float)) and expansion > 0):
        raise ValueError(f"expansion: must be a positive number of modes per channel, got {expansion!r}")
    return max(1, int(round(expansion * n_channels)))


def build_sae(config: dict) -> nn.Module:
    """An SAE from its ``config`` dict (as saved by :func:`fit_sae`)."""
    options = {k: v for k, v in config.items() if k != "type"}
    if config.get("type") == "threshold":
        return ThresholdSAE(**options)
    if config.get("type") == "topk":
        return TopKSAE(**options)
    raise ValueError(f"config: unknown SAE type {config.get('type')!r}; expected 'threshold' or 'topk'")


# ---------------------------------------------------------------------- metrics


def r2_score(x, reconstruction, kind: str = "global") -> float:
    """Fraction of variance of ``x`` (N, F) explained by ``reconstruction`` (N, F).

    Parameters
    ----------
    kind : {"global", "per_feature"}
        ``"global"``: residual sum of squares over the sum of squares around the mean of all
        entries (the authors' definition). ``"per_feature"``: around each feature's own mean
        (scikit-learn's ``multioutput="variance_weighted"``).
    """
    x, reconstruction = _as_tensor(x, "x").double(), _as_tensor(reconstruction, "reconstruction").double()
    if x.shape != reconstruction.shape or x.ndim != 2:
        raise ValueError(f"reconstruction: shape {tuple(reconstruction.shape)} must equal x's {tuple(x.shape)}, both (N, F)")
    if kind == "global":
        total = ((x - x.mean()) ** 2).sum()
    elif kind == "per_feature":
        total = ((x - x.mean(0)) ** 2).sum()
    else:
        raise ValueError(f"kind: must be 'global' or 'per_feature', got {kind!r}")
    return float(1.0 - ((x - reconstruction) ** 2).sum() / total)


def alive_modes(codes) -> np.ndarray:
    """Which modes are non-zero for at least one row: bool array (M,) from codes (N, M)."""
    return (_as_tensor(codes, "codes") != 0).any(0).cpu().numpy()


def l0(codes) -> float:
    """Mean number of non-zero codes per row of ``codes`` (N, M)."""
    return float((_as_tensor(codes, "codes") != 0).sum(1).double().mean())


def mode_sparsity(dictionary) -> np.ndarray:
    """Hoyer sparsity of each mode's loadings over features: (M,) from a dictionary (M, F)."""
    return hoyer(_as_tensor(dictionary, "dictionary").detach().cpu().numpy(), axis=1)


def _as_tensor(value, name) -> torch.Tensor:
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    if isinstance(value, torch.Tensor):
        return value.detach()
    raise TypeError(f"{name}: expected a numpy array or torch tensor, got {type(value).__name__}")


@torch.no_grad()
def encode(sae: nn.Module, x, batch_size: int = 4096):
    """Codes and reconstruction of ``x`` (N, F) in batches: returns (codes (N, M), reconstruction (N, F))."""
    x = _as_tensor(x, "x").float()
    device = next(sae.parameters()).device
    codes, recon = [], []
    for start in range(0, x.shape[0], batch_size):
        _, c, r = sae(x[start:start + batch_size].to(device))
        codes.append(c)
        recon.append(r)
    return torch.cat(codes), torch.cat(recon)


def evaluate(sae: nn.Module, x) -> dict:
    """R² (both kinds), alive and dead modes, L0 and mean mode sparsity of ``sae`` on ``x`` (N, F)."""
    codes, reconstruction = encode(sae, x)
    x = _as_tensor(x, "x").float().to(reconstruction.device)
    alive = alive_modes(codes)
    return {
        "r2": r2_score(x, reconstruction, "global"),
        "r2_per_feature": r2_score(x, reconstruction, "per_feature"),
        "alive_modes": int(alive.sum()),
        "dead_modes": int((~alive).sum()),
        "l0": l0(codes),
        "mode_sparsity": float(np.nanmean(mode_sparsity(sae.dictionary[torch.from_numpy(alive).to(codes.device)]))) if alive.any() else float("nan"),
    }


# ---------------------------------------------------------------------- training


def train_sae(sae: nn.Module, data, *, epochs: int = 500, batch_size: int = 128, lr: float = 5e-5,
              l1_codes: float = 0.0, l1_dictionary: float = 5e-5, scale: bool = True, seed: int = 0,
              patience: int = 20, min_delta: float = 1e-4, initialize: bool = True, device=None,
              progress: bool = True):
    """Train any SAE of this module on ``data`` (N, F); returns ``(sae, history)``.

    The data stay on the device and are shuffled by index each epoch (no DataLoader). The loss
    is the mean squared reconstruction error (in units of the scaled data) plus
    ``l1_codes × mean_b Σ_m |codes|`` plus ``l1_dictionary × Σ |dictionary|``. Adam with a
    plateau schedule (the rate halves after ``patience // 2`` epochs without improvement), and
    training stops early after ``patience`` epochs whose loss improved by less than
    ``min_delta`` (relative).

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
    x = _as_tensor(data, "data")
    if x.ndim != 2:
        raise ValueError(f"data: must be a matrix (N, F), got shape {tuple(x.shape)}")
    if x.shape[1] != sae.config["n_features"]:
        raise ValueError(f"data: has {x.shape[1]} features, the SAE expects n_features={sae.config['n_features']}")
    if x.shape[0] < 2:
        raise ValueError(f"data: needs at least 2 rows, got {x.shape[0]}")
    if not torch.isfinite(x).all():
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"data: contains {bad} non-finite values (NaN or inf); clean or drop those rows first")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: must be a positive integer, got {value!r}")
    if not lr > 0:
        raise ValueError(f"lr: must be positive, got {lr!r}")
    if l1_codes < 0 or l1_dictionary < 0:
        raise ValueError("l1_codes, l1_dictionary: penalties must be non-negative")
    device = torch.device(device) if device is not None else next(sae.parameters()).device
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
    schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=max(1, patience // 2))
    history = {"loss": [], "r2": [], "dead_modes": [], "lr": [], "stopped_early": False}
    n, best, stale = x.shape[0], math.inf, 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc=f"SAE {sae.config['type']} {sae.config['n_modes']} modes", leave=False)
    sae.train()
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator).to(device)
        loss_sum = torch.zeros((), device=device)
        sse = torch.zeros((), device=device)
        fired = torch.zeros(sae.config["n_modes"], dtype=torch.bool, device=device)
        for start in range(0, n, batch_size):
            batch = scaled[order[start:start + batch_size]]
            _, codes, reconstruction = sae.forward_scaled(batch)
            mse = (reconstruction - batch).square().mean()
            loss = mse
            if l1_codes:
                loss = loss + l1_codes * codes.abs().sum(1).mean()
            if l1_dictionary:
                loss = loss + l1_dictionary * sae._dictionary.abs().sum()
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
    if bar is not None:
        bar.close()
    history["epochs"] = len(history["loss"])
    return sae.eval(), history


# ---------------------------------------------------------------------- stores


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
