"""The paper's control experiments: Fig. 6D-E (:func:`control_sweep`, :func:`depth_sweep` with its
cache), Fig. 6C (:func:`class_control`) and Fig. S10 (:func:`group_control`), and the choices
they share (images per class, evenly spaced layers, superclasses).
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
from .rankings import check_fits, group_weights, rank_channels, source_rankings, top_channels
from .scoring import accuracy_ratio, checked_classes, class_accuracy, target_and_others, top_k_hits

#: The percentages of a layer's channels of the paper's Fig. 6D (and the released code).
PAPER_PCTS = (1, 2, 5, 10, 18, 25, 50, 80, 99)


def _check_forward(forward) -> None:
    """A :class:`MaskedForward`, else a clear error."""
    if not isinstance(forward, MaskedForward):
        raise ArgumentTypeError(f"forward: must be a codec.control.MaskedForward on the images, got {type(forward).__name__}")


def _check_labels(labels, forward: MaskedForward) -> np.ndarray:
    """The labels (N,) of a MaskedForward's N inputs."""
    labels = check_array("labels", labels, ndim=1, integer=True)
    if len(labels) != len(forward.inputs):
        raise ValueError(f"labels: {len(labels)} labels for the MaskedForward's {len(forward.inputs)} inputs")
    return labels


def _check_pcts(pcts) -> list[float]:
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
    _check_forward(forward)
    check_mode(mode)
    check_int("seed", seed, 0)
    if layer not in forward.channels:
        raise ValueError(f"layer: {layer!r} is not among the MaskedForward's layers {list(forward.channels)}")
    check_int("n_trials", n_trials, 1)
    check_int("top_k", top_k, 1)
    pcts = _check_pcts(pcts)
    labels, classes = _check_labels(labels, forward), checked_classes(labels, classes)
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
    _check_forward(forward)
    check_mode(mode)
    check_int("seed", seed, 0)
    labels, classes = _check_labels(labels, forward), checked_classes(labels, classes)
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
    for pct in _check_pcts(pcts):
        target, others = target_and_others(class_control(forward, weights, labels, classes, pct, mode, top_k, seed))
        rows += [{"pct": float(pct), "target": int(c), "ratio_target": t, "ratio_others": o} for c, t, o in zip(classes, target, others)]
    return pd.DataFrame(rows)


def group_control(forward: MaskedForward, weights: Mapping[str, np.ndarray], labels, members, pcts: Sequence[float],
                  mode: str = "ablate", top_k: int = 5, seed: int = 0) -> pd.DataFrame:
    """Fig. S10: perturb a superclass's top channels at several layers at once; its accuracy and the others'.

    Parameters
    ----------
    forward : MaskedForward
    weights : mapping of layer name to array, shape (C,)
        The superclass's channel weights per layer (the sum of the dictionary rows of the modes
        correlated with its indicator, :func:`codec.modes.class_dictionary`).
    labels : array of int, shape (N,)
    members : sequence of int
        The superclass's classes; every other label is "others".
    pcts : sequence of float
    mode : {"ablate", "preserve"}
    top_k : int
        The paper's S10 uses top-5 accuracy.
    seed : int

    Returns
    -------
    pandas.DataFrame
        One row per pct: ``pct``, ``n_channels`` (per layer, a dict), ``group_before``,
        ``group_after``, ``others_before``, ``others_after`` (pooled top-k accuracies over the images).
    """
    _check_forward(forward)
    check_mode(mode)
    check_int("seed", seed, 0)
    labels = _check_labels(labels, forward)
    if not isinstance(weights, Mapping) or not weights:
        raise ArgumentTypeError(f"weights: must be a mapping of layer name to (C,) channel weights, got {type(weights).__name__}")
    inside = np.isin(labels, check_array("members", members, ndim=1, integer=True))
    if not inside.any() or inside.all():
        raise ValueError("members: the inputs need images of the superclass and images of other classes")
    pcts = _check_pcts(pcts)
    masks = {}
    for layer, layer_weights in weights.items():
        if layer not in forward.channels:
            raise ValueError(f"weights: layer {layer!r} is not among the MaskedForward's layers {list(forward.channels)}")
        layer_weights = np.asarray(layer_weights, dtype=np.float64)
        if layer_weights.shape != (forward.channels[layer],):
            raise ValueError(f"weights[{layer!r}]: needs shape (C={forward.channels[layer]},), got {layer_weights.shape}")
        order = rank_channels(layer_weights[None], seed)[0]
        masks[layer] = torch.stack([channel_mask(order.size, top_channels(order, p), mode) for p in pcts])
    hits_before = top_k_hits(forward.original, labels, top_k)
    hits_after = top_k_hits(forward(masks), labels, top_k)  # (P, N)
    return pd.DataFrame({
        "pct": pcts,
        "n_channels": [{layer: n_selected(forward.channels[layer], p) for layer in masks} for p in pcts],
        "group_before": float(hits_before[inside].mean()), "group_after": hits_after[:, inside].mean(1),
        "others_before": float(hits_before[~inside].mean()), "others_after": hits_after[:, ~inside].mean(1),
    })


def superclass_control(forward: MaskedForward, fits: Mapping, store_labels, labels, groups: Mapping[str, Sequence[int]],
                       pcts: Mapping[str, Sequence[float]], top_k: int = 5, seed: int = 0) -> dict:
    """Fig. S10 for every superclass and mode: each superclass's aggregated contribution modes at the
    forward's layers (:func:`group_weights`), perturbed together, and :func:`group_control`'s table.

    Parameters
    ----------
    forward : MaskedForward
        Perturbs the layers of the experiment, on the control images.
    fits : mapping of (layer, kind) to LayerFit
        SAEs of contributions at every layer of ``forward`` (:func:`codec.sae.fit_layers`).
    store_labels : array of int, shape (N,)
        The labels of the images the SAEs were trained on (the modes' codes).
    labels : array of int, shape (n,)
        The labels of the control images.
    groups : mapping of str to sequence of int
        Superclass name -> its classes (:func:`superclass_groups`).
    pcts : mapping of mode to sequence of float
        The percentages of each layer's channels per mode, e.g. ``{"ablate": [9], "preserve": [37]}``.
    top_k, seed : int
        As :func:`group_control`.

    Returns
    -------
    dict of (str, str) to pandas.DataFrame
        ``(superclass, mode)`` -> :func:`group_control`'s table over that mode's pcts.
    """
    from ..modes import superclass_indicators

    _check_forward(forward)
    if not isinstance(groups, Mapping) or not groups:
        raise ArgumentTypeError(f"groups: a non-empty mapping of superclass name to its classes, got {groups!r:.80}")
    if not isinstance(pcts, Mapping) or not pcts or any(mode not in MODES for mode in pcts):
        raise ValueError(f"pcts: a mapping of mode ({', '.join(MODES)}) to its percentages, got {pcts!r:.80}")
    layers = list(forward.channels)
    for layer in layers:
        check_fits(fits, layer, kinds=("contributions",))
    indicator = superclass_indicators(np.asarray(store_labels), dict(groups))
    weights = {layer: group_weights(fits[layer, "contributions"], indicator, forward.channels[layer]) for layer in layers}
    return {(name, mode): group_control(forward, {layer: weights[layer][g] for layer in layers}, labels, members, mode_pcts, mode,
                                        top_k=top_k, seed=seed)
            for g, (name, members) in enumerate(groups.items()) for mode, mode_pcts in pcts.items()}


def superclass_details(curves: Mapping, groups: Mapping[str, Sequence[int]], labels, ablate_pct: float, preserve_pct: float) -> dict:
    """Claim 10's numbers from :func:`superclass_control`'s tables: per superclass, its top-k accuracy
    and the others' before and after ablating ``ablate_pct`` % and preserving ``preserve_pct`` %, and
    its share of the control images.

    Returns
    -------
    dict
        ``groups``: name -> ``group_before``, ``others_before``, ``ablate_group_after``,
        ``ablate_others_after``, ``preserve_group_after``, ``preserve_others_after``, ``image_share``
        and ``classes`` (how many classes it has).
    """
    labels = check_array("labels", labels, ndim=1, integer=True)
    out = {}
    for name, members in groups.items():
        row = {"classes": len(members), "image_share": float(np.isin(labels, members).mean())}
        for mode, pct in (("ablate", ablate_pct), ("preserve", preserve_pct)):
            if (name, mode) not in curves:
                raise ValueError(f"curves: no table of superclass {name!r} under {mode!r}")
            table = curves[name, mode].set_index("pct")
            if pct not in table.index:
                raise ValueError(f"{mode}_pct: {pct} is not among the pcts of the {mode} table of {name!r}: {list(table.index)}")
            at = table.loc[pct]
            row |= {"group_before": float(at["group_before"]), "others_before": float(at["others_before"]),
                    f"{mode}_group_after": float(at["group_after"]), f"{mode}_others_after": float(at["others_after"])}
        out[name] = row
    return {"groups": out}


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
    _check_pcts(pcts)
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


def superclass_groups(dataset, classes, synsets: Sequence[str] = ("dog.n.01",)) -> dict:
    """The superclasses of a control experiment: the dataset's own (planted shapes: each shape, each
    texture), else the WordNet synsets among ``classes`` (ImageNet labels), named by their first word.

    Returns
    -------
    dict of str to list of int
        Only groups with at least one of ``classes`` and not all of them.
    """
    from ..classes import superclass_members

    classes = check_array("classes", classes, ndim=1, integer=True)
    if isinstance(synsets, str):
        raise ArgumentTypeError(f"synsets: must be a sequence of WordNet synsets such as ('dog.n.01',), got the string {synsets!r}")
    own = getattr(dataset, "superclasses", lambda: {})()
    groups = own or {synset.split(".")[0]: superclass_members(synset).tolist() for synset in synsets}
    kept = {}
    for name, members in groups.items():
        inside = [int(c) for c in classes if c in set(members)]
        if 0 < len(inside) < len(classes):
            kept[name] = inside
    return kept
