"""One scale's analysis set-up, shared by every section: preset, model, images, contribution stores.

A section notebook starts with::

    experiment = codec.experiment.Experiment.from_preset(preset, runs_dir, per_class=per_class)
    store = experiment.store()                       # hidden IG, 10 steps, top-1 logit

and asks it for what the sections share: other stores (:meth:`Experiment.store`), model inputs
and displayable images (:meth:`Experiment.inputs`), the cost of a method on one batch
(:meth:`Experiment.time_method`), and, on datasets with planted masks, how much of a layer's
activation and contribution falls inside them (:meth:`Experiment.mask_shares`).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from . import stats
from .attribution import contributions
from .checks import ArgumentTypeError, check_bool, check_int, check_path
from .data import model_inputs, preset_dataset
from .models import ModelEntry, load_model
from .presets import Preset, get_preset
from .sae import SAESettings, STSAESettings, TrainingSettings
from .store import ContributionStore, compute_contributions, run_name


@dataclass
class Experiment:
    """A scale's preset, its model, its images and where its stores live.

    Attributes
    ----------
    config : codec.presets.Preset
    entry : codec.models.ModelEntry
    dataset : codec.data dataset
    runs_dir : Path
        Folder of the contribution stores (one per method, target and image set, reused on a
        second run).
    data_root : path or None
        The folder of the images (None: ``$CODEC_DATA_DIR``).
    """

    config: Preset
    entry: ModelEntry
    dataset: object
    runs_dir: Path
    data_root: object = None

    @classmethod
    def from_preset(cls, preset="tiny", runs_dir="runs", seed: int = 0, weights=None, data_root=None,
                    vit: bool = False, **overrides) -> "Experiment":
        """The set-up of a preset with some fields overridden.

        Parameters
        ----------
        preset : {"tiny", "sample", "paper"} or mapping
            A preset's name, or a mapping of its name and fields (:func:`codec.presets.get_preset`).
        runs_dir : path
        seed : int
            ``torch.manual_seed`` set before anything is built.
        weights : path, optional
            A local checkpoint of the preset's model (``codec.models.load_model``'s ``weights``),
            e.g. ResNet-50's on a machine without internet.
        data_root : path, optional
            The folder of the preset's images (default ``$CODEC_DATA_DIR``; the ``paper`` preset's
            ImageNet validation folder has no default).
        vit : bool
            The scale's vision transformer instead of its CNN (:meth:`codec.presets.Preset.vit`:
            its model, split and image counts); the overrides apply after that switch.
        **overrides
            Preset fields (``per_class=25``, ``steps=20``, ...); a value of None keeps the
            preset's, so that notebook parameters left at None pass through.
        """
        check_int("seed", seed, 0)
        check_path("runs_dir", runs_dir)
        check_bool("vit", vit)
        torch.manual_seed(seed)
        overrides = {name: value for name, value in overrides.items() if value is not None}
        config = get_preset(preset, **overrides)
        if vit:
            config = dataclasses.replace(config.vit(), **overrides)
        entry = load_model(config.model, weights=weights, device=config.resolved_device())
        return cls(config, entry, preset_dataset(config, root=data_root), Path(runs_dir), data_root)

    @property
    def device(self) -> torch.device:
        return self.config.resolved_device()

    def describe(self) -> str:
        """Two lines: scale, model, data; IG steps, device."""
        return (f"scale: {self.config.name} | model: {self.entry.name} | data: {self.config.dataset}, {len(self.dataset)} images\n"
                f"IG {self.config.steps} steps | device: {self.device}")

    def store(self, method: str = "ig", target="top1", softmax: bool = False, steps: int | None = None) -> ContributionStore:
        """The contribution store of this scale for one method and target (computed once, then read).

        Parameters
        ----------
        method, target, softmax
            As :func:`codec.store.compute_contributions`.
        steps : int, optional
            Integration steps; default the preset's.
        """
        folder = self.runs_dir / run_name(self.config.name, self.entry.name, method, target, softmax,
                                          self.config.dataset, len(self.dataset))
        return compute_contributions(self.entry, self.dataset, folder, method=method, target=target, softmax=softmax,
                                     steps=steps or self.config.steps, batch_size=self.config.batch_size,
                                     chunk_size=self.chunk_size, progress=False)

    @property
    def chunk_size(self) -> int | None:
        """Rows per pass of the contribution engine on this experiment's device (:meth:`Preset.resolved_chunk_size`)."""
        return self.config.resolved_chunk_size()

    def subset(self, per_class: int | None) -> "Experiment":
        """The same model and stores folder on at most ``per_class`` images per class.

        Image folders keep nested subsets for one seed, so the subset's images are among this
        experiment's (:meth:`rows_of` finds them). None, or a ``per_class`` that keeps every
        image, returns this experiment.
        """
        if per_class is None or per_class == self.config.per_class:
            return self
        if self.config.per_class is not None and per_class > self.config.per_class:
            raise ValueError(f"per_class: a subset needs at most this experiment's {self.config.per_class} images per class, "
                             f"got {per_class}")
        config = dataclasses.replace(self.config, per_class=per_class)
        return Experiment(config, self.entry, preset_dataset(config, root=self.data_root), self.runs_dir, self.data_root)

    def rows_of(self, subset: "Experiment") -> np.ndarray:
        """Positions (n_subset,) of a :meth:`subset`'s images among this experiment's images (store rows)."""
        if subset is self:
            return np.arange(len(self.dataset))
        mine, theirs = getattr(self.dataset, "files", None), getattr(subset.dataset, "files", None)
        if mine is None or theirs is None:
            raise ValueError("subset: only image-folder datasets (with files) can be matched by image")
        position = {str(path): row for row, path in enumerate(mine)}
        missing = [str(path) for path in theirs if str(path) not in position]
        if missing:
            raise ValueError(f"subset: {len(missing)} of its images are not among this experiment's, e.g. {missing[0]!r}")
        return np.array([position[str(path)] for path in theirs])

    def sae_settings(self, kind=None, **overrides):
        """Settings of the SAEs of this scale: the preset's learning rate, epoch limit, patience and training seed,
        and the part of the activations that the model's family reads (:attr:`codec.models.ModelEntry.activation_part`:
        Σ relu(h) for CNNs, the signed token sum for ViTs, as in the authors' released scripts).

        The SAE as released (:class:`codec.sae.STSAESettings`) keeps its released training: no early
        stopping (the preset's ``sae_patience`` is the SAE as written's), for the preset's
        ``released_sae_epochs`` where it has one.

        Parameters
        ----------
        kind : type, optional
            A settings class of :mod:`codec.sae` (default :class:`codec.sae.SAESettings`, the
            paper's as written); for :class:`codec.sae.STSAESettings` (as released) the epoch
            limit is the preset's ``released_sae_epochs`` where it has one, and it trains every epoch.
        **overrides
            Settings fields; a value of None keeps the default.
        """
        kind = kind or SAESettings
        if not isinstance(kind, type) or not issubclass(kind, TrainingSettings):
            raise ArgumentTypeError(f"kind: must be a settings class of codec.sae (SAESettings, STSAESettings, ...), got {kind!r}")
        fields = {"lr": self.config.sae_lr, "epochs": self.config.sae_epochs, "patience": self.config.sae_patience,
                  "seed": self.config.training_seed, "activation_part": self.entry.activation_part}
        if issubclass(kind, STSAESettings):  # as released: every epoch of its limit, no early stopping
            del fields["patience"]
            if self.config.released_sae_epochs is not None:
                fields["epochs"] = self.config.released_sae_epochs
        fields |= {name: value for name, value in overrides.items() if value is not None}
        return kind(**fields)

    def inputs(self, items: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Model inputs (n, *input_shape) on the device and labels (n,) of some dataset items."""
        inputs, labels = model_inputs(self.dataset, items, self.entry.transform)
        return inputs.to(self.device), labels

    def time_method(self, method: str, steps: int, layers: Sequence[str], repeats: int = 3) -> float:
        """Seconds per image of :func:`codec.contributions` on one batch of this scale: the best of
        ``repeats`` calls after one warm-up call.

        Parameters
        ----------
        method : str
            A method of :data:`codec.METHODS`.
        steps : int
        layers : sequence of str
        repeats : int
        """
        if not isinstance(repeats, int) or repeats < 1:
            raise ValueError(f"repeats: must be a positive integer, got {repeats!r}")
        batch, _ = self.inputs(range(min(self.config.batch_size, len(self.dataset))))
        times = []
        for _ in range(repeats + 1):
            if batch.is_cuda:
                torch.cuda.synchronize(batch.device)
            start = time.perf_counter()
            contributions(self.entry.model, batch, list(layers), method=method, steps=steps, reduce="ei",
                          chunk_size=self.chunk_size)
            if batch.is_cuda:
                torch.cuda.synchronize(batch.device)
            times.append(time.perf_counter() - start)
        return min(times[1:]) / len(batch)

    def mask_shares(self, layer: str, mask: str = "distractor_mask", n_items: int = 128) -> dict | None:
        """Share of each channel's activation and |contribution| mass at ``layer`` inside a planted mask.

        Over the first ``n_items`` items whose mask is not empty (pooled over those images);
        contributions by hidden IG with the preset's steps; :func:`codec.stats.mask_share`.

        Parameters
        ----------
        layer : str
        mask : str
            The name of a boolean (H, W) mask among the items' ``extras``.
        n_items : int

        Returns
        -------
        dict or None
            ``activation`` and ``contribution``: (C,) shares per channel; ``area``: the mean
            fraction of the images inside the mask; ``images``: how many images were used. None
            when the dataset's items carry no such mask (real images have none).
        """
        check_int("n_items", n_items, 1)
        if layer not in self.entry.layers:
            raise ValueError(f"layer: {layer!r} is not one of the model's analysis layers {self.entry.layers}")
        first = self.dataset[0]
        if mask not in getattr(first, "extras", {}):
            return None
        items = [i for i in range(min(n_items, len(self.dataset))) if self.dataset[i].extras[mask].any()]
        masks = torch.stack([self.dataset[i].extras[mask] for i in items])
        inputs, _ = self.inputs(items)
        result = contributions(self.entry.model, inputs, [layer], steps=self.config.steps, chunk_size=self.chunk_size)
        return {"activation": stats.mask_share(result.activations[layer], masks), "contribution": stats.mask_share(result[layer], masks),
                "area": float(masks.float().mean()), "images": len(items)}

