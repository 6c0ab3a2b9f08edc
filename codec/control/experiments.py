"""The paper's control experiments: Fig. 6D-E (:func:`control_sweep`, :func:`depth_sweep` with its
cache) and Fig. 6C (:func:`class_control`), and the choices they share (images per class, evenly
spaced layers); Fig. S10 is :mod:`codec.control.superclass`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from ..checks import ArgumentTypeError, check_array, check_int
from .forward import MaskedForward
from .interventions import MODES, channel_mask, check_mode, check_pct, n_selected
from .rankings import check_fits, rank_channels, source_rankings, top_channels
from .scoring import accuracy_ratio, checked_classes, class_accuracy, target_and_others

#: The percentages of a layer's channels of the paper's Fig. 6D (and the released code).
PAPER_PCTS = (1, 2, 5, 10, 18, 25, 50, 80, 99)


def check_forward(forward) -> None:
    """A :class:`MaskedForward`, else a clear error."""
    if not isinstance(forward, MaskedForward):
        raise ArgumentTypeError(f"forward: must be a codec.control.MaskedForward on the images, got {type(forward).__name__}")


def check_labels(labels, forward: MaskedForward) -> np.ndarray:
    """The labels (N,) of a MaskedForward's N inputs."""
    labels = check_array("labels", labels, ndim=1, integer=True)
    if len(labels) != len(forward.inputs):
        raise ValueError(f"labels: {len(labels)} labels for the MaskedForward's {len(forward.inputs)} inputs")
    return labels


def check_pcts_list(pcts) -> list[float]:
    """A non-empty sequence of percentages in (0, 100]."""
    if isinstance(pcts, (str, bytes)) or not hasattr(pcts, "__iter__"):
        raise ArgumentTypeError(f"pcts: must be a sequence of percentages in (0, 100], got {pcts!r}")
    pcts = [check_pct(p) for p in pcts]
    if not pcts:
        raise ValueError("pcts: give at least one percentage")
    return pcts


def control_sweep(forward: MaskedForward, layer: str, labels, classes, rankings: Mapping[str, np.ndarray],
                  pcts: Sequence[float] = PAPER_PCTS, n_trials: int = 20, mode: str = "ablate", top_k: int = 1,
                  random_source: bool = True, seed: int = 0) -> pd.DataFrame:
    """Fig. 6D: accuracy ratios of a target and an off-target class as more of the target's channels are perturbed.

    Each trial draws a target class and a different off-target class (among the classes the
    unperturbed network gets at least one image of right, so that a ratio exists); for each
    source of channels and each pct, the target's top ``pct`` % channels of ``layer`` are ablated
    (or preserved) and both classes' accuracy on their images is divided by the unperturbed one.

    Parameters
    ----------
    forward : MaskedForward
        The network on the images of all ``classes`` (``layer`` among its layers).
    layer : str
    labels : array of int, shape (N,)
        The labels of ``forward``'s inputs.
    classes : array of int, shape (K,)
        The classes the rankings are for, in their row order.
    rankings : mapping of source name to array of int, shape (K, C)
        Each class's channel order, best first (:func:`mode_rankings`, :func:`channel_rankings`).
    pcts : sequence of float
        Percentages of the layer's channels, each in (0, 100].
    n_trials : int
    mode : {"ablate", "preserve"}
    top_k : int
        Top-k accuracy.
    random_source : bool
        Add a source ``"random channels"``: a fresh random channel order in every trial.
    seed : int
        Draws of the trials and of the random orders.

    Returns
    -------
    pandas.DataFrame
        One row per source × trial × pct: ``source, trial, target, off_target, pct, n_channels,
        ratio_target, ratio_off``. ``attrs["excluded_classes"]``: classes never drawn because the
        unperturbed network gets none of their images right.
    """
    check_forward(forward)
    check_mode(mode)
    check_int("seed", seed, 0)
    if layer not in forward.channels:
        raise ValueError(f"layer: {layer!r} is not among the MaskedForward's layers {list(forward.channels)}")
    check_int("n_trials", n_trials, 1)
    check_int("top_k", top_k, 1)
    pcts = check_pcts_list(pcts)
    labels, classes = check_labels(labels, forward), checked_classes(labels, classes)
    if not isinstance(rankings, Mapping) or not rankings:
        raise ArgumentTypeError(f"rankings: must be a mapping of source name to (K, C) channel orders, got {type(rankings).__name__}")
    n_channels = forward.channels[layer]
    for name, ranking in rankings.items():
        ranking = np.asarray(ranking)
        if ranking.shape != (len(classes), n_channels):
            raise ValueError(f"rankings[{name!r}]: needs shape (K={len(classes)}, C={n_channels}) for layer {layer!r}, "
                             f"got {ranking.shape}")
    original = class_accuracy(forward.original, labels, classes, top_k)
    eligible = np.flatnonzero(original > 0)
    if len(eligible) < 2:
        raise ValueError("classes: the unperturbed network gets fewer than two classes' images right; no trial can be drawn")
    # the trials from one stream and the random orders from another, so that one seed draws the same
    # trials at every layer, whatever its channel count
    trial_rng, order_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    pairs = [trial_rng.choice(eligible, size=2, replace=False) for _ in range(n_trials)]
    rows = []
    for trial, (t, o) in enumerate(pairs):
        sources = {name: np.asarray(ranking)[t] for name, ranking in rankings.items()}
        if random_source:
            sources["random channels"] = order_rng.permutation(n_channels)
        masks = torch.stack([channel_mask(n_channels, top_channels(order, p), mode) for order in sources.values() for p in pcts])
        images = np.flatnonzero(np.isin(labels, classes[[t, o]]))
        accuracy = class_accuracy(forward({layer: masks}, rows=images), labels[images], classes[[t, o]], top_k)  # (S·P, 2)
        ratios = accuracy_ratio(accuracy, original[[t, o]]).reshape(len(sources), len(pcts), 2)
        for s, name in enumerate(sources):
            for p, pct in enumerate(pcts):
                rows.append({"source": name, "trial": trial, "target": int(classes[t]), "off_target": int(classes[o]),
                             "pct": pct, "n_channels": n_selected(n_channels, pct),
                             "ratio_target": float(ratios[s, p, 0]), "ratio_off": float(ratios[s, p, 1])})
    table = pd.DataFrame(rows)
    table.attrs["excluded_classes"] = [int(c) for c in np.setdiff1d(classes, classes[eligible])]
    return table


def class_control(forward: MaskedForward, weights: Mapping[str, np.ndarray], labels, classes, pct,
                  mode: str = "ablate", top_k: int = 1, seed: int = 0) -> np.ndarray:
    """Fig. 6C: for each class, perturb its top ``pct`` % channels at some layers together; every class's ratio.

    Parameters
    ----------
    forward : MaskedForward
        On images of all ``classes``.
    weights : mapping of layer name to array, shape (K, C)
        Each class's channel weights at each perturbed layer (e.g. :func:`channel_weights` of
        the sum of its top 2 modes' dictionary rows).
    labels : array of int, shape (N,)
    classes : array of int, shape (K,)
    pct : float or mapping of layer name to float
        The percentage of each layer's channels perturbed: one for all layers, or one per layer
        (e.g. :func:`codec.control.width_matched_pcts`).
    mode : {"ablate", "preserve"}
    top_k : int
    seed : int
        Tie-breaking of equal weights.

    Returns
    -------
    numpy.ndarray, shape (K, K)
        ``[t, c]``: accuracy of class c with class t's channels perturbed, over its unperturbed
        accuracy (NaN where that is 0).
    """
    check_forward(forward)
    check_mode(mode)
    check_int("seed", seed, 0)
    labels, classes = check_labels(labels, forward), checked_classes(labels, classes)
    if not isinstance(weights, Mapping) or not weights:
        raise ArgumentTypeError(f"weights: must be a mapping of layer name to (K, C) channel weights, got {type(weights).__name__}")
    if isinstance(pct, Mapping):
        if set(pct) != set(weights):
            raise ValueError(f"pct: a percentage per perturbed layer needs exactly the layers of weights {sorted(weights)}, "
                             f"got {sorted(pct)}")
        pcts = {layer: check_pct(value) for layer, value in pct.items()}
    else:
        pcts = dict.fromkeys(weights, check_pct(pct))
    masks = {}
    for layer, layer_weights in weights.items():
        if layer not in forward.channels:
            raise ValueError(f"weights: layer {layer!r} is not among the MaskedForward's layers {list(forward.channels)}")
        layer_weights = np.asarray(layer_weights)
        if layer_weights.shape != (len(classes), forward.channels[layer]):
            raise ValueError(f"weights[{layer!r}]: needs shape (K={len(classes)}, C={forward.channels[layer]}), "
                             f"got {layer_weights.shape}")
        masks[layer] = torch.stack([channel_mask(forward.channels[layer], top_channels(order, pcts[layer]), mode)
                                    for order in rank_channels(layer_weights, seed)])
    original = class_accuracy(forward.original, labels, classes, top_k)
    return accuracy_ratio(class_accuracy(forward(masks), labels, classes, top_k), original[None, :])


def class_control_across(forward: MaskedForward, weights: Mapping[str, np.ndarray], labels, classes, pcts: Sequence[float],
                         mode: str = "ablate", top_k: int = 1, seed: int = 0) -> pd.DataFrame:
    """:func:`class_control` at several pcts: how the target's and the other classes' ratios move with pct.

    Returns
    -------
    pandas.DataFrame
        One row per pct and target class: ``pct``, ``target`` (the class), ``ratio_target``,
        ``ratio_others`` (the mean over the other classes).
    """
    rows = []
    for pct in check_pcts_list(pcts):
        target, others = target_and_others(class_control(forward, weights, labels, classes, pct, mode, top_k, seed))
        rows += [{"pct": float(pct), "target": int(c), "ratio_target": t, "ratio_others": o} for c, t, o in zip(classes, target, others)]
    return pd.DataFrame(rows)


def images_per_class(labels, classes, n: int) -> np.ndarray:
    """The first ``n`` rows of each class, in class order then row order: int array (K·n,).

    Raises
    ------
    ValueError
        If a class has fewer than ``n`` rows (name fewer classes, or ask for fewer images).
    """
    labels = np.asarray(labels)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n: images per class must be a positive integer, got {n!r}")
    rows = []
    for c in np.asarray(classes):
        members = np.flatnonzero(labels == c)
        if len(members) < n:
            raise ValueError(f"n: class {int(c)} has {len(members)} images, fewer than the {n} asked for")
        rows.append(members[:n])
    return np.concatenate(rows)


def depth_sweep(model: nn.Module, inputs: Tensor, labels, classes, fits: Mapping, indicator, layers: Sequence[str],
                pcts: Sequence[float] = PAPER_PCTS, n_trials: int = 20, modes: Sequence[str] = MODES, top_k: int = 1,
                combine: str = "sum", seed: int = 0, rows_per_pass: int = 64, progress: bool = False,
                cache=None) -> pd.DataFrame:
    """Fig. 6D-E at every layer: :func:`control_sweep` of each source, for ablation and preservation.

    Parameters
    ----------
    model : nn.Module
    inputs : Tensor, shape (N, ...)
        The images of the trials (e.g. :func:`images_per_class` of the store's rows).
    labels : array of int, shape (N,)
    classes : array of int, shape (K,)
        The classes of ``indicator``'s columns.
    fits : mapping of (layer, kind) to codec.sae.LayerFit
    indicator : array, shape (N_sae, K)
        Class indicators of the SAEs' rows.
    layers : sequence of str
    pcts, n_trials, top_k, combine, seed
        As :func:`control_sweep` and :func:`source_rankings`; the trials are the same at every
        layer and for both modes (one seed).
    modes : sequence of {"ablate", "preserve"}
    rows_per_pass : int
        :class:`MaskedForward`.
    progress : bool
        Show a progress bar over layers.
    cache : path, optional
        A folder where the result is saved as ``control-sweep-<key>.csv`` and read back by a call
        with the same model weights, images, labels, SAE dictionaries and arguments (the key
        hashes them all).

    Returns
    -------
    pandas.DataFrame
        :func:`control_sweep`'s rows with ``layer`` and ``mode`` columns.
    """
    from tqdm.auto import tqdm

    if isinstance(modes, str):
        raise ArgumentTypeError(f"modes: must be a sequence of modes such as ('ablate',), got the string {modes!r}")
    for mode in modes:
        check_mode(mode)
    check_int("seed", seed, 0)
    check_int("n_trials", n_trials, 1)
    check_int("rows_per_pass", rows_per_pass, 1)
    check_int("top_k", top_k, 1)
    check_pcts_list(pcts)
    if not isinstance(model, nn.Module):
        raise ArgumentTypeError(f"model: must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(inputs, Tensor) or inputs.ndim < 2:
        raise ArgumentTypeError(f"inputs: must be a batch tensor (N, ...), got {type(inputs).__name__}")
    layers = [layers] if isinstance(layers, str) else list(layers)
    if not layers:
        raise ValueError("layers: give at least one layer")
    for layer in layers:
        check_fits(fits, layer)
    path = None
    if cache is not None:
        key = _sweep_key(model, inputs, labels, classes, fits, indicator, layers, pcts, n_trials, modes, top_k, combine, seed)
        path = Path(cache) / f"control-sweep-{key}.csv"
        if path.is_file():
            return pd.read_csv(path)
    tables = []
    for layer in tqdm(list(layers), desc="control sweep", disable=not progress):
        forward = MaskedForward(model, inputs, [layer], rows_per_pass=rows_per_pass)
        rankings = source_rankings(fits, layer, indicator, forward.channels[layer], combine=combine, seed=seed)
        for mode in modes:
            table = control_sweep(forward, layer, labels, classes, rankings, pcts, n_trials, mode, top_k, seed=seed)
            tables.append(table.assign(layer=layer, mode=mode))
    result = pd.concat(tables, ignore_index=True)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".partial")
        result.to_csv(temporary, index=False)
        temporary.replace(path)
    return result


def _sweep_key(model, inputs, labels, classes, fits, indicator, layers, pcts, n_trials, modes, top_k, combine, seed) -> str:
    """What a depth sweep's result depends on, hashed (SHA-256, 16 hex digits)."""
    from ..store import weights_identity

    digest = hashlib.sha256()
    digest.update(weights_identity(model).encode())
    for array in (inputs.detach().cpu().numpy(), np.asarray(labels), np.asarray(classes), np.asarray(indicator)):
        digest.update(np.ascontiguousarray(array).tobytes())
    for layer in layers:
        for kind in ("contributions", "activations"):
            digest.update(np.ascontiguousarray(fits[layer, kind].dictionary).tobytes())
            digest.update(np.ascontiguousarray(fits[layer, kind].codes).tobytes())
    digest.update(json.dumps([list(layers), [float(p) for p in pcts], n_trials, list(modes), top_k, combine, seed, 2]).encode())
    return digest.hexdigest()[:16]


def evenly_spaced(layers: Sequence[str], count: int | None) -> list:
    """``count`` of ``layers``, evenly spaced by position (first and last included when ``count`` ≥ 2;
    positions rounded half to even, as numpy rounds); None, or a count of at least ``len(layers)``: all."""
    layers = list(layers)
    if count is None or (isinstance(count, int) and not isinstance(count, bool) and count >= len(layers)):
        return layers
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count: must be a positive integer or None, got {count!r}")
    return [layers[i] for i in np.unique(np.round(np.linspace(0, len(layers) - 1, count)).astype(int))]
