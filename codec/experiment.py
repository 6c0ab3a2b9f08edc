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

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from . import stats
from .attribution import contributions
from .data import model_inputs, preset_dataset
from .models import ModelEntry, load_model
from .presets import Preset, get_preset
from .sae import SAESettings
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
        Folder of the contribution stores (one per method and target, reused on a second run).
    """

    config: Preset
    entry: ModelEntry
    dataset: object
    runs_dir: Path

    @classmethod
    def from_preset(cls, preset: str = "tiny", runs_dir="runs", seed: int = 0, weights=None, data_root=None,
                    **overrides) -> "Experiment":
        """The set-up of a preset with some fields overridden.

        Parameters
        ----------
        preset : {"tiny", "sample", "paper"}
        runs_dir : path
        seed : int
            ``torch.manual_seed`` set before anything is built.
        weights : path, optional
            A local checkpoint of the preset's model (``codec.models.load_model``'s ``weights``),
            e.g. ResNet-50's on a machine without internet.
        data_root : path, optional
            The folder of the preset's images (default ``$CODEC_DATA_DIR``; the ``paper`` preset's
            ImageNet validation folder has no default).
        **overrides
            Preset fields (``per_class=25``, ``steps=20``, ...); a value of None keeps the
            preset's, so that notebook parameters left at None pass through.
        """
        torch.manual_seed(seed)
        config = get_preset(preset, **{name: value for name, value in overrides.items() if value is not None})
        entry = load_model(config.model, weights=weights, device=config.resolved_device())
        return cls(config, entry, preset_dataset(config, root=data_root), Path(runs_dir))

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
        folder = self.runs_dir / run_name(self.config.name, self.entry.name, method, target, softmax)
        return compute_contributions(self.entry, self.dataset, folder, method=method, target=target, softmax=softmax,
                                     steps=steps or self.config.steps, batch_size=self.config.batch_size,
                                     chunk_size=self.config.chunk_size, progress=False)

    def sae_settings(self, kind=None, **overrides):
        """Settings of the SAEs of this scale: the preset's learning rate, epoch limit and patience.

        Parameters
        ----------
        kind : type, optional
            A settings class of :mod:`codec.sae` (default :class:`codec.sae.SAESettings`, the paper's).
        **overrides
            Settings fields; a value of None keeps the default.
        """
        fields = {"lr": self.config.sae_lr, "epochs": self.config.sae_epochs, "patience": self.config.sae_patience}
        fields |= {name: value for name, value in overrides.items() if value is not None}
        return (kind or SAESettings)(**fields)

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
                          chunk_size=self.config.chunk_size)
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
        first = self.dataset[0]
        if mask not in getattr(first, "extras", {}):
            return None
        items = [i for i in range(min(n_items, len(self.dataset))) if self.dataset[i].extras[mask].any()]
        masks = torch.stack([self.dataset[i].extras[mask] for i in items])
        inputs, _ = self.inputs(items)
        result = contributions(self.entry.model, inputs, [layer], steps=self.config.steps, chunk_size=self.config.chunk_size)
        return {"activation": stats.mask_share(result.activations[layer], masks), "contribution": stats.mask_share(result[layer], masks),
                "area": float(masks.float().mean()), "images": len(items)}

