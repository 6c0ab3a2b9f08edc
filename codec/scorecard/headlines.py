"""The headline of a recorded claim: the one number that decides its verdict, or, for a claim
in parts, each part's verdict, in a few characters for the scorecard's grid
(:func:`headline`). Each is computed from the record's details by the quantities its rule reads
(:mod:`codec.scorecard.rules`), so a headline cannot disagree with the verdict beside it.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..checks import ArgumentTypeError
from .claims import CLAIMS_BY_ID
from .comparisons import depth_correlation, intermediate_positions, layer_outcomes
from .parts import class_medians, class_parts, retina_parts, superclass_parts, vit_parts

#: claim id -> headline(details) -> str; filled by @_headline
HEADLINES: dict[int, Callable[[dict], str]] = {}

#: how a part's verdict is marked in a headline
MARKS = {True: "✓", False: "✗"}


def _headline(claim_id: int):
    def register(function):
        HEADLINES[claim_id] = function
        return function
    return register


def _parts(**parts: bool) -> str:
    return " · ".join(f"{name.replace('_', ' ')} {MARKS[bool(holds)]}" for name, holds in parts.items())


def _share(a, b) -> str:
    return f"{a}/{b}"


@_headline(1)
def _sparser(details):
    outcomes = layer_outcomes(details["hoyer_contribution"], details["hoyer_activation"], details.get("hoyer_difference_se"))
    return f"sparser at {_share(int((outcomes > 0).sum()), len(outcomes))} layers" + (
        f", {int((outcomes == 0).sum())} ties" if (outcomes == 0).any() else "")


@_headline(2)
def _with_depth(details):
    c = np.asarray(details["hoyer_contribution"], dtype=float)
    return f"r = {depth_correlation(c):.2f} with depth"


@_headline(3)
def _decorrelation(details):
    e = np.asarray(details["ei_correlation_per_image_median"], dtype=float)
    return f"E/I r {e[0]:.2f} → {e[-1]:.2f}"


@_headline(4)
def _components(details):
    c, a = np.asarray(details["pcs_contribution"]), np.asarray(details["pcs_activation"])
    return f"as many or more at {_share(int((c >= a).sum()), len(c))} layers"


@_headline(5)
def _reconstruction(details):
    return f"R² {np.mean(details['r2_contributions']):.2f} / {np.mean(details['r2_activations']):.2f}"


@_headline(6)
def _selectivity(details):
    c, a = np.asarray(details["median_max_contribution_modes"]), np.asarray(details["median_max_activation_modes"])
    middle = intermediate_positions(len(c))
    channels = np.asarray(details["median_max_contribution_channels"])
    return (f"over activation modes {_share(int((c[middle] > a[middle]).sum()), len(c[middle]))}, "
            f"over channels {_share(int((c > channels).sum()), len(c))} layers")


@_headline(7)
def _class_control(details):
    ablation, preservation = class_parts(class_medians(details))
    return _parts(ablation=ablation, preservation=preservation)


@_headline(8)
def _fewer_channels(details):
    c, a = np.asarray(details["ablate_contribution_modes"]), np.asarray(details["ablate_activation_modes"])
    return f"better at {_share(int((c < a).sum()), len(c))} layers"


@_headline(9)
def _sharp_rise(details):
    c = np.asarray(details["ablate_contribution_modes"], dtype=float)
    return f"largest step into layer {int(np.argmax(c[:-1] - c[1:])) + 2}/{len(c)}"


@_headline(10)
def _superclass(details):
    run = details.get("imagenet_sample") or details  # the run the verdict reads
    _, ablation, preservation = superclass_parts(run["groups"])
    return _parts(ablation=ablation, preservation=preservation)


@_headline(11)
def _mode_maps(details):
    groups = details["groups"]
    above = sum(groups[g]["contribution modes"]["consistency"] > groups[g]["chance_95"] for g in groups)
    return f"above chance for {_share(int(above), len(groups))}"


@_headline(12)
def _retina(details):
    clusters, combinations = retina_parts(details)
    return _parts(clusters=clusters, combinations=combinations)


@_headline(13)
def _vit(details):
    return _parts(**{name: holds for name, (holds, _) in vit_parts(details).items()})


@_headline(14)
def _robustness(details):
    return f"median cosine {np.median([row['stability'] for row in details['sweep']]):.2f}"


@_headline(15)
def _contrastive(details):
    difference = np.abs(np.asarray(details["contrastive"], dtype=float) - np.asarray(details["top1"], dtype=float)).max()
    return f"Δ Hoyer ≤ {difference:.2f}"


@_headline(16)
def _cost(details):
    device = details.get("device")
    return f"ratio {details['ratio']:.1f}" + (f" on {str(device).split(' ')[0]}" if device else "")


def headline(record: dict) -> str:
    """The few words and the number that decide a recorded claim's verdict, for the scorecard's grid.

    Parameters
    ----------
    record : dict
        A claim record as :func:`codec.scorecard.load_claims` gives it (``claim``, ``details``, ...).

    Returns
    -------
    str
        For example ``"sparser at 16/16 layers"``, ``"R² 0.91 / 0.46"``, or a claim's parts with their
        marks, ``"ablation ✗ · preservation ✓"``.
    """
    if not isinstance(record, dict) or "claim" not in record or not isinstance(record.get("details"), dict):
        raise ArgumentTypeError(f"record: a claim record with 'claim' and 'details' (codec.scorecard.load_claims), got {record!r}")
    claim_id = record["claim"]
    if claim_id not in CLAIMS_BY_ID:
        raise ValueError(f"record: unknown claim {claim_id!r}; claims are 1-{len(CLAIMS_BY_ID)}")
    try:
        return HEADLINES[claim_id](record["details"])
    except (KeyError, IndexError, TypeError) as error:
        raise ValueError(f"record: claim {claim_id}'s details lack what its headline reads ({type(error).__name__}: {error}); "
                         "records made by assess() hold it") from None
