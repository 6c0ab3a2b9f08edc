"""The tolerances of a tiny execution on another CPU (scripts/portability.py), on planted records."""

import importlib.util
import math
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("portability", ROOT / "scripts" / "portability.py")
portability = importlib.util.module_from_spec(spec)
spec.loader.exec_module(portability)


def _record(claim, verdict, **details):
    return {"claim": claim, "scale": "tiny", "verdict": verdict, "value": "...", "details": details}


def _variability(sd_by_group, verdicts=("holds",) * 3, claim=5):
    return {"seeds": [0, 1, 2], "claims": {str(claim): {
        "verdicts": {str(seed): verdict for seed, verdict in enumerate(verdicts)},
        "groups": {group: {"sd": sd, "range": 2 * sd} for group, sd in sd_by_group.items()}}}}


def test_groups_pool_list_positions_and_families_of_like_dicts():
    record = _record(10, "holds", ratio=[0.1, 0.2], sweep=[{"r2": 0.9, "setting": "seed 1"}, {"r2": 0.8, "setting": "seed 2"}],
                     groups={"shape disk": {"after": 0.5, "before": 1.0}, "shape cross": {"after": 0.4, "before": 0.9}},
                     k={"relu1": 2, "relu2": 3}, ari={"relu1": 1.0, "relu2": 0.5}, pct=10.0, images=10,
                     as_released={"r2": [0.7]}, r2=[0.9])
    groups = portability.groups_of(record)
    assert list(groups) == list(portability.numeric_leaves(record))
    assert groups["details/ratio/1"] == "details/ratio/*" and groups["details/sweep/1/r2"] == "details/sweep/*/r2"
    assert groups["details/groups/shape cross/after"] == groups["details/groups/shape disk/after"] == "details/groups/*/after"
    # dicts of numbers, or of unlike members, are not families: cluster counts and ARIs stay apart, so do pct and images
    assert groups["details/k/relu1"] == "details/k/relu1" and groups["details/ari/relu1"] == "details/ari/relu1"
    assert groups["details/pct"] == "details/pct" and groups["details/images"] == "details/images"
    assert groups["details/as_released/r2/0"] == "details/as_released/r2/*" != groups["details/r2/0"]


def test_seed_variability_pools_the_variance_of_a_group_across_seeds():
    runs = {seed: {5: _record(5, verdict, r2=[0.9 + 0.01 * seed, 0.8], epochs=100)}
            for seed, verdict in zip(range(3), ("holds", "holds", "does not hold"))}
    result = portability.seed_variability(runs)
    groups = result["claims"]["5"]["groups"]
    # the first value has variance 1e-4 across seeds (0.90, 0.91, 0.92), the second 0: pooled sd sqrt(1e-4 / 2)
    assert groups["details/r2/*"]["sd"] == pytest.approx(math.sqrt(0.5e-4))
    assert groups["details/r2/*"]["range"] == pytest.approx(0.02)
    assert groups["details/epochs"] == {"sd": 0.0, "range": 0.0}
    assert portability.boundary_claims(result) == {5: {"0": "holds", "1": "holds", "2": "does not hold"}}
    with pytest.raises(ValueError, match="at least 3 seeds"):
        portability.seed_variability({0: runs[0], 1: runs[1]})
    runs[2][5]["details"]["extra"] = 1.0
    with pytest.raises(ValueError, match="seed 2 recorded other values"):
        portability.seed_variability(runs)


def _compare(committed_details, fresh_details, variability, committed_verdict="holds", fresh_verdict="holds", claim=5):
    committed = {(claim, "tiny"): _record(claim, committed_verdict, **committed_details)}
    fresh = {(claim, "tiny"): _record(claim, fresh_verdict, **fresh_details)}
    return portability.compare_claims(committed, fresh, variability, [claim])


def test_a_trained_value_may_move_by_six_seed_standard_deviations_and_no_further():
    variability = _variability({"details/r2": 0.01})
    problems, worst = _compare({"r2": 0.90}, {"r2": 0.95}, variability)
    assert problems == [] and worst[5] == pytest.approx(0.05 / 0.06)
    problems, worst = _compare({"r2": 0.90}, {"r2": 0.97}, variability)
    assert len(problems) == 1 and "details/r2" in problems[0] and "6 sd or the widest spread across training seeds" in problems[0]
    assert worst[5] == pytest.approx(0.07 / 0.06)


def test_a_trained_value_may_move_as_far_as_any_seed_moved_a_value_of_its_group():
    """Accuracies of a few images move in steps: one seed's jump widens the group's tolerance beyond 6 sd."""
    variability = _variability({"details/ratio": 0.05})
    variability["claims"]["5"]["groups"]["details/ratio"]["range"] = 0.7
    problems, _ = _compare({"ratio": 0.1}, {"ratio": 0.7}, variability)
    assert problems == []
    problems, _ = _compare({"ratio": 0.1}, {"ratio": 0.9}, variability)
    assert len(problems) == 1 and "details/ratio" in problems[0]


def test_a_trained_group_is_judged_by_its_mean():
    """Per-class ratios whose widest seed spread is 0.5: one class may jump further (0 -> 0.8, as under
    oneDNN's SSE4.1 kernels), the group's mean may not; so for a group of a few values like R² per layer."""
    variability = _variability({"details/ablate_target/*": 0.04, "details/r2/*": 0.01})
    variability["claims"]["5"]["groups"]["details/ablate_target/*"]["range"] = 0.5
    committed = [0.0] * 16
    one_jump = [0.0] * 11 + [0.8] + [0.0] * 4
    problems, worst = _compare({"ablate_target": committed, "r2": [0.9, 0.5]}, {"ablate_target": one_jump, "r2": [0.9, 0.5]}, variability)
    assert problems == [] and worst[5] == pytest.approx(0.05 / 0.5)
    many = [0.0] * 5 + [0.8] * 11  # mean 0.55: a change of what ablation does, not one class's draw
    problems, _ = _compare({"ablate_target": committed, "r2": [0.9, 0.5]}, {"ablate_target": many, "r2": [0.9, 0.5]}, variability)
    assert len(problems) == 1 and "details/ablate_target/* (trained: judged by its mean over 16 values)" in problems[0]
    problems, worst = _compare({"ablate_target": committed, "r2": [0.90, 0.50]}, {"ablate_target": committed, "r2": [0.97, 0.50]},
                               variability)
    assert problems == [] and worst[5] == pytest.approx(0.035 / 0.06)  # the mean moved by half of one value's move
    problems, _ = _compare({"ablate_target": committed, "r2": [0.90, 0.50]}, {"ablate_target": committed, "r2": [0.97, 0.56]},
                           variability)
    assert len(problems) == 1 and "details/r2/*" in problems[0]


def test_a_value_no_training_reaches_moves_by_rounding_only():
    variability = {"seeds": [0, 1, 2], "claims": {}}  # claim 1 is not among the trained claims
    problems, _ = _compare({"hoyer": [0.40, 12.0]}, {"hoyer": [0.40005, 12.0011]}, variability, claim=1)
    assert problems == []
    problems, _ = _compare({"hoyer": [0.40, 12.0]}, {"hoyer": [0.4002, 12.0]}, variability, claim=1)
    assert len(problems) == 1 and "float32 rounding" in problems[0]
    problems, _ = _compare({"hoyer": [0.40, 12.0]}, {"hoyer": [0.40, 12.002]}, variability, claim=1)  # relative above 1
    assert len(problems) == 1 and "details/hoyer/1" in problems[0]
    # a trained group whose seeds all agreed keeps the rounding tolerance, not zero
    problems, _ = _compare({"ratio": [0.0]}, {"ratio": [0.00005]}, _variability({"details/ratio/*": 0.0}))
    assert problems == []


def test_a_verdict_may_flip_only_where_the_training_seeds_disagree():
    unanimous = _variability({"details/r2/*": 0.01})
    problems, _ = _compare({"r2": [0.9]}, {"r2": [0.9]}, unanimous, fresh_verdict="does not hold")
    assert len(problems) == 1 and "every training seed gives 'holds'" in problems[0]
    split = _variability({"details/r2/*": 0.01}, verdicts=("holds", "does not hold", "holds"))
    problems, _ = _compare({"r2": [0.9]}, {"r2": [0.9]}, split, fresh_verdict="does not hold")
    assert problems == []
    untrained = {"seeds": [0, 1, 2], "claims": {}}
    problems, _ = _compare({"r2": [0.9]}, {"r2": [0.9]}, untrained, fresh_verdict="does not hold", claim=1)
    assert len(problems) == 1 and "no training is involved" in problems[0]
    committed = {(5, "tiny"): _record(5, "holds", r2=[0.9])}
    fresh = {(5, "tiny"): _record(5, "does not hold", r2=[0.9])}
    assert portability.compare_claims(committed, fresh, unanimous, [5], boundary={5})[0] == []  # declared on its page


def test_stale_variability_and_changed_records_are_reported():
    variability = _variability({"details/r2/*": 0.01}, verdicts=("does not hold",) * 3)
    problems, _ = _compare({"r2": [0.9]}, {"r2": [0.9]}, variability)
    assert any("older than the committed results" in p for p in problems)
    problems, _ = _compare({"r2": [0.9]}, {"r2": [0.9, 0.8]}, _variability({"details/r2/*": 0.01}))
    assert any("changed shape" in p for p in problems)
    with pytest.raises(KeyError, match="details/alive: the seed variability has no such group; rerun"):
        _compare({"r2": [0.9], "alive": 3}, {"r2": [0.9], "alive": 3}, _variability({"details/r2/*": 0.01}))


def test_configurations_force_each_library_down_and_to_avx2_on_an_avx512_cpu(monkeypatch):
    monkeypatch.setattr(portability, "cpu_flags", lambda: {"avx2", "avx512f"})
    configs = portability.configurations()
    assert configs["all-lowest"] == {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41",
                                     "MKL_ENABLE_INSTRUCTIONS": "SSE4_2", "OMP_NUM_THREADS": "2"}
    assert configs["all-avx2"]["MKL_ENABLE_INSTRUCTIONS"] == "AVX2" and configs["onednn-avx2"]["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    assert {"native", "aten-default", "onednn-sse41", "mkl-sse42", "threads-1"} <= set(configs)
    monkeypatch.setattr(portability, "cpu_flags", lambda: {"avx2"})
    assert not any(name.endswith("avx2") for name in portability.configurations())  # AVX2 is already the CPU's own choice


def test_refreshing_a_saved_seed_run_replaces_the_executed_notebooks_claims_only(tmp_path, monkeypatch, capsys):
    saved = tmp_path / "seed-3.json"
    saved.write_text(portability.json.dumps({"environment": {}, "parameters": {"preset": "x"},
                                              "claims": {"5": _record(5, "holds", r2=[0.9]), "7": _record(7, "holds", ratio=[0.1])}}))
    executed = []

    def execute_tiny(environment, work, notebooks, parameters):
        executed.append((notebooks, parameters))
        return {7: _record(7, "does not hold", ratio=[0.6])}

    monkeypatch.setattr(portability, "execute_tiny", execute_tiny)
    monkeypatch.setattr(portability, "RUNS", tmp_path)
    portability._refresh_run(saved, ["03"], {"preset": {"name": "tiny", "training_seed": 3}})
    claims = portability.json.loads(saved.read_text())["claims"]
    assert executed == [(["03"], {"preset": {"name": "tiny", "training_seed": 3}})]
    assert claims["5"]["details"] == {"r2": [0.9]} and claims["7"]["details"] == {"ratio": [0.6]}
    assert "changed: [7]" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        portability.main(["seeds", "--notebooks", "02,03", "--refresh", "06"])
