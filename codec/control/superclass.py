"""Fig. S10: a superclass's aggregated modes perturbed at several layers at once, its accuracy and the
others' (:func:`group_control`, :func:`superclass_control`, :func:`superclass_details`), and which
superclasses an image set has (:func:`superclass_groups`).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from ..checks import ArgumentTypeError, check_array, check_int
from .experiments import check_forward, check_labels, check_pcts_list
from .forward import MaskedForward
from .interventions import MODES, channel_mask, check_mode, n_selected
from .rankings import check_fits, group_weights, rank_channels, top_channels
from .scoring import top_k_hits


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
    check_forward(forward)
    check_mode(mode)
    check_int("seed", seed, 0)
    labels = check_labels(labels, forward)
    if not isinstance(weights, Mapping) or not weights:
        raise ArgumentTypeError(f"weights: must be a mapping of layer name to (C,) channel weights, got {type(weights).__name__}")
    inside = np.isin(labels, check_array("members", members, ndim=1, integer=True))
    if not inside.any() or inside.all():
        raise ValueError("members: the inputs need images of the superclass and images of other classes")
    pcts = check_pcts_list(pcts)
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

    check_forward(forward)
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


def superclass_table(details: Mapping):
    """:func:`superclass_details`'s numbers as a table to read: one row per superclass, its class
    count and image share, then its top-k accuracy and the others' before, ablated and preserved.

    Parameters
    ----------
    details : dict
        :func:`superclass_details`'s return (``{"groups": {name: row}}``), or its ``groups``.

    Returns
    -------
    pandas.DataFrame
        Rows: superclasses; columns (two levels): ("", "classes"), ("", "images"), then
        ("before" | "ablated" | "preserved", "group" | "others"): the superclass's top-k accuracy
        and the other classes'.
    """
    groups = details.get("groups", details) if isinstance(details, Mapping) else None
    if not isinstance(groups, Mapping) or not all(isinstance(row, Mapping) for row in groups.values()):
        raise ArgumentTypeError("details: must be superclass_details' return or its 'groups' (a dict of superclass -> numbers)")
    keys = {("", "classes"): "classes", ("", "images"): "image_share", ("before", "group"): "group_before",
            ("before", "others"): "others_before", ("ablated", "group"): "ablate_group_after",
            ("ablated", "others"): "ablate_others_after", ("preserved", "group"): "preserve_group_after",
            ("preserved", "others"): "preserve_others_after"}
    for name, row in groups.items():
        missing = sorted(set(keys.values()) - set(row))
        if missing:
            raise ValueError(f"details: superclass {name!r} lacks {missing}")
    table = pd.DataFrame({column: [row[key] for row in groups.values()] for column, key in keys.items()}, index=list(groups))
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    table[("", "classes")] = table[("", "classes")].astype(int)
    table[("", "images")] = table[("", "images")].map(lambda share: f"{share:.0%}")
    return table.rename_axis("superclass")


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
