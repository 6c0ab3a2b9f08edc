"""SAEs of store layers: the feature matrix of a layer, and one trained SAE per settings, cached in the store."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch

from .. import __version__
from ..checks import ArgumentTypeError, check_bool, check_choice, check_device, check_int, check_number, check_optional_int
from .metrics import encode, evaluate
from .models import STSAE, ThresholdSAE, TopKSAE, build_sae, n_modes_for
from .training import train_sae

KINDS = ("contributions", "activations")
# Part of every cached SAE's key: raise it when training changes in a way the settings do not
# show (initialisation, loss), so that older cached SAEs are not loaded as current.
TRAINING_VERSION = 3


#: What an SAE of contributions reads: both signs side by side, or the positive parts only.
INPUTS = ("both", "positive")
#: What an SAE of activations reads: the signed spatial sum, its positive part, or both parts.
ACTIVATION_INPUTS = ("signed", "positive", "both")


def feature_matrix(store, layer: str, kind: str = "contributions", inputs: str = "positive",
                   activation_part: str = "signed") -> np.ndarray:
    """The images × features matrix of one store layer, float32.

    Parameters
    ----------
    store : codec.store.ContributionStore
    layer : str
        One of ``store.layers``.
    kind : {"contributions", "activations"}
    inputs : {"positive", "both"}
        For contributions: ``"positive"``, (N, C), the positive parts only (the paper's §10.1
        and the released code); ``"both"``, (N, 2C), the positive parts of the C channels then
        the magnitudes of their negative parts.
    activation_part : {"signed", "positive", "both"}
        For activations: ``"signed"``, (N, C), the spatial sum Σ h; ``"positive"``, (N, C),
        Σ relu(h), what the authors' CNN SAEs read (``preprocessing/3a_train_saes_resnet.py``);
        ``"both"``, (N, 2C), Σ relu(h) then the magnitudes |Σ min(h, 0)|. The parts need a store
        of format 2 (:meth:`codec.store.ContributionStore.activations`).
    """
    _check_layer_and_kind(store, layer, kind)
    if inputs not in INPUTS:
        raise ValueError(f"inputs: must be one of {INPUTS}, got {inputs!r}")
    if activation_part not in ACTIVATION_INPUTS:
        raise ValueError(f"activation_part: must be one of {ACTIVATION_INPUTS}, got {activation_part!r}")
    if kind == "contributions":
        parts = store.contributions(layer)
        if inputs == "positive":
            return parts[:, 0].astype(np.float32)
        return np.concatenate([parts[:, 0], -parts[:, 1]], axis=1).astype(np.float32)
    if activation_part == "both":
        parts = store.activations(layer, "both")
        return np.concatenate([parts[:, 0], -parts[:, 1]], axis=1).astype(np.float32)
    return store.activations(layer, activation_part).astype(np.float32)


def _check_layer_and_kind(store, layer, kind):
    if not all(hasattr(store, name) for name in ("layers", "channels", "contributions", "activations")):
        raise ArgumentTypeError(f"store: must be a codec.store.ContributionStore, got {type(store).__name__}")
    if not isinstance(layer, str) or layer not in store.layers:
        raise ValueError(f"layer: {layer!r} is not in the store at {str(store.path)!r}; its layers are {store.layers}")
    if kind not in KINDS:
        raise ValueError(f"kind: must be one of {KINDS}, got {kind!r}")


@dataclass(frozen=True)
class TrainingSettings:
    """How an SAE is trained (:func:`codec.sae.train_sae`); the defaults are the paper's.

    Attributes
    ----------
    epochs, batch_size : int
    lr : float
        Adam learning rate.
    l1_codes, l1_dictionary : float
        L1 penalties of the codes and of the dictionary.
    patience : int
        Epochs without improvement before stopping early (0: never).
    seed : int
        Seed of the initialisation and of the shuffling.
    expansion : float
        Modes per channel of the layer (``n_modes = expansion × channels``).
    l1_dictionary_reduction : {"mean", "sum"}
        The dictionary L1 over its entries as a mean (the released code's, and the only reading
        under which the paper's "L1 up to 1e-2 affected little" can be true) or as a sum (larger
        by the number of entries: ~10³ at 16 channels, ~10⁷ at ResNet-50's last layer).
    plateau_patience : int or None
        Epochs without improvement before the rate halves (None: ``patience // 2``).
    inputs : {"positive", "both"}
        What an SAE of contributions reads (:func:`feature_matrix`): the positive parts, as in
        the paper's §10.1 and the released code, or both signs side by side.
    activation_part : {"signed", "positive", "both"}
        What an SAE of activations reads (:func:`feature_matrix`): the signed spatial sum, the
        positive part Σ relu(h) (the authors' CNN SAEs), or both parts side by side.
    """

    epochs: int = 500
    batch_size: int = 128
    lr: float = 5e-5
    l1_codes: float = 0.0
    l1_dictionary: float = 5e-5
    patience: int = 20
    seed: int = 0
    expansion: float = 3
    l1_dictionary_reduction: str = "mean"
    plateau_patience: int | None = None
    inputs: str = "positive"
    activation_part: str = "signed"

    def __post_init__(self):
        check_int("epochs", self.epochs, 1)
        check_int("batch_size", self.batch_size, 1)
        check_number("lr", self.lr, above=0)
        check_number("l1_codes", self.l1_codes, minimum=0)
        check_number("l1_dictionary", self.l1_dictionary, minimum=0)
        check_int("patience", self.patience, 0)
        check_int("seed", self.seed, 0)
        check_number("expansion", self.expansion, above=0)
        check_choice("l1_dictionary_reduction", self.l1_dictionary_reduction, ("sum", "mean"))
        check_optional_int("plateau_patience", self.plateau_patience, 1)
        check_choice("inputs", self.inputs, INPUTS)
        check_choice("activation_part", self.activation_part, ACTIVATION_INPUTS)
        if hasattr(self, "threshold"):
            check_number("threshold", self.threshold, above=0, below=1)
        if getattr(self, "hidden", None) is not None:
            check_int("hidden", self.hidden, 1)
        if hasattr(self, "dropout"):
            check_number("dropout", self.dropout, minimum=0, below=1)
        if hasattr(self, "k"):
            check_int("k", self.k, 1)
        if hasattr(self, "nonnegative"):
            check_bool("nonnegative", self.nonnegative)

    def build(self, n_features: int, n_modes: int):
        """The untrained SAE these settings describe."""
        raise NotImplementedError(f"{type(self).__name__}: settings of one SAE kind define build()")


@dataclass(frozen=True)
class ThresholdSAESettings(TrainingSettings):
    """Settings of the paper's :class:`ThresholdSAE` (sigmoid encoder, hard threshold).

    Attributes
    ----------
    hidden : int or None
        Width of the encoder's hidden layer (None: ``n_modes``).
    threshold : float
        Codes below it are set to zero (the paper: 0.9).
    nonnegative : bool
        Keep the dictionary non-negative.
    """

    hidden: int | None = None
    threshold: float = 0.9
    nonnegative: bool = True

    def build(self, n_features: int, n_modes: int):
        return ThresholdSAE(n_features, n_modes, hidden=self.hidden, threshold=self.threshold,
                            nonnegative=self.nonnegative, seed=self.seed)


@dataclass(frozen=True)
class TopKSAESettings(TrainingSettings):
    """Settings of :class:`TopKSAE` (the ``k`` largest codes per row are kept)."""

    k: int = 8

    def build(self, n_features: int, n_modes: int):
        return TopKSAE(n_features, n_modes, k=min(self.k, n_modes), seed=self.seed)


@dataclass(frozen=True)
class STSAESettings(TrainingSettings):
    """Settings of :class:`STSAE`, with the released ResNet-50 script's values as defaults.

    Training as released: 300 epochs without early stopping, the rate halving after 10 epochs
    without improvement, dictionary L1 5e-5 on the mean of |D|, positive contribution parts in
    (the last two are every kind's defaults).
    """

    epochs: int = 300
    patience: int = 0
    plateau_patience: int | None = 10
    hidden: int = 2048
    threshold: float = 0.8
    dropout: float = 0.05
    nonnegative: bool = False

    def build(self, n_features: int, n_modes: int):
        return STSAE(n_features, n_modes, hidden=self.hidden, threshold=self.threshold, dropout=self.dropout,
                     nonnegative=self.nonnegative, seed=self.seed)


#: The paper's SAE; the default settings of :func:`fit_sae`.
SAESettings = ThresholdSAESettings

#: The paper's SAE as its text describes it (§10.1: sigmoid encoder, threshold 0.9, non-negative
#: dictionary, L1 5e-5) and as the authors' code releases it (:class:`STSAE`), by name.
PAPER_CONFIGURATIONS = {"as written": ThresholdSAESettings, "as released": STSAESettings}


def fit_sae(store, layer: str, kind: str = "contributions", settings: SAESettings | None = None, *,
            cache: bool = True, device=None, progress: bool = False, **overrides):
    """The SAE of one store layer, trained once and cached in ``<store>/sae/``.

    Parameters
    ----------
    store : codec.store.ContributionStore
        A complete store.
    layer : str
    kind : {"contributions", "activations"}
    settings : ThresholdSAESettings, STSAESettings or TopKSAESettings, optional
        The SAE kind and its hyperparameters (default: the paper's, :data:`SAESettings`);
        ``overrides`` replace single fields (``fit_sae(..., seed=1)``).
    cache : bool
        Load a cached SAE trained with the same store, layer, kind and settings, or save the
        newly trained one.

    Returns
    -------
    sae : nn.Module (eval mode, on ``device`` or CPU)
    history : dict
        The training history (see :func:`train_sae`), loaded with the SAE when cached.
    """
    _check_layer_and_kind(store, layer, kind)
    settings = settings or SAESettings()
    if not isinstance(settings, TrainingSettings):
        raise ArgumentTypeError(f"settings: expected ThresholdSAESettings, STSAESettings or TopKSAESettings, got {type(settings).__name__}")
    unknown = sorted(set(overrides) - {f.name for f in fields(settings)})
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: not a field of {type(settings).__name__}; its fields are "
                         f"{[f.name for f in fields(settings)]}")
    settings = replace(settings, **overrides)
    if not store.complete:
        raise ValueError(f"store: {str(store.path)!r} is not complete; finish computing it first")
    _check_layer_and_kind(store, layer, kind)
    key = json.dumps({"store": store.settings, "items": store.n_items, "layer": layer, "kind": kind,
                      "sae": type(settings).__name__,
                      "settings": asdict(settings), "codec": __version__, "training": TRAINING_VERSION}, sort_keys=True, default=str)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    folder = Path(store.path) / "sae"
    path = folder / f"{layer.replace('/', '_').replace(':', '_')}-{kind}-{digest}.pt"
    device = check_device("device", device) if device is not None else torch.device("cpu")
    if cache and path.is_file():
        saved = torch.load(path, map_location=device, weights_only=True)
        sae = build_sae(json.loads(saved["config"])).to(device)
        sae.load_state_dict(saved["state"])
        return sae.eval(), json.loads(saved["history"])
    data = feature_matrix(store, layer, kind, settings.inputs, settings.activation_part)  # read only to train: not for a cached SAE
    n_modes = n_modes_for(store.channels[layer], settings.expansion)
    sae = settings.build(data.shape[1], n_modes)
    sae, history = train_sae(sae, data, epochs=settings.epochs, batch_size=settings.batch_size, lr=settings.lr,
                             l1_codes=settings.l1_codes, l1_dictionary=settings.l1_dictionary,
                             patience=settings.patience, seed=settings.seed, device=device, progress=progress,
                             l1_dictionary_reduction=settings.l1_dictionary_reduction, plateau_patience=settings.plateau_patience)
    if cache:
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        torch.save({"config": json.dumps(sae.config), "state": sae.state_dict(), "history": json.dumps(history)}, partial)
        partial.replace(path)
    return sae, history


def sae_inputs(settings, overrides: dict | None = None, field: str = "inputs") -> str:
    """What an SAE trained with ``settings`` (and field ``overrides``) reads: its ``inputs`` (of
    contributions) or, with ``field="activation_part"``, its part of the activations."""
    if overrides is not None and not isinstance(overrides, dict):
        raise ArgumentTypeError(f"overrides: must be a dict of settings fields, got {type(overrides).__name__}")
    if settings is not None and not hasattr(settings, "inputs"):
        raise ArgumentTypeError(f"settings: must be SAE settings (codec.sae.SAESettings, ...), got {type(settings).__name__}")
    check_choice("field", field, ("inputs", "activation_part"))
    return (overrides or {}).get(field, getattr(settings or SAESettings(), field))


@dataclass
class LayerFit:
    """One layer's SAE with what the sections read from it.

    Attributes
    ----------
    sae : nn.Module
    features : numpy.ndarray, shape (N, F)
        The layer's feature matrix (:func:`feature_matrix`).
    codes : numpy.ndarray, shape (N, M)
        The SAE's codes of those rows (mode loadings over the images).
    history : dict
        The training history.
    metrics : dict
        :func:`codec.sae.evaluate` of the SAE on ``features`` (R² both ways, alive modes, L0,
        mode sparsity), with ``epochs`` and ``n_modes``.
    """

    sae: torch.nn.Module
    features: np.ndarray
    codes: np.ndarray
    history: dict
    metrics: dict

    @property
    def dictionary(self) -> np.ndarray:
        """The SAE's dictionary (M, F) as a NumPy array."""
        return self.sae.dictionary.detach().cpu().numpy()


def fit_layers(store, settings: TrainingSettings | None = None, layers=None, kinds=KINDS, **kwargs) -> dict:
    """One SAE per layer and kind of a store (each trained once and cached, see :func:`fit_sae`).

    Parameters
    ----------
    store : codec.store.ContributionStore
    settings : ThresholdSAESettings or TopKSAESettings, optional
    layers : sequence of str, optional
        Default: all the store's layers, in depth order.
    kinds : sequence of {"contributions", "activations"}
    **kwargs
        Passed to :func:`fit_sae` (``cache``, ``device``, ``progress``, field overrides).

    Returns
    -------
    dict of (layer, kind) -> LayerFit
        In the order layers × kinds.
    """
    if not hasattr(store, "layers") or not hasattr(store, "channels"):
        raise ArgumentTypeError(f"store: must be a codec.store.ContributionStore, got {type(store).__name__}")
    if isinstance(kinds, str):
        raise ArgumentTypeError(f"kinds: must be a sequence of kinds such as ('contributions',), got the string {kinds!r}")
    if isinstance(layers, str):
        raise ArgumentTypeError(f"layers: must be a sequence of layer names, got the string {layers!r}")
    for layer in store.layers if layers is None else layers:
        for kind in kinds:
            _check_layer_and_kind(store, layer, kind)
    fits = {}
    for layer in store.layers if layers is None else layers:
        for kind in kinds:
            sae, history = fit_sae(store, layer, kind, settings, **kwargs)
            features = feature_matrix(store, layer, kind, sae_inputs(settings, kwargs), sae_inputs(settings, kwargs, "activation_part"))
            codes, _ = encode(sae, features)
            metrics = {"epochs": history["epochs"], "n_modes": sae.config["n_modes"], **evaluate(sae, features)}
            fits[layer, kind] = LayerFit(sae, features, codes.numpy(), history, metrics)
    return fits
