"""Claim 11 (a mode's maps show the same low-level feature across classes), scored, not eyeballed:
:func:`mass_shares` (where the map's mass lies, against the regions' share of the area, on
planted images with object and distractor masks) and :func:`map_descriptors` /
:func:`cross_class_consistency` (whether one mode highlights the same kind of image content on
images of different classes, against randomly drawn channel sets of the same size).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ..checks import ArgumentTypeError, check_array, check_bool, check_indices, check_int, check_number
from .display import checked_maps
from .maps import PAPER_CHANNELS_PER_MODE, channel_selection, input_maps, mode_selection, random_selections


def mass_shares(maps, regions: dict) -> dict:
    """Where a map's mass lies: the share of ``|map|`` (summed over colours) inside each region,
    and each region's share of the area.

    Parameters
    ----------
    maps : array or Tensor, shape (N, 3, H, W)
        One map per image.
    regions : dict of str to array, each shape (N, H, W), bool
        Disjoint regions, e.g. ``object``, ``distractors``, ``background``.

    Returns
    -------
    dict with ``"mass"`` and ``"area"``: each a dict of region → (N,) shares.
    """
    maps = np.abs(checked_maps(maps)).sum(axis=-3)  # (N, H, W)
    if not isinstance(regions, dict) or not regions:
        raise ArgumentTypeError(f"regions: must be a non-empty dict of region name to boolean masks (N, H, W), got {regions!r:.60}")
    total = maps.reshape(len(maps), -1).sum(1)
    mass, area = {}, {}
    covered = np.zeros(maps.shape, dtype=int)
    for name, region in regions.items():
        region = region.detach().cpu().numpy() if isinstance(region, Tensor) else np.asarray(region)
        if region.shape != maps.shape or region.dtype != bool:
            raise ValueError(f"regions: {name!r} has shape {region.shape} and dtype {region.dtype}; give boolean masks {maps.shape}")
        covered += region
        mass[name] = np.divide((maps * region).reshape(len(maps), -1).sum(1), total, out=np.full(len(maps), np.nan), where=total > 0)
        area[name] = region.reshape(len(maps), -1).mean(1)
    if (covered > 1).any():
        raise ValueError("regions: the regions overlap; give disjoint masks")
    return {"mass": mass, "area": area}


def image_features(images, sigma: float = 1.0) -> np.ndarray:
    """A small bank of local low-level features per pixel: the colour values and the gradient
    energy of their mean at two scales in four orientations, each standardised over the images.

    Parameters
    ----------
    images : array or Tensor, shape (N, colours, H, W)
    sigma : float
        Scale of the finer Gaussian derivative, in pixels (the coarser is twice it).

    Returns
    -------
    numpy.ndarray, shape (N, colours + 8, H, W)
    """
    from scipy.ndimage import gaussian_filter

    sigma = check_number("sigma", sigma, above=0)
    images = checked_maps(images, "images").astype(np.float64)
    if images.ndim != 4:
        raise ValueError(f"images: shape {images.shape}; give (N, colours, H, W)")
    grey = images.mean(1)
    features = [images[:, c] for c in range(images.shape[1])]
    for scale in (sigma, 2 * sigma):
        dy = gaussian_filter(grey, (0, scale, scale), order=(0, 1, 0))
        dx = gaussian_filter(grey, (0, scale, scale), order=(0, 0, 1))
        for angle in np.arange(4) * np.pi / 4:
            features.append((np.cos(angle) * dx + np.sin(angle) * dy) ** 2)
    stacked = np.stack(features, axis=1)
    mean = stacked.mean(axis=(0, 2, 3), keepdims=True)
    std = stacked.std(axis=(0, 2, 3), keepdims=True)
    return (stacked - mean) / np.where(std > 0, std, 1.0)


def map_descriptors(maps, features) -> np.ndarray:
    """What a map highlights: the ``|map|``-weighted mean of each local feature, per map.

    Parameters
    ----------
    maps : array or Tensor, shape (N, S, 3, H, W)
        S maps (selections) on each of N images.
    features : array, shape (N, F, H, W)
        :func:`image_features` of the same images.

    Returns
    -------
    numpy.ndarray, shape (N, S, F); NaN for a map without mass.
    """
    weights = np.abs(checked_maps(maps)).sum(axis=-3)  # (N, S, H, W)
    features = np.asarray(features)
    if weights.ndim != 4 or features.ndim != 4 or weights.shape[0] != features.shape[0] or weights.shape[2:] != features.shape[2:]:
        raise ValueError(f"maps, features: give maps (N, S, 3, H, W) and features (N, F, H, W) of the same images; "
                         f"got {weights.shape[:1] + weights.shape[1:]} and {features.shape}")
    total = weights.sum(axis=(2, 3))[..., None]
    weighted = np.einsum("nshw,nfhw->nsf", weights, features)
    return np.divide(weighted, total, out=np.full(weighted.shape, np.nan), where=total > 0)


def cross_class_consistency(descriptors, labels) -> np.ndarray:
    """How alike one selection's maps are on images of *different* classes: the mean Pearson
    correlation of its descriptors over all pairs of images with different labels.

    Parameters
    ----------
    descriptors : array, shape (N, S, F)
        :func:`map_descriptors`.
    labels : array, shape (N,)

    Returns
    -------
    numpy.ndarray, shape (S,)
    """
    descriptors, labels = check_array("descriptors", descriptors).astype(np.float64), check_array("labels", labels)
    if descriptors.ndim != 3 or labels.shape != descriptors.shape[:1]:
        raise ValueError(f"descriptors, labels: give (N, S, F) and (N,); got {descriptors.shape} and {labels.shape}")
    if np.unique(labels).size < 2:
        raise ValueError("labels: the images need at least two classes to compare maps across classes")
    centred = descriptors - descriptors.mean(-1, keepdims=True)
    norm = np.linalg.norm(centred, axis=-1, keepdims=True)
    unit = np.divide(centred, norm, out=np.full(centred.shape, np.nan), where=norm > 0)
    pairs = labels[:, None] != labels[None, :]  # (N, N)
    values = []
    for s in range(descriptors.shape[1]):
        corr = unit[:, s] @ unit[:, s].T  # (N, N)
        values.append(np.nanmean(corr[pairs]))
    return np.asarray(values)


def mode_loadings_rows(codes, mode: int, labels, exclude, n: int) -> np.ndarray:
    """The rows (images) of other classes on which a mode loads most: where to look for what it
    shares across classes (Fig. 7B: a violin mode on cellos and marimbas).

    Parameters
    ----------
    codes : array, shape (N, K)
        The SAE's codes (loadings) of N images.
    mode : int
    labels : array, shape (N,)
    exclude : int or sequence of int
        Classes left out (the mode's own class).
    n : int
        How many rows, highest loading first (fewer if fewer images are left).

    Returns
    -------
    numpy.ndarray of int64, shape (<= n,)
    """
    codes, labels = check_array("codes", codes, ndim=2), check_array("labels", labels, ndim=1)
    if len(labels) != len(codes):
        raise ValueError(f"labels: {len(labels)} labels for {len(codes)} rows of codes")
    check_int("mode", mode, 0)
    if not 0 <= mode < codes.shape[1]:
        raise ValueError(f"mode: {mode} is out of range; the SAE has {codes.shape[1]} modes (0 to {codes.shape[1] - 1})")
    check_int("n", n, 1)
    allowed = ~np.isin(labels, np.atleast_1d(exclude))
    candidates = np.flatnonzero(allowed)
    return candidates[np.argsort(-codes[candidates, mode], kind="stable")[:n]]


def _rows_of_two_classes(codes, mode: int, labels, own_class, n: int) -> np.ndarray:
    """:func:`mode_loadings_rows` of the classes other than ``own_class``, made to hold at least two
    classes (the maps are compared across classes): where the top ``n`` are all of one class, the
    highest-loading image of a third class replaces the last, or of the own class where there is
    no third (a dataset of two classes)."""
    chosen = mode_loadings_rows(codes, mode, labels, own_class, n)
    if np.unique(labels[chosen]).size >= 2:
        return chosen
    ranked = mode_loadings_rows(codes, mode, labels, [], len(labels))
    taken = labels[chosen[0]] if chosen.size else own_class
    third = ranked[(labels[ranked] != taken) & (labels[ranked] != own_class)]
    other = third if third.size else ranked[labels[ranked] != taken]
    return np.concatenate([chosen[: n - 1], other[:1]]) if chosen.size else np.concatenate([ranked[:1], other[:1]])


def group_selections(fits, layer: str, group_indicator, n_channels: int, top: int = PAPER_CHANNELS_PER_MODE,
                     combine: str = "sum") -> dict:
    """Each group's selection at one layer from every source of :data:`codec.control.SOURCES`.

    ``contribution modes`` and ``activation modes``: the top ``top`` channels of the group's most
    correlated mode of each SAE; ``single channels``: the ``top`` channels most correlated with
    the group by their own positive contribution part (the SAE's input).

    Parameters
    ----------
    fits : mapping of (layer, kind) to codec.sae.LayerFit
    layer : str
    group_indicator : array, shape (N, G)
        Indicators of the groups (classes or superclasses) on the SAEs' rows.
    n_channels : int
    top : int
    combine : {"sum", "positive"}

    Returns
    -------
    dict of source to (Tensor (G, C), numpy.ndarray (G,) of the chosen modes, or of the best channel)
    """
    from ..control.rankings import check_fits
    from ..modes import correlation, top_modes

    check_fits(fits, layer)
    group_indicator = check_array("group_indicator", group_indicator, ndim=2)
    if len(group_indicator) != len(fits[layer, "contributions"].codes):
        raise ValueError(f"group_indicator: {len(group_indicator)} rows for the SAE's {len(fits[layer, 'contributions'].codes)} images")
    check_int("n_channels", n_channels, 1)
    selections = {}
    for source, kind in (("contribution modes", "contributions"), ("activation modes", "activations")):
        fit = fits[layer, kind]
        best = top_modes(correlation(fit.codes, group_indicator), 1)[:, 0]
        selections[source] = (mode_selection(fit.dictionary, best, n_channels, top, combine=combine), best)
    features = fits[layer, "contributions"].features
    if features.shape[1] not in (n_channels, 2 * n_channels):
        raise ValueError(f"fits: the SAE of {layer!r} reads {features.shape[1]} features; the layer has {n_channels} channels")
    channel_corr = np.nan_to_num(correlation(features[:, :n_channels], group_indicator), nan=-np.inf)  # (C, G)
    order = np.argsort(-channel_corr.T, axis=1, kind="stable")[:, :top]
    selections["single channels"] = (channel_selection(order.tolist(), n_channels), order[:, 0])
    return selections


def map_target(labels, rows, true_class_softmax: bool = True, store_settings: dict | None = None) -> dict:
    """The ``target`` and ``softmax`` arguments of :func:`input_maps` for some store rows: the softmax of
    each image's true class (the authors' Fig. 7), or the store's own target (``store.settings``)."""
    check_bool("true_class_softmax", true_class_softmax)
    labels = check_array("labels", labels, ndim=1, integer=True)
    rows = check_indices("rows", rows, len(labels), "store rows")
    if true_class_softmax:
        return {"target": ("class", torch.as_tensor(labels[rows])), "softmax": True}
    if store_settings is None:
        raise ValueError("store_settings: give the store's settings (store.settings) to use its target")
    return {"target": store_settings["target"], "softmax": store_settings["softmax"]}


def _rows_of_target(target, rows, n_inputs: int):
    """A per-input class target restricted to some rows; any other target as given."""
    if isinstance(target, tuple) and len(target) == 2 and target[0] == "class":
        index = torch.as_tensor(target[1])
        if index.ndim == 1 and index.numel() == n_inputs:
            return ("class", index[torch.as_tensor(rows, dtype=torch.long)])
    return target


def map_scores(model: nn.Module, inputs: Tensor, labels, layer: str, groups: dict, *, regions: dict | None = None,
               n_random: int = 20, seed: int = 0, target="top1", softmax: bool = False,
               cotangents_per_pass: int | None = None):
    """Claim 11's numbers: for each group, whether each source's selection highlights the same
    image content on images of different classes (against random channel sets of the same size),
    and where its maps put their mass.

    Parameters
    ----------
    model : nn.Module
    inputs : Tensor, shape (N, 3, H, W)
    labels : array, shape (N,)
        Classes of the inputs (the pairs compared are those of different classes).
    layer : str
    groups : dict of group name to (rows, {source: Tensor (C,)})
        The images (row indices into ``inputs``) and each source's channel weights for the group.
    regions : dict of region name to array (N, H, W) of bool, optional
        Disjoint masks (planted data: ``object``, ``distractors``, ``background``).
    n_random : int
        Random channel sets per group, of the size of the group's first source's selection.
    seed : int
    target, softmax, cotangents_per_pass
        As :func:`input_maps`; a ``("class", indices)`` target with one index per input is split by group.

    Returns
    -------
    pandas.DataFrame
        One row per group and source (``random channels`` for the random sets' mean): ``consistency``,
        ``chance_95`` (the random sets' 95th percentile), ``above_chance`` and, with ``regions``,
        ``mass_<region>`` and ``area_<region>`` (means over the group's images).
    """
    import pandas as pd

    if not isinstance(inputs, Tensor) or inputs.ndim != 4:
        raise ArgumentTypeError(f"inputs: must be a batch of images (N, 3, H, W), got {type(inputs).__name__}")
    labels = check_array("labels", labels, ndim=1)
    if len(labels) != len(inputs):
        raise ValueError(f"labels: {len(labels)} labels for {len(inputs)} inputs")
    check_int("n_random", n_random, 1)
    check_int("seed", seed, 0)
    if not isinstance(groups, dict) or not groups:
        raise ArgumentTypeError(f"groups: must be a non-empty dict of group name to (rows, {{source: weights (C,)}}), got {groups!r:.60}")
    for name, group in groups.items():
        if not (isinstance(group, tuple) and len(group) == 2 and isinstance(group[1], dict) and group[1]):
            raise ArgumentTypeError(f"groups[{name!r}]: must be (rows, {{source: channel weights (C,)}}), got {type(group).__name__}")
        check_indices(f"groups[{name!r}]", group[0], len(inputs), "inputs")
    features = image_features(inputs)
    rng = np.random.default_rng(seed)
    rows_out = []
    for name, (rows, chosen) in groups.items():
        rows = np.asarray(rows)
        sources = list(chosen)
        stacked = torch.stack([torch.as_tensor(chosen[source], dtype=torch.float32) for source in sources])
        size = int((stacked[0] != 0).sum())
        randoms = random_selections(stacked.shape[1], size, n_random, seed=int(rng.integers(2**31)))
        result = input_maps(model, inputs[rows], layer, torch.cat([stacked, randoms]).to(inputs.dtype),
                            target=_rows_of_target(target, rows, len(inputs)),
                            softmax=softmax, cotangents_per_pass=cotangents_per_pass)
        maps = result.maps.detach().cpu().numpy()
        consistency = cross_class_consistency(map_descriptors(maps, features[rows]), labels[rows])
        chance = consistency[len(sources):]
        chance_95 = float(np.nanpercentile(chance, 95))
        for s, source in enumerate(sources + ["random channels"]):
            row = {"group": name, "source": source, "images": len(rows),
                   "consistency": float(consistency[s]) if source != "random channels" else float(np.nanmean(chance)),
                   "chance_95": chance_95}
            row["above_chance"] = bool(row["consistency"] > chance_95) if source != "random channels" else False
            if regions is not None:
                picked = slice(s, s + 1) if source != "random channels" else slice(len(sources), None)
                per_map = [mass_shares(maps[:, m], {k: np.asarray(v)[rows] for k, v in regions.items()})
                           for m in range(picked.start, picked.stop if picked.stop is not None else maps.shape[1])]
                for region in regions:
                    row[f"mass_{region}"] = float(np.nanmean([share["mass"][region] for share in per_map]))
                    row[f"area_{region}"] = float(np.mean(per_map[0]["area"][region]))
            rows_out.append(row)
    return pd.DataFrame(rows_out)


def claim_groups(dataset, labels, fits, layer: str, n_channels: int, top: int, images: int, n_groups: int | None = None,
                 class_names: Sequence[str] | None = None):
    """The groups claim 11 is scored on, their images (store rows) and each source's selection.

    With planted data (a dataset with ``texture`` superclasses and masks): one group per texture,
    its four classes (one per shape), ``images`` rows of each; the regions are the object, the
    distractors and the background. Otherwise: one group per class (the first ``n_groups``), the
    ``images`` rows of *other* classes on which the class's most correlated contribution mode
    loads most (of any class, its own included, where the others are one class only); no regions.

    Parameters
    ----------
    dataset : the store's dataset
    labels : array, shape (N,)
        The store's labels (row i is dataset item i).
    fits : mapping of (layer, kind) to codec.sae.LayerFit
    layer : str
    n_channels : int
    top : int
        Channels per selection.
    images : int
    n_groups : int, optional
    class_names : sequence of str, optional
        Names of the labels (``ModelEntry.class_names``), to name the groups of classes.

    Returns
    -------
    groups : dict of name to (rows, {source: Tensor (C,)})
    regions : dict of region to numpy.ndarray (N, H, W) of bool, or None
    what : str
        The groups in words.
    """
    from ..modes import correlation, indicators, superclass_indicators, top_modes

    labels = np.asarray(labels)
    check_int("images", images, 1)
    planted = hasattr(dataset, "superclasses") and hasattr(dataset, "tensors") and any(
        name.startswith("texture ") for name in dataset.superclasses())
    if planted:
        members = {name: classes for name, classes in dataset.superclasses().items() if name.startswith("texture ")}
        names = list(members)[:n_groups]
        group_indicator = superclass_indicators(labels, {name: members[name] for name in names})
        rows = {name: np.concatenate([np.flatnonzero(labels == c)[:images] for c in members[name]]) for name in names}
        masks = dataset.tensors(range(len(labels)))
        objects, distractors = masks["object_masks"].numpy(), masks["distractor_masks"].numpy()
        regions = {"object": objects, "distractors": distractors, "background": ~(objects | distractors)}
        what = f"{len(names)} textures, each on {len(next(iter(members.values())))} shapes ({images} images per class)"
    else:
        group_indicator, classes = indicators(labels)
        names = [str(c) for c in classes][:n_groups]
        best = top_modes(correlation(fits[layer, "contributions"].codes, group_indicator), 1)[:, 0]
        codes = fits[layer, "contributions"].codes
        rows = {}
        if classes.size < 2:
            raise ValueError("labels: claim 11 compares maps across classes; the store has one class")
        check_int("images", images, 2)
        for k, name in enumerate(names):
            rows[name] = _rows_of_two_classes(codes, int(best[k]), labels, classes[k], images)
        group_indicator = group_indicator[:, : len(names)]
        regions = None
        what = (f"{len(names)} classes, each on the {images} images of other classes where its top contribution mode "
                "loads most")
        if class_names is not None:
            names_of = {str(c): class_names[int(c)] for c in classes}
            rows = {names_of[name]: value for name, value in rows.items()}
            names = [names_of[name] for name in names]
    selections = group_selections(fits, layer, group_indicator, n_channels, top)
    groups = {name: (rows[name], {source: chosen[g] for source, (chosen, _) in selections.items()}) for g, name in enumerate(names)}
    return groups, regions, what
