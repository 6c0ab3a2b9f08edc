"""Filling a store: :func:`compute_contributions` (also under ``torchrun``), the folder names the
notebooks give stores (:func:`run_name`) and a model's identity (:func:`weights_identity`).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..checks import ArgumentTypeError, check_device, check_int, check_optional_int, check_path
from .chunks import ContributionStore, StoreError

# ---------------------------------------------------------------------- identities


def weights_identity(model: torch.nn.Module) -> str:
    """SHA-256 (first 16 hex digits) of a model's parameters and buffers."""
    if not isinstance(model, torch.nn.Module):
        raise ArgumentTypeError(f"model: must be a torch.nn.Module, got {type(model).__name__}")
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


# ---------------------------------------------------------------------- filling a store


def _target_setting(target):
    """A JSON-able description of a target specification; callables cannot be identified."""
    if isinstance(target, str):
        return target
    if callable(getattr(target, "setting", None)):  # a target object that can name itself (surprisal)
        return target.setting()
    if isinstance(target, tuple) and len(target) == 2 and isinstance(target[0], str):
        value = target[1]
        if isinstance(value, torch.Tensor):
            value = value.tolist()
        return [target[0], value]
    raise StoreError(
        "target: a stored run needs a target that can be recorded: 'top1', ('topk', k), "
        "('class', idx), 'entropy', 'contrastive', 'max' or codec.targets.surprisal(...) (a callable or other object cannot be identified "
        "on disk; call codec.contributions directly for those)"
    )


def _distributed_rank() -> tuple[int, int]:
    """(rank, world size) from torchrun's environment, (0, 1) otherwise."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def _channel_counts(entry, layers, example: torch.Tensor, layout: str = "auto") -> dict:
    from ..hooks import LayerCapture, eval_mode, resolve_layers
    from ..reduce import channel_axis

    specs = resolve_layers(entry.model, layers)
    with eval_mode(entry.model), LayerCapture(specs) as capture, torch.no_grad():
        _, captured = capture.forward(entry.model, example)
    counts = {}
    for name, tensor in captured.items():
        counts[name] = tensor.shape[channel_axis(tensor.ndim, layout)]
    return counts


def run_name(scale: str, model: str, method: str = "ig", target="top1", softmax: bool = False,
             dataset: str | None = None, n_images: int | None = None) -> str:
    """The folder name the section notebooks give a store.

    ``<scale>-<model>[-<dataset>-<n_images>]-<method>-<target>[-softmax]``: the dataset and its
    size are part of the name when given, so that re-running a section with another
    ``per_class`` makes a new store instead of meeting the old one.
    """
    for name, value in (("scale", scale), ("model", model), ("method", method)):
        if not isinstance(value, str) or not value or "/" in value:
            raise ArgumentTypeError(f"{name}: must be a non-empty name without '/', got {value!r}")
    check_optional_int("n_images", n_images, 1)
    if not isinstance(target, (str, tuple, list)):
        raise ArgumentTypeError(f"target: must be a target's name or (name, value), got {target!r}")
    target_name = target if isinstance(target, str) else "-".join(map(str, target))
    data = f"-{dataset}-{n_images}" if dataset is not None else ""
    return f"{scale}-{model}{data}-{method}-{target_name}{'-softmax' if softmax else ''}"


def compute_contributions(
    entry,
    dataset,
    out,
    *,
    layers: Sequence[str] | None = None,
    method: str = "ig",
    steps: int = 10,
    rule: str = "trapezoid",
    target="top1",
    softmax: bool = False,
    batch_size: int = 32,
    chunk_size: int | None = None,
    noise_level: float = 0.15,
    seed: int = 0,
    device=None,
    repair: bool = False,
    progress: bool = True,
    rank: int | None = None,
    world_size: int | None = None,
    layout: str = "auto",
) -> ContributionStore:
    """Fill a store with the E/I-split contributions of a dataset (or read it back).

    Each batch of ``batch_size`` items is one chunk, computed by :func:`codec.contributions`
    with ``reduce="ei"`` and the zero baseline, and written as soon as it is done. A second call with the same
    settings reads the store (computing only chunks that are missing); other settings for
    the same ``out`` are refused.

    Parameters
    ----------
    entry : codec.models.ModelEntry
        The model, its analysis layers and its input transform (``codec.models.load_model``).
    dataset : codec.data dataset
        ``shapes(...)`` or an ImageNet-style folder dataset; its items are model inputs after
        the entry's transform.
    out : path
        The store directory.
    layers : sequence of str, optional
        Layers to store (default: the entry's analysis layers).
    method, steps, rule, target, softmax, chunk_size, noise_level, seed
        As in :func:`codec.contributions` (targets: names or tuples only). All are recorded
        in the store's settings (``chunk_size`` too: it can change the last bits).
    batch_size : int
        Items per batch and per chunk.
    device : str or torch.device, optional
        Default: the model's device; under torchrun with CUDA, ``cuda:LOCAL_RANK``.
    repair : bool
        Check every chunk's checksum first and recompute the damaged ones.
    progress : bool
        tqdm progress bar (images/s, ETA).
    rank, world_size : int, optional
        This process's share of the chunks (default: torchrun's RANK and WORLD_SIZE).
    layout : {"auto", "channels_first", "channels_last"}
        Where the layers' channel axis is (:mod:`codec.reduce`); recorded in the settings when
        not ``"auto"``.

    Returns
    -------
    ContributionStore
        Complete when this process is the only one or all ranks have finished.
    """
    from .. import __version__
    from ..attribution import check_settings, contributions
    from ..data import dataset_identity, model_inputs
    from ..models import ModelEntry
    from ..reduce import check_layout

    # every argument is checked before the store's folder is made or touched, so that a corrected
    # call with the same ``out`` is not refused as "made with other settings"
    if not isinstance(entry, ModelEntry):
        raise ArgumentTypeError(f"entry: must be a codec.models.ModelEntry (codec.models.load_model(...)), got {type(entry).__name__}")
    if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
        raise ArgumentTypeError(f"dataset: must be a codec.data dataset (len() and items), got {type(dataset).__name__}")
    if len(dataset) == 0:
        raise StoreError("dataset: the dataset has no items; nothing to compute")
    check_path("out", out)
    check_int("batch_size", batch_size, 1)
    check_settings(method, rule, steps, chunk_size, "ei", seed, noise_level, target, softmax)
    check_layout(layout)
    default_rank, default_world = _distributed_rank()
    world_size = check_int("world_size", default_world if world_size is None else world_size, 1)
    rank = check_int("rank", default_rank if rank is None else rank, 0, world_size - 1)
    if device is not None:
        device = check_device("device", device)
    if device is None:
        parameter = next(entry.model.parameters(), None)
        device = parameter.device if parameter is not None else torch.device("cpu")
        if world_size > 1 and device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
    entry.model.to(device)
    layers = list(layers or entry.layers)
    settings = {
        "model": entry.name,
        "weights": weights_identity(entry.model),
        "dataset": dataset_identity(dataset),
        "method": method,
        "rule": rule if method in ("ig", "ig_hidden") else None,
        "steps": steps,
        "target": _target_setting(target),
        "softmax": softmax,
        "reduce": "ei",
        "baseline": "zeros",  # the store's runs use codec.contributions' default baseline
        "chunk_size": chunk_size,
        "smoothgrad": {"noise_level": noise_level, "seed": seed} if method == "smoothgrad" else None,
        "codec_version": __version__,
    }
    if method in ("actgrad", "actgrad_norm"):  # h * dy/dh since codec 0.2; before, (h - h') * dy/dh (now *_delta)
        settings["actgrad_form"] = "paper"
    if layout != "auto":  # recorded only when set, so that stores made before the option keep their key
        settings["layout"] = layout
    example, _ = model_inputs(dataset, range(1), entry.transform)
    channels = _channel_counts(entry, layers, example.to(device), layout)
    store = ContributionStore.create_or_open(out, settings, len(dataset), batch_size, layers, channels)
    if repair:
        for k in store.damaged_chunks():
            for path in store._chunk_paths(k):
                path.unlink()
    todo = [k for k in store.missing_chunks() if k % world_size == rank]
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        total = sum(len(store.chunk_range(k)) for k in todo)
        bar = tqdm(total=total, unit="img", desc=f"codec {method} -> {Path(out).name}" + (f" [rank {rank}/{world_size}]" if world_size > 1 else ""))
    try:
        for k in todo:
            items = store.chunk_range(k)
            images, labels = model_inputs(dataset, items, entry.transform)
            result = contributions(
                entry.model, images.to(device), layers, method=method, steps=steps, rule=rule,
                target=target, softmax=softmax, reduce="ei", chunk_size=chunk_size,
                noise_level=noise_level, seed=seed, layout=layout,
            )
            arrays = {
                "index": np.asarray(items, dtype=np.int64),
                "label": labels.numpy().astype(np.int64),
                "prediction": (result.predictions if result.predictions is not None else torch.full((len(items),), -1))
                .cpu().numpy().astype(np.int64),
                "target_at_input": result.target_at_input.detach().cpu().float().numpy(),
                "target_at_baseline": result.target_at_baseline.detach().cpu().float().numpy(),
            }
            for i, layer in enumerate(layers):
                arrays[f"contributions_{i}"] = result[layer].detach().cpu().float().numpy()
                activation = result.activations[layer].detach()  # (n, positions, C)
                arrays[f"activations_{i}"] = torch.stack([activation.clamp(min=0).sum(dim=1), activation.clamp(max=0).sum(dim=1)],
                                                         dim=1).cpu().float().numpy()
            # (target_at_baseline is NaN by design for the methods without a baseline)
            bad = [name for name, value in arrays.items()
                   if name != "target_at_baseline" and value.dtype.kind == "f" and not np.isfinite(value).all()]
            if bad:
                raise StoreError(f"entry: the model gives non-finite values (NaN or inf) on items {items.start}-{items.stop - 1} "
                                 f"({', '.join(bad[:4])}); nothing of them was stored. Check the model's weights and its "
                                 "transform of these images")
            store.write_chunk(k, arrays)
            if bar is not None:
                bar.update(len(items))
    finally:
        if bar is not None:
            bar.close()
    if world_size > 1 and torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
    return store
