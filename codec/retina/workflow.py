"""The retina section's steps at one scale, as the notebook calls them.

1. :func:`retina_setup`: the recording (simulated at ``tiny`` and ``sample``; a deep-retina HDF5
   file at ``paper``), the CNN fitted to it (or a torch-deep-retina checkpoint), its test
   predictions and their quality.
2. :func:`retina_store`: hidden IG (the preset's ``retina_steps``, zero stimulus as baseline) of
   the population surprisal at ``relu1`` and ``relu2`` for every test window, in a store.
3. :func:`retina_sae_settings`: the released retina SAE (both signs in, 10 modes per feature,
   threshold 0.9, dictionary L1 1e-4, batch 128) with the preset's epochs and rate.
4. :func:`measure_clusters` and :func:`measure_combinations`: claim 12's two parts, with the
   ground truth where the recording is simulated.
5. :func:`measure_lone_modes`: IRFs of different cells when one mode alone is active (Fig. 8D,
   left), and for simulations the circuit pathway each IRF resembles and the one that drove the
   cell at that time.
6. :func:`measure_white_noise`: the field's classic receptive fields, STAs under a white-noise
   checkerboard, of the CNN and (for simulations) of the simulated cells.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..checks import ArgumentTypeError, check_int, check_path
from ..models import ModelEntry
from ..models.retina import load_tdr_checkpoint
from .analysis import (
    active_combinations,
    cell_mode_matrix,
    cluster_cells,
    combination_effect,
    instantaneous_receptive_fields,
    irf_similarity,
    irf_times,
    partition_agreement,
    rank_one,
    surprisal_target,
)
from .circuit import CircuitConfig, SimulatedRetina
from .fields import (
    centred_crops,
    field_centers,
    lone_mode_pairs,
    lone_mode_similarity,
    mode_purity,
    pathway_match,
    spike_triggered_average,
)
from .fit import CNNSettings, fitted_cnn, predict, prediction_quality
from .recording import Recording, load_recording, simulate_recording
from .stimuli import MovieWindows, gather_windows, generated_images, grey_images, natural_movie, white_noise

__all__ = ["RetinaSetup", "retina_setup", "retina_store", "retina_sae_settings", "measure_clusters", "measure_combinations",
           "measure_lone_modes", "lone_mode_examples", "measure_white_noise"]

#: Modes per SAE input feature in the released retina code (160 modes for 2 × 8 features).
MODES_PER_FEATURE = 10


@dataclass
class RetinaSetup:
    """A recording, the CNN that models it, and how well it does.

    Attributes
    ----------
    config : codec.presets.Preset
    recording : Recording
    circuit : SimulatedRetina or None
        The simulated retina (None for a real recording).
    entry : ModelEntry
        The CNN (``relu1``, ``relu2``).
    history : dict or None
        Its training history (None when loaded from a checkpoint).
    predicted : Tensor, shape (n_test_windows, n_cells)
        Its responses to every test window.
    quality : dict of numpy arrays (n_cells,)
        :func:`codec.retina.prediction_quality` on the test movie.
    source : str
        Where the recording and the CNN come from, in words.
    """

    config: object
    recording: Recording
    circuit: SimulatedRetina | None
    entry: ModelEntry
    history: dict | None
    predicted: torch.Tensor
    quality: dict
    source: str

    def describe(self) -> str:
        r = self.recording
        return (f"scale: {self.config.name} | model: {self.entry.name} | data: {self.source}\n"
                f"{r.n_cells} cells; windows of {r.frames} frames × {r.size}×{r.size} px at {r.bin_ms:g} ms; "
                f"{r.train_rates.shape[0]} training and {r.test_rates.shape[0]} test windows")



def _check_setup(setup) -> None:
    if not isinstance(setup, RetinaSetup):
        raise ArgumentTypeError(f"setup: must be the RetinaSetup of retina_setup(...), got {type(setup).__name__}")


def _check_config(config) -> None:
    if not hasattr(config, "retina_frames") or not hasattr(config, "retina_sae_lr"):
        raise ArgumentTypeError(f"config: must be a codec.presets.Preset (get_preset(...)), got {type(config).__name__}")

def _simulated(config, data_root, seed: int) -> tuple[Recording, SimulatedRetina, str]:
    circuit = SimulatedRetina(CircuitConfig(frames=config.retina_frames, size=config.retina_size, bin_ms=config.retina_bin_ms,
                                            cells_per_type=config.retina_cells_per_type, seed=seed))
    side = 3 * config.retina_size
    if config.retina_images == "generated":
        images = generated_images(60, size=side, seed=seed)
        what = "images generated here (1/f noise)"
    elif config.retina_images == "real":
        images = grey_images(data_root, n_images=300, size=side, seed=seed)
        what = "the real photographs of $CODEC_DATA_DIR"
    else:
        raise ValueError(f"retina_images: must be 'generated' or 'real', got {config.retina_images!r}")
    n_train = int(len(images) * 0.75)  # the test movie shows images the CNN never saw
    train = natural_movie(images[:n_train], config.retina_train_frames, size=config.retina_size, seed=seed + 1)
    test = natural_movie(images[n_train:], config.retina_test_frames, size=config.retina_size, seed=seed + 2)
    recording = simulate_recording(circuit, train, test, seed=seed)
    return recording, circuit, f"simulated retina (4 types × {config.retina_cells_per_type} cells) watching natural movies of {what}"


def retina_setup(config, runs_dir, recording=None, weights=None, data_root=None, seed: int = 0,
                 progress: bool = False) -> RetinaSetup:
    """The recording and its CNN at one scale.

    Parameters
    ----------
    config : codec.presets.Preset
    runs_dir : path
        Where the fitted CNN is cached.
    recording : path, optional
        A deep-retina HDF5 recording (:func:`codec.retina.load_recording`); required at
        ``paper``. Default at the other scales: the simulated retina.
    weights : path, optional
        A torch-deep-retina ``BNCNN`` checkpoint; default: a CNN fitted here to the recording.
    data_root : path, optional
        The images of the natural movies when ``config.retina_images == "real"``.
    seed : int
        The simulated retina, its movies and spikes; the fitted CNN's initialisation is
        ``seed + config.training_seed``.
    progress : bool
        A progress bar of the CNN's fit.
    """
    _check_config(config)
    check_int("seed", seed, 0)
    check_path("runs_dir", runs_dir)
    entry = load_tdr_checkpoint(weights) if weights is not None else None
    if recording is None:
        if config.name == "paper":
            raise ValueError("recording: the paper scale analyses a real recording; pass the path of a deep-retina HDF5 file "
                             "(e.g. 15-10-07/naturalscene.h5), or use the tiny or sample scale's simulated retina")
        recording_obj, circuit, source = _simulated(config, data_root, seed)
    else:
        # a checkpoint's norm_stats standardise the raw stimulus (its transform); otherwise the recording's own statistics do
        has_stats = entry is not None and getattr(entry.model, "norm_stats", None) is not None
        recording_obj = load_recording(recording, frames=config.retina_frames, bin_ms=config.retina_bin_ms, standardize=not has_stats)
        circuit, source = None, f"recording {Path(recording).name}"
    if entry is not None:
        history = None
        frames, size, _ = entry.model.input_shape
        if (frames, size) != (recording_obj.frames, recording_obj.size) or entry.model.hyperparameters["n_cells"] != recording_obj.n_cells:
            raise ValueError(f"weights: the checkpoint's CNN takes {frames} frames of {size} px and has "
                             f"{entry.model.hyperparameters['n_cells']} cells; the recording has {recording_obj.frames} frames of "
                             f"{recording_obj.size} px and {recording_obj.n_cells} cells")
        entry.class_names = list(recording_obj.cell_names)
        source += f"; CNN: checkpoint {Path(weights).name}"
    else:
        settings = CNNSettings(kernels=tuple(config.retina_kernels), epochs=config.retina_cnn_epochs, lr=config.retina_cnn_lr,
                               seed=seed + config.training_seed)
        entry, history = fitted_cnn(recording_obj, settings, cache_dir=Path(runs_dir) / "retina", progress=progress)
        source += "; CNN fitted here"
    transformed = entry.transform(recording_obj.test_movie)
    predicted = predict(entry.model, transformed, recording_obj.frames)
    quality = prediction_quality(predicted.numpy(), recording_obj.test_rates.numpy(),
                                 None if recording_obj.true_test_rates is None else recording_obj.true_test_rates.numpy())
    return RetinaSetup(config, recording_obj, circuit, entry, history, predicted, quality, source)


def retina_store(setup: RetinaSetup, runs_dir, steps: int | None = None, ridge: float = 0.0, batch_size: int = 256):
    """Hidden IG of the population surprisal at ``relu1`` and ``relu2`` for every test window.

    The surprisal's mean and covariance are those of the CNN's responses to the test movie (the
    released code's choice). Stored in ``runs_dir`` under a name that holds the recording's and
    the model's digests, so a second call reads it.
    """
    _check_setup(setup)
    from ..store import compute_contributions, weights_identity

    steps = steps or setup.config.retina_steps
    target = surprisal_target(setup.predicted.numpy(), ridge=ridge)
    dataset = MovieWindows(setup.entry.transform(setup.recording.test_movie), setup.recording.frames, name="retina test movie")
    digest = hashlib.sha256(str(sorted(dataset.identity().items())).encode()).hexdigest()[:8]
    folder = Path(runs_dir) / f"{setup.config.name}-retina_cnn-{weights_identity(setup.entry.model)[:8]}-{digest}-ig{steps}-surprisal"
    return compute_contributions(setup.entry, dataset, folder, method="ig", steps=steps, target=target, batch_size=batch_size,
                                 progress=False)


def retina_sae_settings(config, **overrides):
    """The released retina SAE's settings with the preset's epochs, rate and training seed (see module docstring)."""
    _check_config(config)
    from ..sae import ThresholdSAESettings

    settings = dict(inputs="both", expansion=2 * MODES_PER_FEATURE, threshold=0.9, l1_dictionary=1e-4, batch_size=128,
                    lr=config.retina_sae_lr, epochs=config.retina_sae_epochs, seed=config.training_seed)
    settings.update({name: value for name, value in overrides.items() if value is not None})
    return ThresholdSAESettings(**settings)


def measure_clusters(setup: RetinaSetup, fits: dict, layers, n_permutations: int = 1000, seed: int = 0) -> dict:
    """Cells clustered by their correlations with each layer's modes (Fig. 8C), and how they agree.

    Returns
    -------
    dict
        ``layers``: per layer ``matrix`` (cells × used modes), ``used``, ``labels``, ``k``,
        ``silhouettes`` and, for simulations, ``truth`` (:func:`partition_agreement` with the
        true types); ``agreement``: the partitions of the first two layers compared.
    """
    _check_setup(setup)
    rates = setup.predicted.numpy()
    out = {"layers": {}}
    for layer in layers:
        matrix, used = cell_mode_matrix(rates, fits[layer, "contributions"].codes)
        clusters = cluster_cells(matrix, seed=seed)
        entry = {"matrix": matrix, "used": used, **clusters}
        if setup.recording.cell_types is not None:
            entry["truth"] = partition_agreement(clusters["labels"], setup.recording.cell_types, n_permutations, seed)
        out["layers"][layer] = entry
    first, second = list(layers)[:2]
    out["agreement"] = partition_agreement(out["layers"][first]["labels"], out["layers"][second]["labels"], n_permutations, seed)
    return out


def measure_combinations(setup: RetinaSetup, fit, min_rate: float = 1.0, max_modes: int = 5, per_combination: int = 4,
                         n_combinations: int = 6, n_permutations: int = 1000, seed: int = 0) -> dict:
    """Do a cell's IRFs change with the combination of active modes? (Fig. 8D, as a statistic.)

    The IRFs are the CNN's at the times :func:`codec.retina.irf_times` picks from ``fit``'s
    codes; for a simulated retina the true IRFs at the same times are computed too, both to
    score the CNN's (``fidelity``: Pearson r per IRF) and to ask the truth the same question.

    Returns
    -------
    dict
        ``times``, ``cells``, ``combinations``, ``irfs`` (P, frames, size, size), ``effect``
        (:func:`codec.retina.combination_effect`), and for simulations ``true_irfs``,
        ``true_effect``, ``fidelity``.
    """
    _check_setup(setup)
    r = setup.recording
    combinations = active_combinations(fit.codes)
    chosen = irf_times(setup.predicted.numpy(), combinations, r.frames, min_rate, max_modes, per_combination, n_combinations, seed)
    times = [t for cell in chosen for t, _ in chosen[cell]]
    cells = [cell for cell in chosen for _ in chosen[cell]]
    combos = [c for cell in chosen for _, c in chosen[cell]]
    if not times:
        raise ValueError("fit: at no cell are two mode combinations of 1 to max_modes modes each seen twice while it fires "
                         "above min_rate; lower min_rate or raise max_modes")
    movie = setup.entry.transform(r.test_movie)
    irfs = instantaneous_receptive_fields(setup.entry.model, movie, r.frames, times, cells)
    out = {"times": np.asarray(times), "cells": np.asarray(cells), "combinations": combos, "irfs": irfs,
           "effect": combination_effect(irfs, cells, combos, n_permutations, seed)}
    if setup.circuit is not None:
        true_irfs = instantaneous_receptive_fields(setup.circuit, r.test_movie, r.frames, times, cells)
        out |= {"true_irfs": true_irfs, "true_effect": combination_effect(true_irfs, cells, combos, n_permutations, seed),
                "fidelity": irf_similarity(irfs, true_irfs)}
    return out


def _cell_centers(irfs, cells) -> np.ndarray:
    """Each cell's field centre from all its IRFs: the peak of their mean absolute spatial factor."""
    spatial = rank_one(irfs)[0].abs()
    cells = np.asarray(cells)
    centers = {int(c): field_centers(spatial[cells == c].mean(0, keepdim=True))[0] for c in np.unique(cells)}
    return np.stack([centers[int(c)] for c in cells])


def measure_lone_modes(setup: RetinaSetup, fit, min_rate: float = 1.0, per_pair: int = 3, radius: int | None = None,
                       n_permutations: int = 1000, seed: int = 0) -> dict:
    """IRFs at times when one mode alone is active (Fig. 8D, left), compared across cells and with the circuit.

    The CNN's IRFs at :func:`codec.retina.lone_mode_pairs` of ``fit``'s codes are cut around
    each cell's field centre (the peak of the cell's mean absolute spatial factor), so that cells
    at different places can be compared (:func:`codec.retina.lone_mode_similarity`). For a
    simulated retina the same is done with the true IRFs, and each IRF is matched against the
    circuit's pathway filters (:func:`codec.retina.pathway_match`); the truth it is scored
    against is the pathway that drove the cell most at that time (the largest of
    :meth:`codec.retina.SimulatedRetina.pathway_drive`). :func:`codec.retina.mode_purity` asks
    whether one lone mode's times share a driving pathway, and share the pathway the CNN's IRFs
    look like.

    Parameters
    ----------
    radius : int, optional
        Half-side of the crops in pixels; default a fifth of the frame's side.

    Returns
    -------
    dict
        ``pairs`` (:func:`codec.retina.lone_mode_pairs`), ``crops`` (P, frames, side, side),
        ``similarity``, ``radius``; when fewer than two modes are ever alone while cells fire,
        only ``pairs``, ``radius``, ``similarity`` None and ``reason`` (in words). For simulations also ``true_crops``, ``true_similarity``,
        ``pathway_names``, ``match`` and ``true_match`` (P, n_pathways: each IRF's r with each
        pathway), ``driving`` (P,: the pathway that drove the cell most), ``agreement`` and
        ``true_agreement`` (the share of IRFs whose best-matching pathway is the driving one),
        ``purity`` (of the driving pathways by lone mode) and ``irf_purity`` (of the CNN IRFs'
        best-matching pathways by lone mode).
    """
    _check_setup(setup)
    r = setup.recording
    radius = radius or max(r.size // 5, 2)
    pairs = lone_mode_pairs(setup.predicted.numpy(), active_combinations(fit.codes), r.frames, min_rate, per_pair, seed=seed)
    times, cells, modes = pairs["times"], pairs["cells"], pairs["modes"]
    if len(np.unique(modes)) < 2:
        return {"pairs": pairs, "similarity": None, "radius": radius,
                "reason": f"{len(np.unique(modes))} mode(s) are ever the only active one while two cells or more fire above "
                          f"min_rate ({min_rate} Hz; one mode alone at {pairs['lone_share']:.1%} of the time points); "
                          "comparing needs two: lower min_rate or train the SAE longer"}
    movie = setup.entry.transform(r.test_movie)
    irfs = instantaneous_receptive_fields(setup.entry.model, movie, r.frames, times, cells)
    crops = centred_crops(irfs, _cell_centers(irfs, cells), radius)
    out = {"pairs": pairs, "crops": crops, "similarity": lone_mode_similarity(crops, cells, modes, n_permutations, seed),
           "radius": radius}
    if setup.circuit is not None:
        circuit = setup.circuit
        true_irfs = instantaneous_receptive_fields(circuit, r.test_movie, r.frames, times, cells)
        true_crops = centred_crops(true_irfs, _cell_centers(true_irfs, cells), radius)
        with torch.no_grad():
            drive = circuit.pathway_drive(gather_windows(r.test_movie, r.frames, times))[torch.arange(len(times)), torch.as_tensor(cells)]
        driving = drive.argmax(1).numpy()
        match, true_match = pathway_match(crops, circuit.temporal), pathway_match(true_crops, circuit.temporal)
        out |= {"true_crops": true_crops, "true_similarity": lone_mode_similarity(true_crops, cells, modes, n_permutations, seed),
                "pathway_names": list(circuit.pathway_names), "match": match, "true_match": true_match, "driving": driving,
                "agreement": float((match.argmax(1) == driving).mean()), "true_agreement": float((true_match.argmax(1) == driving).mean()),
                "purity": mode_purity(modes, driving, n_permutations, seed),
                "irf_purity": mode_purity(modes, match.argmax(1), n_permutations, seed)}
    return out


def lone_mode_examples(lone: dict, n_modes: int = 2, n_cells: int = 5) -> tuple[str | None, list[int]]:
    """Which layer's lone-mode IRFs to show, and which of them (the notebook's Fig. 8D, left).

    Parameters
    ----------
    lone : dict of layer -> :func:`measure_lone_modes` result
    n_modes, n_cells : int
        The ``n_modes`` lone modes seen with the most cells, up to ``n_cells`` cells each.

    Returns
    -------
    layer : str or None
        The layer with the most lone modes among those compared (None when none was).
    examples : list of int
        Indices into that layer's pairs: one IRF per (mode, cell), grouped by mode.
    """
    if not isinstance(lone, dict):
        raise ArgumentTypeError(f"lone: must be a dict of layer to measure_lone_modes results, got {type(lone).__name__}")
    check_int("n_modes", n_modes, 1)
    check_int("n_cells", n_cells, 1)
    compared = [layer for layer, found in lone.items() if found["similarity"] is not None]
    if not compared:
        return None, []
    layer = max(compared, key=lambda name: len(set(lone[name]["pairs"]["modes"].tolist())))
    modes, cells = lone[layer]["pairs"]["modes"], lone[layer]["pairs"]["cells"]
    ranked = sorted(set(modes.tolist()), key=lambda mode: (-len(set(cells[modes == mode].tolist())), mode))
    examples = []
    for mode in ranked[:n_modes]:
        seen: set = set()
        for index in np.flatnonzero(modes == mode):
            if cells[index] not in seen and len(seen) < n_cells:
                seen.add(cells[index])
                examples.append(int(index))
    return layer, examples


def measure_white_noise(setup: RetinaSetup, n_frames: int = 5000, checker: int = 4, radius: int | None = None,
                        seed: int = 0) -> dict:
    """Receptive fields under a binary white-noise checkerboard: STAs of the CNN and of the simulated cells.

    Each STA weights every window of the checkerboard movie by the response to it: the CNN's
    predicted rate, and for a simulated retina the cell's noise-free rate (the STA that an
    arbitrarily long recording of its spikes would converge to on this movie). The two are
    compared around the cell's field (centred crops at the peak of the simulated cell's STA),
    and the CNN's rates under white noise are correlated with the cells' (a stimulus the CNN
    was not fitted on).

    Parameters
    ----------
    n_frames : int
    checker : int
        Side of a checker in pixels.
    radius : int, optional
        Half-side of the compared crops; default a fifth of the frame's side.

    Returns
    -------
    dict
        ``movie`` (n_frames, size, size), ``sta`` (n_cells, frames, size, size: the CNN's),
        ``rates`` (n_windows, n_cells: the CNN's); for simulations also ``true_sta``,
        ``true_rates``, ``centers`` (n_cells, 2), ``similarity`` (n_cells: Pearson r of the two
        STAs' crops) and ``r_rates`` (n_cells: Pearson r of the CNN's and the cells' rates).
    """
    _check_setup(setup)
    from ..stats import pearson

    r = setup.recording
    radius = radius or max(r.size // 5, 2)
    movie = white_noise(n_frames, size=r.size, checker=checker, seed=seed + 10)
    model_input = setup.entry.transform(movie)
    predicted = predict(setup.entry.model, model_input, r.frames)
    out = {"movie": movie, "sta": spike_triggered_average(model_input, predicted.numpy(), r.frames),
           "rates": predicted.numpy(), "radius": radius}
    if setup.circuit is not None:
        true_rates = setup.circuit.respond(movie)
        true_sta = spike_triggered_average(movie, true_rates.numpy(), r.frames)
        centers = field_centers(rank_one(true_sta)[0])
        out |= {"true_sta": true_sta, "true_rates": true_rates.numpy(), "centers": centers,
                "similarity": irf_similarity(centred_crops(out["sta"], centers, radius), centred_crops(true_sta, centers, radius)),
                "r_rates": pearson(predicted.numpy().astype(np.float64), true_rates.numpy().astype(np.float64), axis=0)}
    return out
