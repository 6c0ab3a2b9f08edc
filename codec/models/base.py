"""What every model family shares: the model entry, checkpoint loading, layer groups, the registry.

A family module (``imagenet``, ``onnx_vit``, ``shapes``, ``retina``) defines factories
``factory(pretrained: bool = True, weights: path | None = None) -> ModelEntry`` and registers
each under a name with :func:`register_model`; :func:`load_model` looks names up in
:data:`MODELS`. Nothing here imports a family module, so imports run one way:
``base`` <- families <- ``codec.models``.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..checks import ArgumentTypeError, check_bool, check_choice, check_device, check_int, check_path, load_checkpoint_file


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
        Maps one image to the model's input tensor (3, size, size). Every family's transform
        takes the same input: a PIL image or a (3, H, W) float tensor in [0, 1] (shapes models
        also take a batch (N, 3, H, W)).
    class_names : list of str
    input_size : int
        Side of the square input.
    layer_groups : dict of str to list of str
        Layers by kind (``{"blocks": [...]}``; for ViTs ``"tokens"``, ``"mlp"``, ``"attention"``).
    input_mean, input_std : tuple of float
        Per colour channel, the normalisation the transform applies last: model input =
        (image - mean) / std. :meth:`to_image` inverts it.
    activation_part : {"positive", "signed"}
        Which part of the summed activations the authors' analyses read for this kind of model
        (:meth:`codec.store.ContributionStore.activations`): CNNs the positive part Σ relu(h)
        (``figures/figure_3_contribution_stats/sparsity.py``, ``dimensionality.py``
        ``ASPATIAL_OP='positive'``, ``preprocessing/3a_train_saes_resnet.py``), ViTs the signed token
        sum (``figures/figure_s7_vit/d-f/sparsity_vit.py``). The ViT families set ``"signed"``.
    """

    name: str
    model: nn.Module
    layers: list
    transform: Callable
    class_names: list
    input_size: int
    layer_groups: dict = field(default_factory=dict)
    input_mean: tuple = (0.0, 0.0, 0.0)
    input_std: tuple = (1.0, 1.0, 1.0)
    activation_part: str = "positive"

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ArgumentTypeError(f"name: must be the model's name (a non-empty str), got {self.name!r}")
        if not isinstance(self.model, nn.Module):
            raise ArgumentTypeError(f"model: must be a torch.nn.Module, got {type(self.model).__name__}")
        if isinstance(self.layers, str) or not all(isinstance(layer, str) for layer in self.layers):
            raise ArgumentTypeError(f"layers: must be a list of layer names (model.named_modules() names), got {self.layers!r}")
        if not callable(self.transform):
            raise ArgumentTypeError(f"transform: must be callable (an image to a model input), got {type(self.transform).__name__}")
        check_int("input_size", self.input_size, 1)
        check_choice("activation_part", self.activation_part, ("positive", "signed"))
        for name in ("input_mean", "input_std"):
            values = getattr(self, name)
            if len(values) != 3 or (name == "input_std" and any(v <= 0 for v in values)):
                raise ValueError(f"{name}: must be 3 numbers (one per colour channel){', all > 0' if name == 'input_std' else ''}, "
                                 f"got {values!r}")

    def to_image(self, inputs: torch.Tensor) -> np.ndarray:
        """Model inputs back to displayable images.

        Parameters
        ----------
        inputs : Tensor, shape (3, H, W) or (B, 3, H, W)
            Model inputs (after :attr:`transform`).

        Returns
        -------
        ndarray of float32, shape (H, W, 3) or (B, H, W, 3)
            Images in [0, 1] (values outside are clipped), channels last, for ``imshow``.
        """
        if not isinstance(inputs, torch.Tensor) or inputs.dim() not in (3, 4) or inputs.shape[-3] != 3:
            shape = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
            raise ValueError(f"inputs: expected a tensor of shape (3, H, W) or (B, 3, H, W), got {shape}")
        mean = torch.tensor(self.input_mean, dtype=torch.float32).view(3, 1, 1)
        std = torch.tensor(self.input_std, dtype=torch.float32).view(3, 1, 1)
        images = (inputs.detach().float().cpu() * std + mean).clamp(0, 1)
        return images.movedim(-3, -1).numpy()


def load_checkpoint(path, name: str) -> dict:
    """A state dict from a file, loaded with ``torch.load(..., weights_only=True)``.

    A ``{"state_dict": ...}`` wrapper is unwrapped. Errors name the ``weights`` parameter.
    """
    path = check_path("weights", path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"weights: {name} weights file {str(path)!r} does not exist")
    state = load_checkpoint_file("weights", path)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"weights: {str(path)!r} does not hold a state dict")
    return state


def load_state(model: nn.Module, state: dict, name: str, source: str) -> None:
    """Load ``state`` into ``model`` strictly; missing or unexpected keys are a clear error."""
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


class WeightsUnavailableError(RuntimeError, FileNotFoundError):
    """Pretrained weights that cannot be had here (no internet, a package missing): the user's to
    provide, so a FileNotFoundError too (the command line prints it without a traceback)."""


def no_weights(name: str, how: str) -> WeightsUnavailableError:
    """The error for pretrained weights that cannot be had here, saying what to do instead."""
    return WeightsUnavailableError(
        f"weights: {name}: pretrained weights are not available here ({how}). Pass weights=PATH (--weights) to a "
        f"local checkpoint, run once on a machine with internet, or use pretrained=False for "
        "random weights."
    )


def vit_layer_groups(depth: int, prefix: str = "blocks") -> dict[str, list[str]]:
    """The three pseudo-channel kinds of a timm ViT, per block: token features (block output),
    MLP hidden units (after the activation) and attention heads concatenated (the projection's input)."""
    check_int("depth", depth, 1)
    if not isinstance(prefix, str):
        raise ArgumentTypeError(f"prefix: must be the blocks' module name (a str), got {prefix!r}")
    return {
        "tokens": [f"{prefix}.{i}" for i in range(depth)],
        "mlp": [f"{prefix}.{i}.mlp.act" for i in range(depth)],
        "attention": [f"{prefix}.{i}.attn.proj:input" for i in range(depth)],
    }


def vit_layers(groups: dict[str, list[str]]) -> list[str]:
    """Analysis layers of a ViT in depth order: per block attention, MLP, tokens (``groups`` as :func:`vit_layer_groups`)."""
    if not isinstance(groups, dict) or not {"attention", "mlp", "tokens"} <= set(groups):
        raise ArgumentTypeError(f"groups: must be a dict with 'attention', 'mlp' and 'tokens' lists (vit_layer_groups), got {groups!r}")
    return [layer for triple in zip(groups["attention"], groups["mlp"], groups["tokens"]) for layer in triple]


#: name -> factory(pretrained=True, weights=None) -> ModelEntry; filled by @register_model
MODELS: dict[str, Callable[..., ModelEntry]] = {}


def register_model(name: str):
    """Decorator: register a model factory under ``name`` for :func:`load_model`.

    The factory takes ``pretrained`` (bool) and ``weights`` (a path or None) and returns a
    :class:`ModelEntry`. A name can be registered once.
    """

    if not isinstance(name, str) or not name:
        raise ArgumentTypeError(f"name: must be a non-empty str, got {name!r}")

    def decorate(factory: Callable[..., ModelEntry]) -> Callable[..., ModelEntry]:
        if not callable(factory):
            raise ArgumentTypeError(f"factory: register_model({name!r}) decorates a function, got {type(factory).__name__}")
        if name in MODELS:
            raise ValueError(f"name: a model named {name!r} is already registered ({MODELS[name].__module__})")

        @functools.wraps(factory)
        def checked(pretrained: bool = True, weights=None, **kwargs) -> ModelEntry:
            check_bool("pretrained", pretrained)
            if weights is not None:
                check_path("weights", weights)
            return factory(pretrained=pretrained, weights=weights, **kwargs)

        MODELS[name] = checked
        return checked

    return decorate


def load_model(name: str, pretrained: bool = True, weights: str | os.PathLike | None = None, device="cpu") -> ModelEntry:
    """A model entry by name.

    Parameters
    ----------
    name : str
        A registered model (see ``MODELS``).
    pretrained : bool
        Load trained weights (each family's module says where they come from).
    weights : path, optional
        A local checkpoint (state dict) to load instead.
    device : str or torch.device
        Where to put the model.

    Returns
    -------
    ModelEntry
    """
    if not isinstance(name, str) or name not in MODELS:
        raise ValueError(f"model: unknown model {name!r}; known models: {sorted(MODELS)}")
    check_bool("pretrained", pretrained)
    if weights is not None:
        check_path("weights", weights)  # the family's loader says whether the file exists and loads
    device = check_device("device", device)
    entry = MODELS[name](pretrained=pretrained, weights=weights)
    entry.model.to(device).eval()
    return entry
