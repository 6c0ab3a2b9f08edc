"""The claims made of parts, judged part by part: claim 7's and claim 10's ablation and preservation
(:func:`class_parts`, :func:`superclass_parts`), claim 12's clusters and IRF combinations
(:func:`retina_parts`), claim 13's sparsity, ablation and heads (:func:`vit_parts`). The verdict
rules (:mod:`codec.scorecard.rules`) and the grid's headlines (:mod:`codec.scorecard.headlines`)
read the same functions, so a part's mark cannot disagree with the verdict. Section 3 sets the
control claims' parts under the SAE as written beside those under the SAE as released
(:func:`released_control_table`).
"""

from __future__ import annotations

import numpy as np

from ..checks import ArgumentTypeError
from .comparisons import exceeds_at_every_layer, layer_outcomes

_CLASS_KEYS = ("ablate_target", "ablate_others", "preserve_target", "preserve_others")


def _check_details(name, details, keys):
    if not isinstance(details, dict):
        raise ArgumentTypeError(f"{name}: a claim record's details (a dict), got {type(details).__name__}")
    missing = [key for key in keys if key not in details]
    if missing:
        raise ValueError(f"{name}: lacks {', '.join(missing)}; give the details the claim's section records")


def class_medians(details) -> dict:
    """Claim 7's accuracy ratios as medians over the classes: ``{ablate_target, ablate_others, preserve_target,
    preserve_others}`` -> float, from ``details`` holding one ratio per class (shape (K,)) under each key."""
    _check_details("details", details, _CLASS_KEYS)
    return {key: float(np.nanmedian(details[key])) for key in _CLASS_KEYS}


def class_parts(median) -> tuple[bool, bool]:
    """Claim 7's two parts from :func:`class_medians`: (ablation holds, preservation holds)."""
    _check_details("median", median, _CLASS_KEYS)
    return (median["ablate_target"] <= 0.5 and median["ablate_others"] >= 0.8,
            median["preserve_target"] >= 0.5 and median["preserve_others"] <= 0.5)


def superclass_parts(groups) -> tuple[dict, bool, bool]:
    """One superclass run's accuracy ratios (median over its superclasses) and claim 10's two parts,
    (ratios, ablation holds, preservation holds); ``groups`` as :func:`codec.control.superclass_details` gives."""
    if not isinstance(groups, dict) or not groups or not all(isinstance(g, dict) for g in groups.values()):
        raise ArgumentTypeError(f"groups: superclass name -> its accuracies (codec.control.superclass_details), got {groups!r}")
    ratio = {key: float(np.nanmedian([g[key + "_after"] / g[key.split("_")[1] + "_before"] for g in groups.values()]))
             for key in ("ablate_group", "ablate_others", "preserve_group", "preserve_others")}
    return (ratio, ratio["ablate_group"] <= 0.5 and ratio["ablate_others"] >= 0.8,
            ratio["preserve_group"] >= 0.5 and ratio["preserve_others"] <= 0.5)


#: claim 12: the layers' clusterings "agree" when their adjusted Rand index reaches this (and beats chance)
RETINA_MIN_ARI = 0.5


def retina_parts(details) -> tuple[bool, bool]:
    """Claim 12's two parts from its details: (the layers' clusters agree, IRFs follow the combinations).

    ``details`` holds ``agreement`` (``ari``, ``chance_95``) and ``effect`` (``difference``, ``chance_95``).
    """
    _check_details("details", details, ("agreement", "effect"))
    agreement, effect = details["agreement"], details["effect"]
    return (bool(agreement["ari"] >= RETINA_MIN_ARI and agreement["ari"] > agreement["chance_95"]),
            bool(effect["difference"] > effect["chance_95"]))


_VIT_KINDS = (("tokens", "token features"), ("mlp", "MLP"), ("attention", "attention"))
#: claim 13's heads part: "barely specialised" when the heads' median Hoyer exceeds random groupings' by less than this
HEAD_MARGIN = 0.1


def vit_parts(details) -> dict:
    """Claim 13's three parts judged separately: ``{"sparsity", "ablation", "heads"}`` -> (holds, words).

    ``details``: ``kinds`` maps each of ``tokens``, ``mlp``, ``attention`` to ``hoyer_contribution`` and
    ``hoyer_activation`` (one per block) and ``ablate_contribution_modes`` and
    ``ablate_activation_modes`` (one per swept block); ``heads`` holds ``median_heads`` and
    ``median_random`` (one per attention layer) and ``share_above``.
    """
    if not isinstance(details, dict) or not isinstance(details.get("kinds"), dict) or "heads" not in details:
        raise ValueError("details: claim 13's details hold 'kinds' (tokens, mlp, attention) and 'heads'")
    kinds = details["kinds"]
    outcomes = {kind: layer_outcomes(kinds[kind]["hoyer_contribution"], kinds[kind]["hoyer_activation"],
                                     kinds[kind].get("hoyer_difference_se")) for kind, _ in _VIT_KINDS}
    with_errors = all("hoyer_difference_se" in kinds[kind] for kind, _ in _VIT_KINDS)
    ties = sum(int((o == 0).sum()) for o in outcomes.values())
    sparsity = (exceeds_at_every_layer(np.concatenate(list(outcomes.values())), with_errors),
                "contributions sparser than activations (mean Hoyer) at " + ", ".join(
                    f"{int((o > 0).sum())} of {len(o)} {name} layers" for (kind, name), o in zip(_VIT_KINDS, outcomes.values()))
                + (f"; a tie within one standard error at {ties}" if with_errors else ""))
    better = {kind: (int((np.asarray(kinds[kind]["ablate_contribution_modes"]) < np.asarray(kinds[kind]["ablate_activation_modes"])).sum()),
                     len(kinds[kind]["ablate_contribution_modes"])) for kind, _ in _VIT_KINDS}
    all_better, all_total = sum(n for n, _ in better.values()), sum(t for _, t in better.values())
    means = {kind: (float(np.mean(kinds[kind]["ablate_contribution_modes"])), float(np.mean(kinds[kind]["ablate_activation_modes"])))
             for kind, _ in _VIT_KINDS}
    ablation = (better["tokens"][0] > better["tokens"][1] / 2 and all_better > all_total / 2,
                "ablation score lower for contribution modes than for activation modes at " + ", ".join(
                    f"{better[kind][0]} of {better[kind][1]} {name} layers (mean {means[kind][0]:.2f} vs {means[kind][1]:.2f})"
                    for kind, name in _VIT_KINDS))
    heads = details["heads"]
    excess = np.asarray(heads["median_heads"], dtype=float) - np.asarray(heads["median_random"], dtype=float)
    share = np.asarray(heads["share_above"], dtype=float)
    head_part = (bool(np.all(excess < HEAD_MARGIN)),
                 f"per-head sums' median Hoyer minus random groupings' {excess.min():+.3f} to {excess.max():+.3f} over "
                 f"{len(excess)} attention layers; images above their random groupings' 95th percentile "
                 f"{share.min():.0%}–{share.max():.0%}")
    return {"sparsity": sparsity, "ablation": ablation, "heads": head_part}


def released_control_table(claim7: dict, claim8: dict, claim10: dict):
    """The control claims' parts under the paper's SAE as written and the SAE as released, side by side.

    Parameters
    ----------
    claim7, claim8, claim10 : dict
        The details section 3 records for claims 7, 8 and 10, each holding ``as_released`` (the same
        numbers from the SAE as released; claim 8's at its own layers, named in the row).

    Returns
    -------
    pandas.DataFrame
        One row per measure (claim 7's and claim 10's median accuracy ratios, claim 8's count of
        layers where contribution modes ablate better than activation modes), columns
        ``"SAE as written"`` and ``"SAE as released"``, as text.
    """
    import pandas as pd

    for claim, details in ((7, claim7), (8, claim8), (10, claim10)):
        if not isinstance(details, dict) or not isinstance(details.get("as_released"), dict):
            raise ValueError(f"claim{claim}: its details hold no 'as_released' numbers; run section 3 with compare_released=True")
    rows = {}
    written, released = class_medians(claim7), class_medians(claim7["as_released"])
    for key, words in zip(_CLASS_KEYS, ("ablated: target", "ablated: others", "preserved: target", "preserved: others")):
        rows[f"claim 7, accuracy ratio {words}"] = (f"{written[key]:.2f}", f"{released[key]:.2f}")
    judged10 = claim10.get("imagenet_sample", claim10)["groups"]
    written, released = superclass_parts(judged10)[0], superclass_parts(claim10["as_released"]["groups"])[0]
    for key, words in zip(("ablate_group", "ablate_others", "preserve_group", "preserve_others"),
                          ("ablated: superclass", "ablated: others", "preserved: superclass", "preserved: others")):
        rows[f"claim 10, accuracy ratio {words}"] = (f"{written[key]:.2f}", f"{released[key]:.2f}")
    counts = []
    for details in (claim8, claim8["as_released"]):
        c, a = np.asarray(details["ablate_contribution_modes"]), np.asarray(details["ablate_activation_modes"])
        counts.append(f"{int((c < a).sum())} of {len(c)}")
    rows["claim 8, layers where contribution modes ablate better"] = tuple(counts)
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["SAE as written", "SAE as released"])
    table.index.name = "measure (medians over classes or superclasses)"
    return table
