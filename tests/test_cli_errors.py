"""The command line's errors: every flag checked before a store is touched, printed as
``error: --flag: ...`` with exit status 2 and no traceback."""

import json

import pytest
import torch

from codec.cli import FLAGS, flag_message, main

BASE = ["contributions", "--preset", "tiny", "--per-class", "1", "--steps", "1", "--no-progress"]


def run(capsys, *args):
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("flags, message", [
    (["--steps", "0"], "--steps: must be an integer >= 1, got 0"),
    (["--per-class", "0"], "--per-class: must be an integer >= 1, got 0"),
    (["--batch-size", "-2"], "--batch-size: must be an integer >= 1, got -2"),
    (["--chunk-size", "0"], "--chunk-size: must be an integer >= 1, got 0"),
    (["--seed", "-1"], "--seed: must be an integer >= 0, got -1"),
    (["--noise-seed", "-1"], "--noise-seed: must be an integer >= 0, got -1"),
    (["--noise-level", "-0.5"], "--noise-level: must be a number >= 0, got -0.5"),
    (["--noise-level", "nan"], "--noise-level: must be a finite number, got nan"),
    (["--device", "gpu"], "--device: unknown device 'gpu'; use 'cpu', 'cuda' or 'cuda:N'"),
    (["--model", "resnet18"], "--model: must be one of"),
    (["--data", "cifar"], "--data: must be one of"),
    (["--data-dir", "/no/such/folder"], "--data-dir: '/no/such/folder' does not exist"),
    (["--weights", "/no/such/file.pth"], "--weights: '/no/such/file.pth' does not exist"),
    (["--layers", "layer1.0,,layer2.0"], "--layers: give comma-separated layer names without empty ones"),
    (["--layers", "layer9.9"], "--layers: 'layer9.9' is not a module of this model. Did you mean one of"),
    (["--data", "imagenet"], "--data-dir: ImageNet has no default folder"),
])
def test_a_bad_flag_is_named_and_nothing_is_written(capsys, tmp_path, flags, message):
    out = tmp_path / "store"
    status, _, err = run(capsys, *BASE, *flags, "--out", str(out))
    assert status == 2
    assert err.startswith(f"error: {message}"), err
    assert "Traceback" not in err
    assert not out.exists(), "a store folder was created before the flags were checked"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU: --device cuda is valid here")
def test_a_cuda_device_on_a_machine_without_one_is_named(capsys, tmp_path):
    status, _, err = run(capsys, *BASE, "--device", "cuda", "--out", str(tmp_path / "s"))
    assert status == 2 and err.startswith("error: --device: 'cuda' asks for a CUDA GPU and none is available here")


def test_a_weights_file_that_is_not_a_checkpoint_is_named(capsys, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a checkpoint")
    status, _, err = run(capsys, *BASE, "--weights", str(notes), "--out", str(tmp_path / "s"))
    assert status == 2 and err.startswith(f"error: --weights: {str(notes)!r} is not a PyTorch checkpoint"), err
    assert "Traceback" not in err


def test_an_out_that_is_a_file_is_named(capsys, tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    status, _, err = run(capsys, *BASE, "--out", str(target))
    assert status == 2 and err.startswith("error: --out:") and "is a file" in err


def test_a_corrected_rerun_into_the_same_out_after_a_bad_flag_works(capsys, tmp_path):
    out = tmp_path / "store"
    assert run(capsys, *BASE, "--batch-size", "0", "--out", str(out))[0] == 2
    status, printed, err = run(capsys, *BASE, "--batch-size", "16", "--out", str(out))
    assert status == 0, err
    assert "complete: 1 of 1 chunks (done)" in printed


def test_info_on_a_folder_that_is_not_a_store_says_so(capsys, tmp_path):
    (tmp_path / "settings.json").write_text(json.dumps({"name": "some other tool"}))
    status, _, err = run(capsys, "info", str(tmp_path))
    assert status == 2 and err.startswith("error: STORE:") and "not a contribution store's" in err
    assert "newer than this codec" not in err
    (tmp_path / "settings.json").write_text("[1, 2]")
    status, _, err = run(capsys, "info", str(tmp_path))
    assert status == 2 and "not a contribution store's" in err


def test_flag_messages_replace_the_parameter_only_at_the_start():
    assert flag_message(ValueError("root: give a folder")) == "--data-dir: give a folder"
    assert flag_message(ValueError("steps: must be >= 1 (steps: 0)")) == "--steps: must be >= 1 (steps: 0)"
    assert flag_message(ValueError("something else: root")) == "something else: root"
    assert set(FLAGS.values()) - {"STORE"} <= {f"--{name}" for name in (
        "out", "weights", "data-dir", "per-class", "steps", "batch-size", "chunk-size", "layers", "device", "noise-level", "method",
        "rule", "target", "softmax", "layout", "model", "data", "split")}
