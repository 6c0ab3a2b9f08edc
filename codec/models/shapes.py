"""Small networks trained on the planted shapes (the ``tiny`` preset's models).

``shapes_resnet``: a small ResNet (stem, 3 stages x 2 basic blocks of widths 16/32/64).
``shapes_vit``: timm's ``VisionTransformer`` at patch 8 (an 8x8 grid of tokens), 6 blocks,
width 96, 4 heads, global average pooling over tokens, so that its layer names are those of
``vit_b_16`` (``blocks.i``, ``blocks.i.mlp.act``, ``blocks.i.attn.proj:input``). Its patch
embedding is a small convolutional stem (a 3x3 conv at full resolution and three stride-2 3x3
convs; Xiao et al. 2021, "Early convolutions help transformers see better") instead of one
8x8 linear projection: with the plain projection the ViT stayed below 20% test accuracy after
6 epochs (the 5-minute CPU budget allows about 8-12), and with stride-2 convs only it reached
80% but confused stripes with fine checkers. It is also distilled from ``shapes_resnet``
(soft targets, as in DeiT), which added about 7 points at equal training time.

Both models take images normalised as ``(x - 0.5) / 0.25`` (their input transform), so the
zero baseline of the attributions is a mid-grey image.

Weights are looked up by a hash of the model's configuration (architecture, training
recipe, dataset version): first in ``$CODEC_CACHE_DIR`` (default ``~/.cache/codec``), then in
the weights shipped with the package (``codec/weights``), and only then trained (with a
progress bar) and cached. ``scripts/train_shapes_models.py`` regenerates the shipped files.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from ..checks import ArgumentTypeError, check_bool, check_int, check_module, check_number
from ..data import SHAPES_CLASS_NAMES, SHAPES_DATA_VERSION, ShapesDataset
from .base import ModelEntry, load_checkpoint, load_state, register_model, vit_layer_groups, vit_layers

#: bump when train_shapes_model or the input normalisation changes (part of the cache key)
TRAINING_VERSION = 2
#: input normalisation of both shapes models: (x - MEAN) / STD
INPUT_MEAN, INPUT_STD = 0.5, 0.25


def normalize(images) -> torch.Tensor:
    """The shapes models' input transform: ``(x - 0.5) / 0.25`` for images in [0, 1]:
    one image (3, H, W) or a batch (N, 3, H, W) as a float tensor, or one PIL image."""
    if not isinstance(images, torch.Tensor):
        from PIL import Image
        from torchvision.transforms.functional import to_tensor

        if not isinstance(images, Image.Image):
            raise ArgumentTypeError(f"images: must be a PIL image or a tensor (3, H, W) or (N, 3, H, W), got {type(images).__name__}")
        images = to_tensor(images)
    if images.ndim not in (3, 4) or images.shape[-3] != 3:
        raise ValueError(f"images: must be (3, H, W) or (N, 3, H, W), got shape {tuple(images.shape)}")
    return (images - INPUT_MEAN) / INPUT_STD


class BasicBlock(nn.Module):
    """3x3 conv-bn-relu, 3x3 conv-bn, plus a (projected) shortcut, then relu.

    Every ReLU is its own module so that each can be hooked (none runs twice)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        check_int("in_channels", in_channels, 1)
        check_int("out_channels", out_channels, 1)
        check_int("stride", stride, 1)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels)
            )
        self.relu2 = nn.ReLU()

    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(out + self.shortcut(x))


class ShapesResNet(nn.Module):
    """Stem (3x3 conv, stride 2) and three stages of two basic blocks; input (B, 3, 64, 64)."""

    def __init__(self, widths=(16, 32, 64), blocks_per_stage: int = 2, num_classes: int = 16):
        super().__init__()
        if isinstance(widths, (int, str)) or not widths:
            raise ArgumentTypeError(f"widths: give the stages' widths, e.g. (16, 32, 64), got {widths!r}")
        for width in widths:
            check_int("widths", width, 1)
        check_int("blocks_per_stage", blocks_per_stage, 1)
        check_int("num_classes", num_classes, 2)
        self.stem = nn.Sequential(
            nn.Conv2d(3, widths[0], 3, 2, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU()
        )
        channels = widths[0]
        for s, width in enumerate(widths, start=1):
            stage = [BasicBlock(channels if b == 0 else width, width, 2 if (b == 0 and s > 1) else 1) for b in range(blocks_per_stage)]
            self.add_module(f"layer{s}", nn.Sequential(*stage))
            channels = width
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        x = self.stem(x)
        for s in range(1, 4):
            x = getattr(self, f"layer{s}")(x)
        return self.fc(self.flatten(self.pool(x)))


def _conv_stem(dim: int, patch_size: int) -> nn.Sequential:
    """A stride-1 3x3 conv at full resolution, then stride-2 3x3 convs down to one token per
    ``patch_size`` x ``patch_size`` patch. (Without the full-resolution conv, the finest
    textures, checkers of period 3.5-5 px, alias in the first stride and the ViT confuses
    them with stripes.)"""
    n_down = patch_size.bit_length() - 1
    if 2**n_down != patch_size:
        raise ValueError(f"patch_size must be a power of two, got {patch_size}")
    widths = [3, dim // 2 ** (n_down - 1)] + [dim // 2 ** (n_down - i) for i in range(1, n_down)] + [dim]
    strides = [1] + [2] * n_down
    layers: list[nn.Module] = []
    for i, stride in enumerate(strides):
        last = i == len(strides) - 1
        layers.append(nn.Conv2d(widths[i], widths[i + 1], 3, stride, 1, bias=last))
        if not last:
            layers += [nn.BatchNorm2d(widths[i + 1]), nn.ReLU()]
    return nn.Sequential(*layers)


def _shapes_vit_module(config: dict) -> nn.Module:
    import timm.models.vision_transformer as vt

    model = vt.VisionTransformer(
        img_size=64, patch_size=config["patch_size"], in_chans=3, num_classes=16,
        embed_dim=config["dim"], depth=config["depth"], num_heads=config["heads"],
        mlp_ratio=config["mlp_ratio"], class_token=False, global_pool="avg",
    )
    model.patch_embed.proj = _conv_stem(config["dim"], config["patch_size"])
    for block in model.blocks:  # plain attention: differentiable in forward mode too
        block.attn.fused_attn = False
    return model


@dataclass(frozen=True)
class TrainingRecipe:
    """How a shapes model is trained (part of its cache key)."""

    train_size: int
    test_size: int
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    seed: int = 0
    #: knowledge distillation (Hinton et al. 2015; DeiT): a trained teacher's soft targets
    distill_from: str | None = None
    distill_weight: float = 0.5
    temperature: float = 2.0

    def __post_init__(self):
        for name in ("train_size", "test_size", "epochs", "batch_size"):
            check_int(name, getattr(self, name), 1)
        check_number("lr", self.lr, above=0)
        check_number("weight_decay", self.weight_decay, minimum=0)
        check_int("seed", self.seed, 0)
        check_number("distill_weight", self.distill_weight, minimum=0, maximum=1)
        if self.distill_from is not None and not isinstance(self.distill_from, str):
            raise ArgumentTypeError(f"distill_from: must be a shapes model's name or None, got {self.distill_from!r}")


CONFIGS = {
    "shapes_resnet": {
        "architecture": {"kind": "resnet", "widths": [16, 32, 64], "blocks_per_stage": 2},
        "recipe": TrainingRecipe(train_size=6400, test_size=1600, epochs=8, batch_size=64, lr=3e-3, weight_decay=1e-4),
    },
    "shapes_vit": {
        "architecture": {"kind": "vit", "patch_size": 8, "dim": 96, "depth": 6, "heads": 4, "mlp_ratio": 4.0, "stem": "conv-s1"},
        "recipe": TrainingRecipe(train_size=8000, test_size=1600, epochs=6, batch_size=64, lr=2e-3, weight_decay=0.05, distill_from="shapes_resnet"),
    },
}


def _check_name(name) -> None:
    if name not in CONFIGS:
        raise ValueError(f"name: unknown shapes model {name!r}; known: {sorted(CONFIGS)}")


def build_shapes_model(name: str, architecture: dict | None = None) -> nn.Module:
    """A randomly initialised shapes model (seeded by the caller)."""
    _check_name(name)
    architecture = architecture or CONFIGS[name]["architecture"]
    if architecture["kind"] == "resnet":
        return ShapesResNet(tuple(architecture["widths"]), architecture["blocks_per_stage"])
    return _shapes_vit_module(architecture)


def config_hash(name: str, architecture: dict, recipe: TrainingRecipe) -> str:
    _check_name(name)
    if not isinstance(architecture, dict) or not isinstance(recipe, TrainingRecipe):
        raise ArgumentTypeError("architecture, recipe: give a dict and a TrainingRecipe")
    content = {"name": name, "architecture": architecture, "recipe": asdict(recipe),
               "data_version": SHAPES_DATA_VERSION, "training_version": TRAINING_VERSION}
    if recipe.distill_from:  # the teacher's own configuration is part of the student's
        teacher = CONFIGS[recipe.distill_from]
        content["teacher"] = config_hash(recipe.distill_from, teacher["architecture"], teacher["recipe"])
    payload = json.dumps(content, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def analysis_layers(name: str, architecture: dict | None = None) -> tuple[list[str], dict]:
    _check_name(name)
    architecture = architecture or CONFIGS[name]["architecture"]
    if architecture["kind"] == "resnet":
        layers = [f"layer{s}.{b}" for s in range(1, 4) for b in range(architecture["blocks_per_stage"])]
        return layers, {"blocks": list(layers)}
    groups = vit_layer_groups(architecture["depth"])
    return vit_layers(groups), groups


def cache_dir() -> Path:
    """``$CODEC_CACHE_DIR`` or ``~/.cache/codec``."""
    return Path(os.environ.get("CODEC_CACHE_DIR", Path.home() / ".cache" / "codec")).expanduser()


def _shipped_weights(filename: str) -> Path | None:
    candidate = resources.files("codec").joinpath("weights", filename)
    return Path(str(candidate)) if candidate.is_file() else None


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 256) -> float:
    """Accuracy of ``model`` on raw shapes ``images (N, 3, 64, 64)`` in [0, 1] (normalised
    here) with ``labels (N,)``."""
    check_module("model", model)
    check_int("batch_size", batch_size, 1)
    if not isinstance(images, torch.Tensor) or not isinstance(labels, torch.Tensor) or len(images) != len(labels):
        raise ValueError(f"labels: one label per image, a tensor each; got {type(images).__name__} and {type(labels).__name__}")
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            logits = model(normalize(images[start : start + batch_size]))
            correct += int((logits.argmax(1) == labels[start : start + batch_size]).sum())
    return correct / len(images)


def train_shapes_model(name: str, recipe: TrainingRecipe | None = None, architecture: dict | None = None, progress: bool = True):
    """Train a shapes model from scratch, deterministically.

    With ``recipe.distill_from``, the loss mixes the cross-entropy with the KL divergence to
    the teacher's softened outputs (computed once for the training images).

    The training images are generated once and kept as one tensor (shuffled by index each
    epoch, each batch rotated by a random multiple of 90 degrees and randomly flipped, which
    leaves every class unchanged); AdamW with a one-cycle schedule.

    Returns
    -------
    model : nn.Module
        In eval mode.
    history : dict
        ``loss`` per epoch, ``test_accuracy`` per epoch, ``seconds``.
    """
    _check_name(name)
    if recipe is not None and not isinstance(recipe, TrainingRecipe):
        raise ArgumentTypeError(f"recipe: must be a TrainingRecipe, got {type(recipe).__name__}")
    from tqdm.auto import tqdm

    recipe = recipe or CONFIGS[name]["recipe"]
    architecture = architecture or CONFIGS[name]["architecture"]
    generator = torch.Generator().manual_seed(recipe.seed)
    start = time.perf_counter()
    train = ShapesDataset("train", recipe.train_size, seed=recipe.seed).tensors()
    test = ShapesDataset("test", recipe.test_size, seed=recipe.seed).tensors()
    images, labels = normalize(train["images"]), train["labels"]
    teacher_logits = None
    if recipe.distill_from:
        teacher = load_shapes_model(recipe.distill_from, progress=progress).model
        with torch.no_grad():
            teacher_logits = torch.cat([teacher(images[i : i + 512]) for i in range(0, len(images), 512)])
    torch.manual_seed(recipe.seed)  # the student's initialisation, whatever happened before
    model = build_shapes_model(name, architecture)
    optimiser = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    steps_per_epoch = -(-recipe.train_size // recipe.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=recipe.lr, total_steps=recipe.epochs * steps_per_epoch)
    loss_fn = nn.CrossEntropyLoss()
    history = {"loss": [], "test_accuracy": []}
    bar = tqdm(total=recipe.epochs * steps_per_epoch, desc=f"training {name}", disable=not progress)
    for _epoch in range(recipe.epochs):
        model.train()
        order = torch.randperm(recipe.train_size, generator=generator)
        total = 0.0
        for first in range(0, recipe.train_size, recipe.batch_size):
            index = order[first : first + recipe.batch_size]
            batch = images[index]
            # the classes are invariant under the dihedral group: a random rotation by a
            # multiple of 90 degrees and a random flip, one per batch
            turns, flip = torch.randint(0, 4, (1,), generator=generator), torch.rand(1, generator=generator)
            batch = torch.rot90(batch, int(turns), dims=(2, 3))
            if flip < 0.5:
                batch = batch.flip(3)
            logits = model(batch)
            loss = loss_fn(logits, labels[index])
            if teacher_logits is not None:  # classes are invariant, so are the soft targets
                t = recipe.temperature
                soft = nn.functional.kl_div(
                    torch.log_softmax(logits / t, dim=1), torch.log_softmax(teacher_logits[index] / t, dim=1),
                    reduction="batchmean", log_target=True,
                ) * t * t
                loss = (1 - recipe.distill_weight) * loss + recipe.distill_weight * soft
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.detach()) * len(index)
            bar.update(1)
        history["loss"].append(total / recipe.train_size)
        history["test_accuracy"].append(accuracy(model, test["images"], test["labels"]))
        bar.set_postfix(loss=f"{history['loss'][-1]:.3f}", test_acc=f"{history['test_accuracy'][-1]:.3f}")
    bar.close()
    history["seconds"] = time.perf_counter() - start
    return model.eval(), history


def load_shapes_model(name: str, pretrained: bool = True, weights=None, progress: bool = True):
    """The :class:`~codec.models.base.ModelEntry` of a shapes model.

    Parameters
    ----------
    name : {"shapes_resnet", "shapes_vit"}
    pretrained : bool
        Trained weights (cache, shipped file, or training now) or a random initialisation.
    weights : path, optional
        A state-dict file to load instead.
    progress : bool
        Progress bar if training is needed.
    """
    _check_name(name)
    check_bool("pretrained", pretrained)
    if name not in CONFIGS:
        raise ValueError(f"model: unknown shapes model {name!r}; known: {sorted(CONFIGS)}")
    architecture, recipe = CONFIGS[name]["architecture"], CONFIGS[name]["recipe"]
    torch.manual_seed(recipe.seed)
    model = build_shapes_model(name, architecture)
    if weights is not None:
        load_state(model, load_checkpoint(weights, name), name, str(weights))
    elif pretrained:
        filename = f"{name}-{config_hash(name, architecture, recipe)}.pt"
        cached = cache_dir() / "models" / filename
        source = cached if cached.is_file() else _shipped_weights(filename)
        if source is not None:
            load_state(model, load_checkpoint(source, name), name, str(source))
        else:
            model, _history = train_shapes_model(name, recipe, architecture, progress=progress)
            cached.parent.mkdir(parents=True, exist_ok=True)
            temporary = cached.with_suffix(".tmp")
            torch.save(model.state_dict(), temporary)
            os.replace(temporary, cached)
    layers, groups = analysis_layers(name, architecture)
    return ModelEntry(name, model.eval(), layers, normalize, list(SHAPES_CLASS_NAMES), 64, groups,
                      (INPUT_MEAN,) * 3, (INPUT_STD,) * 3, activation_part="signed" if "tokens" in groups else "positive")


@register_model("shapes_resnet")
def shapes_resnet(pretrained: bool = True, weights=None) -> ModelEntry:
    """The small ResNet trained on the planted shapes; layers = its 6 basic blocks."""
    return load_shapes_model("shapes_resnet", pretrained=pretrained, weights=weights)


@register_model("shapes_vit")
def shapes_vit(pretrained: bool = True, weights=None) -> ModelEntry:
    """The small ViT trained on the planted shapes; per block tokens, MLP hidden, attention."""
    return load_shapes_model("shapes_vit", pretrained=pretrained, weights=weights)
