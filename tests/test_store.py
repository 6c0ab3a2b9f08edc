"""The contribution store: round trip, caching, resume after SIGKILL, damage and repair,
several processes, the command line and bad input."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import codec
from codec import store as store_module
from codec.data import shapes
from codec.models import load_model
from codec.store import ContributionStore, StoreError, compute_contributions

ROOT = Path(__file__).resolve().parents[1]
# one thread everywhere so that a store written by subprocesses is comparable bit for bit
CLI_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
CLI_ARGS = ["--preset", "tiny", "--per-class", "5", "--steps", "6", "--batch-size", "4", "--no-progress"]


def cli(*args, check=True, **kwargs):
    return subprocess.run([sys.executable, "-m", "codec", *args], env=CLI_ENV, cwd=ROOT,
                          capture_output=True, text=True, check=check, **kwargs)


def all_arrays(store: ContributionStore) -> dict:
    arrays = {f: store.field(f) for f in store_module.PER_ITEM_FIELDS}
    for layer in store.layers:
        arrays[f"c:{layer}"] = store.contributions(layer)
        arrays[f"a:{layer}"] = store.activations(layer)
    return arrays


def assert_same_store(a: ContributionStore, b: ContributionStore):
    first, second = all_arrays(a), all_arrays(b)
    assert first.keys() == second.keys()
    for key in first:
        assert first[key].dtype == second[key].dtype and np.array_equal(first[key], second[key]), key


@pytest.fixture(scope="module")
def clean_store(tmp_path_factory):
    """An uninterrupted single-process run of the command line (80 images, 20 chunks)."""
    path = tmp_path_factory.mktemp("clean") / "store"
    cli("contributions", *CLI_ARGS, "--out", str(path))
    return ContributionStore.open(path)


@pytest.fixture(scope="module")
def tiny():
    return load_model("shapes_resnet")


def test_store_holds_what_the_engine_computes(tiny, tmp_path):
    dataset = shapes("test", 24)
    stored = compute_contributions(tiny, dataset, tmp_path / "s", steps=3, batch_size=8, progress=False)
    assert stored.complete and stored.n_chunks == 3
    images = tiny.transform(dataset.tensors(range(8, 16))["images"])
    direct = codec.contributions(tiny.model, images, tiny.layers, steps=3, reduce="ei")
    for layer in tiny.layers:
        assert np.array_equal(stored.contributions(layer)[8:16], direct[layer].numpy())
        assert np.array_equal(stored.activations(layer)[8:16], direct.activations[layer].sum(1).numpy())
        # after a ReLU the negative part is zero and the positive part is the signed sum, bit for bit
        assert np.array_equal(stored.activations(layer, "positive")[8:16], direct.activations[layer].sum(1).numpy())
        assert not stored.activations(layer, "negative").any()
    assert np.array_equal(stored.field("index"), np.arange(24))
    assert np.array_equal(stored.field("label"), np.arange(24) % 16)
    assert np.array_equal(stored.field("target_at_input")[8:16], direct.target_at_input.numpy())
    assert stored.channels == {"layer1.0": 16, "layer1.1": 16, "layer2.0": 32, "layer2.1": 32, "layer3.0": 64, "layer3.1": 64}


def test_same_settings_read_the_store_instead_of_recomputing(tiny, tmp_path, monkeypatch):
    dataset = shapes("test", 16)
    first = compute_contributions(tiny, dataset, tmp_path / "s", steps=2, batch_size=8, progress=False)

    def fail(*args, **kwargs):
        raise AssertionError("recomputed")

    monkeypatch.setattr(codec.attribution, "contributions", fail)
    second = compute_contributions(tiny, dataset, tmp_path / "s", steps=2, batch_size=8, progress=False)
    assert_same_store(first, second)


def test_a_store_of_actgrad_before_the_paper_form_is_refused_not_reused(tiny, tmp_path):
    """Until issue 14, method="actgrad" meant (h - h') * dy/dh (now "actgrad_delta"): its stores lack
    the form in their settings, so a store of the paper form is never read from one of them."""
    from codec.store import settings_hash

    dataset = shapes("test", 8)
    store = compute_contributions(tiny, dataset, tmp_path / "a", method="actgrad", batch_size=8, progress=False)
    settings = json.loads((store.path / "settings.json").read_text())
    assert settings["settings"]["actgrad_form"] == "paper"
    assert np.isnan(store.field("target_at_baseline")).all()
    old = dict(settings["settings"])
    del old["actgrad_form"]
    settings["settings"], settings["settings_hash"] = old, settings_hash(old)
    (store.path / "settings.json").write_text(json.dumps(settings))
    with pytest.raises(StoreError, match="(?s)actgrad_form: store has None, asked for 'paper'.*now method 'actgrad_delta'"):
        compute_contributions(tiny, dataset, tmp_path / "a", method="actgrad", batch_size=8, progress=False)
    delta = compute_contributions(tiny, dataset, tmp_path / "d", method="actgrad_delta", batch_size=8, progress=False)
    assert "actgrad_form" not in json.loads((delta.path / "settings.json").read_text())["settings"]
    maximum = compute_contributions(tiny, dataset, tmp_path / "m", target="max", steps=2, batch_size=8, progress=False)
    assert maximum.complete


def test_other_settings_are_refused_with_the_differing_fields(tiny, tmp_path):
    dataset = shapes("test", 16)
    compute_contributions(tiny, dataset, tmp_path / "s", steps=2, batch_size=8, progress=False)
    with pytest.raises(StoreError, match=r"other settings:\n  steps: store has 2, asked for 3"):
        compute_contributions(tiny, dataset, tmp_path / "s", steps=3, batch_size=8, progress=False)
    with pytest.raises(StoreError, match=r"(?s)method: store has 'ig', asked for 'actgrad'.*rule: store has 'trapezoid', asked for None"):
        compute_contributions(tiny, dataset, tmp_path / "s", method="actgrad", steps=2, batch_size=8, progress=False)
    with pytest.raises(StoreError, match=r"dataset: store has .*'size': 16.*asked for .*'size': 32"):
        compute_contributions(tiny, shapes("test", 32), tmp_path / "s", steps=2, batch_size=8, progress=False)


def test_killed_at_random_moments_then_resumed_equals_a_clean_run(clean_store, tmp_path):
    out = tmp_path / "killed"
    rng = random.Random(7)
    kills, done_after_kill = 0, []
    for _ in range(5):
        process = subprocess.Popen([sys.executable, "-m", "codec", "contributions", *CLI_ARGS, "--out", str(out)],
                                   env=CLI_ENV, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while not (out / "settings.json").exists() and process.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.6))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
        partial = ContributionStore.open(out)
        done_after_kill.append(partial.n_chunks - len(partial.missing_chunks()))
    assert kills >= 3, "the run finished before most kill points; make it longer"
    # some kill interrupted the run half-way, and no kill undid finished chunks
    assert any(0 < done < 20 for done in done_after_kill), done_after_kill
    assert done_after_kill == sorted(done_after_kill), done_after_kill
    cli("contributions", *CLI_ARGS, "--out", str(out))
    resumed = ContributionStore.open(out)
    assert resumed.complete and not resumed.damaged_chunks()
    assert np.array_equal(resumed.field("index"), np.arange(80))  # no row lost or duplicated
    assert_same_store(resumed, clean_store)


def test_a_crash_between_data_and_checksum_leaves_the_chunk_undone(tiny, tmp_path, monkeypatch):
    dataset = shapes("test", 16)
    real = store_module.chunks._atomic_write_bytes
    calls = {"n": 0}

    def crash_on_second_checksum(path, data):
        real(path, data)
        if path.suffix == ".npz":
            calls["n"] += 1
            if calls["n"] == 2:
                raise KeyboardInterrupt("simulated kill after the data, before the checksum")

    monkeypatch.setattr(store_module.chunks, "_atomic_write_bytes", crash_on_second_checksum)
    with pytest.raises(KeyboardInterrupt):
        compute_contributions(tiny, dataset, tmp_path / "s", steps=2, batch_size=8, progress=False)
    monkeypatch.setattr(store_module.chunks, "_atomic_write_bytes", real)
    partial = ContributionStore.open(tmp_path / "s")
    assert partial.missing_chunks() == [1]
    assert (tmp_path / "s" / "chunks" / "000001.npz").exists()
    finished = compute_contributions(tiny, dataset, tmp_path / "s", steps=2, batch_size=8, progress=False)
    reference = compute_contributions(tiny, dataset, tmp_path / "clean", steps=2, batch_size=8, progress=False)
    assert_same_store(finished, reference)


def test_damaged_chunk_is_detected_and_repaired(tiny, tmp_path):
    dataset = shapes("test", 32)
    reference = compute_contributions(tiny, dataset, tmp_path / "ref", steps=2, batch_size=8, progress=False)
    damaged = compute_contributions(tiny, dataset, tmp_path / "s", steps=2, batch_size=8, progress=False)
    chunk = tmp_path / "s" / "chunks" / "000002.npz"
    content = bytearray(chunk.read_bytes())
    content[len(content) // 2] ^= 0xFF
    chunk.write_bytes(bytes(content))
    assert damaged.damaged_chunks() == [2]
    with pytest.raises(StoreError, match=r"chunk 2 .*is damaged \(checksum mismatch\).*--repair"):
        damaged.contributions("layer1.0")
    untouched = {k: (tmp_path / "s" / "chunks" / f"{k:06d}.npz").stat().st_mtime_ns for k in (0, 1, 3)}
    repaired = compute_contributions(tiny, dataset, tmp_path / "s", steps=2, batch_size=8, progress=False, repair=True)
    assert {k: (tmp_path / "s" / "chunks" / f"{k:06d}.npz").stat().st_mtime_ns for k in (0, 1, 3)} == untouched
    assert not repaired.damaged_chunks()
    assert_same_store(repaired, reference)


def test_missing_chunk_is_reported_and_recomputed(tiny, tmp_path):
    dataset = shapes("test", 24)
    stored = compute_contributions(tiny, dataset, tmp_path / "s", steps=2, batch_size=8, progress=False)
    before = stored.contributions("layer3.1")
    (tmp_path / "s" / "chunks" / "000001.npz").unlink()
    assert stored.missing_chunks() == [1] and not stored.complete
    with pytest.raises(StoreError, match=r"1 of 3 chunks .* are missing \(first: \[1\]\)"):
        stored.activations("layer1.0")
    again = compute_contributions(tiny, dataset, tmp_path / "s", steps=2, batch_size=8, progress=False)
    assert np.array_equal(again.contributions("layer3.1"), before)


def test_torchrun_with_two_processes_equals_one_process(clean_store, tmp_path):
    out = tmp_path / "ranks"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
               "--master-port", str(29500 + os.getpid() % 1000), "-m", "codec", "contributions", *CLI_ARGS, "--out", str(out)]
    subprocess.run(command, env=CLI_ENV, cwd=ROOT, capture_output=True, text=True, check=True, timeout=300)
    assert_same_store(ContributionStore.open(out), clean_store)


def test_cli_has_a_flag_for_every_engine_option():
    import inspect

    from codec.cli import build_parser

    help_text = build_parser()._subparsers._group_actions[0].choices["contributions"].format_help()
    engine = set(inspect.signature(codec.contributions).parameters) - {"model", "inputs", "layers", "reduce", "baseline", "progress"}
    flags = {"method": "--method", "steps": "--steps", "rule": "--rule", "target": "--target",
             "softmax": "--softmax", "chunk_size": "--chunk-size", "noise_level": "--noise-level", "seed": "--noise-seed",
             "layout": "--layout"}
    assert engine == set(flags)
    for flag in flags.values():
        assert flag in help_text


def test_smoothgrad_settings_are_recorded(tiny, tmp_path):
    compute_contributions(tiny, shapes("test", 4), tmp_path / "s", method="smoothgrad", steps=2, batch_size=4, progress=False)
    with pytest.raises(StoreError, match=r"smoothgrad: store has \{'noise_level': 0.15, 'seed': 0\}, asked for \{'noise_level': 0.15, 'seed': 1\}"):
        compute_contributions(tiny, shapes("test", 4), tmp_path / "s", method="smoothgrad", steps=2, batch_size=4, seed=1, progress=False)


def test_info_command(clean_store):
    result = cli("info", str(clean_store.path), "--verify")
    assert "complete: 20 of 20 chunks (done)" in result.stdout
    assert "steps: 6" in result.stdout and "damaged: none" in result.stdout
    missing = cli("info", str(clean_store.path / "nothing"), check=False)
    assert missing.returncode == 2 and "no contribution store" in missing.stderr


# --------------------------------------------------------------------------- bad input


def test_out_path_that_is_a_file(tiny, tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(StoreError, match="out: .* is a file; give a directory"):
        compute_contributions(tiny, shapes("test", 4), target, steps=1, batch_size=4, progress=False)


def test_unwritable_directory(tiny):
    with pytest.raises(StoreError, match="out: cannot create the store directory '/proc/codec-store'"):
        compute_contributions(tiny, shapes("test", 4), "/proc/codec-store", steps=1, batch_size=4, progress=False)


def test_dataset_of_zero_images(tiny, tmp_path):
    with pytest.raises(StoreError, match="dataset: the dataset has no items"):
        compute_contributions(tiny, [], tmp_path / "s", steps=1, progress=False)


def test_store_from_a_newer_format(tiny, tmp_path):
    compute_contributions(tiny, shapes("test", 4), tmp_path / "s", steps=1, batch_size=4, progress=False)
    settings = tmp_path / "s" / "settings.json"
    record = json.loads(settings.read_text())
    record["format_version"] = store_module.FORMAT_VERSION + 1
    settings.write_text(json.dumps(record))
    with pytest.raises(StoreError, match=f"has format version {store_module.FORMAT_VERSION + 1}, newer than this codec understands"):
        ContributionStore.open(tmp_path / "s")
    record["format_version"] = "2"
    settings.write_text(json.dumps(record))
    with pytest.raises(StoreError, match="has format version '2', not a store's"):
        ContributionStore.open(tmp_path / "s")


# --------------------------------------------------------------------------- activation parts (format 2)


@pytest.fixture(scope="module")
def vit_store(tmp_path_factory):
    """A store of the tiny ViT, whose residual-stream and attention activations take both signs."""
    entry = load_model("shapes_vit")
    path = tmp_path_factory.mktemp("vit") / "store"
    return entry, compute_contributions(entry, shapes("test", 12), path, steps=2, batch_size=6, progress=False)


def test_the_store_keeps_both_parts_of_signed_activations(vit_store):
    entry, stored = vit_store
    images = entry.transform(shapes("test", 12).tensors(range(6, 12))["images"])
    direct = codec.contributions(entry.model, images, entry.layers, steps=2, reduce="ei")
    signs = 0
    for layer in entry.layers:
        h = direct.activations[layer].double()  # (6, tokens, C)
        positive, negative = stored.activations(layer, "positive")[6:], stored.activations(layer, "negative")[6:]
        # a literal reading of the definitions, in float64: Σ max(h, 0) and Σ min(h, 0) over the tokens
        np.testing.assert_allclose(positive, np.maximum(h.numpy(), 0).sum(1), rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(negative, np.minimum(h.numpy(), 0).sum(1), rtol=1e-5, atol=1e-4)
        assert (positive >= 0).all() and (negative <= 0).all()
        both = stored.activations(layer, "both")
        assert both.shape == (12, 2, stored.channels[layer])
        assert np.array_equal(stored.activations(layer), both.sum(1))  # signed = positive + negative
        np.testing.assert_allclose(stored.activations(layer)[6:], h.sum(1).numpy(), rtol=1e-5, atol=1e-4)
        signs += int((negative < 0).any() and (positive > 0).any())
    assert signs >= len(entry.layers) // 2, "the tiny ViT's layers should carry both signs: the test would not test the parts"
    with pytest.raises(ValueError, match="part: must be one of"):
        stored.activations(entry.layers[0], "relu")


def _as_format_1(store: ContributionStore) -> None:
    """Rewrite a store as format 1 wrote it: signed activation sums (n, C), the same checksums rule."""
    for k in range(store.n_chunks):
        arrays = store.read_chunk(k)
        for key in [key for key in arrays if key.startswith("activations_")]:
            arrays[key] = arrays[key].sum(axis=1)
        store.write_chunk(k, arrays)
    settings = store.path / store_module.SETTINGS_FILE
    record = json.loads(settings.read_text())
    record["format_version"] = 1
    settings.write_text(json.dumps(record))


def test_a_format_1_store_is_read_for_what_it_holds_and_not_continued(vit_store, tmp_path):
    entry, stored = vit_store
    old = tmp_path / "old"
    shutil.copytree(stored.path, old)
    _as_format_1(ContributionStore.open(old))
    reopened = ContributionStore.open(old)
    assert reopened.format_version == 1
    layer = entry.layers[0]
    assert np.array_equal(reopened.contributions(layer), stored.contributions(layer))
    assert np.array_equal(reopened.activations(layer), stored.activations(layer, "both").sum(1))
    for part in ("positive", "negative", "both"):
        with pytest.raises(StoreError, match=f"part: .* format version 1, which keeps only the signed sums .* not their {part} part; "
                                             "recompute it"):
            reopened.activations(layer, part)
    with pytest.raises(StoreError, match="out: the store at .* has format version 1, .* Use another --out directory, or delete"):
        compute_contributions(entry, shapes("test", 12), old, steps=2, batch_size=6, progress=False)
    assert "(format 1)" in reopened.describe()


def test_unrecordable_target_and_bad_cli_target(tiny, tmp_path):
    with pytest.raises(StoreError, match="target: a stored run needs a target that can be recorded"):
        compute_contributions(tiny, shapes("test", 4), tmp_path / "s", target=lambda out: out[:, 0], progress=False)
    result = cli("contributions", "--out", str(tmp_path / "t"), "--target", "top7", check=False)
    assert result.returncode == 2 and "unknown target 'top7'" in result.stderr


def test_sample_scale_store_on_real_images(data_dir, tmp_path):
    from codec.data import imagenette

    entry = load_model("efficientnet_lite0")
    dataset = imagenette(data_dir, per_class=1)
    stored = compute_contributions(entry, dataset, tmp_path / "lite0", steps=2, batch_size=5, progress=False)
    assert stored.n_items == 10 and stored.complete
    assert np.array_equal(np.sort(stored.field("label")), [0, 217, 482, 491, 497, 566, 569, 571, 574, 701])
    assert stored.contributions("blocks.6.0").shape == (10, 2, 320)  # the last MBConv block
    assert stored.contributions("blocks.5.3").shape == (10, 2, 192)
    assert stored.settings["dataset"]["name"] == "imagenette"
    # E/I parts: positive >= 0 >= negative; their sum is the signed channel contribution
    parts = stored.contributions("blocks.3.2")
    assert (parts[:, 0] >= 0).all() and (parts[:, 1] <= 0).all()


class _Signals:
    """A dataset of 1-D signals through the dataset protocol (items, identity), as a user would write one."""

    transform = None

    def __len__(self):
        return 6

    def __getitem__(self, index):
        from codec.data import Item

        return Item(torch.linspace(-1, 1, 8).repeat(2, 1) * (index + 1), index % 2)

    def identity(self):
        return {"name": "signals", "size": 6}


def test_a_conv1d_model_stores_its_channels_with_an_explicit_layout(tmp_path):
    from torch import nn

    from codec.models import ModelEntry

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(2, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(24, 2)).eval()
    entry = ModelEntry("conv1d", model, ["1"], lambda signal: signal, ["a", "b"], 8)
    stored = compute_contributions(entry, _Signals(), tmp_path / "s", steps=2, batch_size=3, progress=False,
                                   layout="channels_first")
    assert stored.channels == {"1": 3} and stored.contributions("1").shape == (6, 2, 3)
    assert stored.settings["layout"] == "channels_first" and stored.settings["dataset"] == {"name": "signals", "size": 6}
    direct = codec.contributions(model, torch.stack([_Signals()[i].image for i in range(6)]), ["1"], steps=2,
                                 reduce="ei", layout="channels_first")
    np.testing.assert_allclose(stored.contributions("1"), direct["1"].numpy(), rtol=1e-5, atol=1e-6)
    default = compute_contributions(entry, _Signals(), tmp_path / "t", steps=2, batch_size=3, progress=False)
    assert "layout" not in default.settings and default.channels == {"1": 8}  # auto: (B, C, L) read as tokens


def test_command_line_targets_include_the_released_max():
    import argparse

    from codec.cli import parse_target

    assert parse_target("max") == "max" and parse_target("topk:5") == ("topk", 5) and parse_target("class:3") == ("class", 3)
    with pytest.raises(argparse.ArgumentTypeError, match="use top1, max, entropy, contrastive, topk:K or class:I"):
        parse_target("top-1")
