"""The retina CNN of the paper (Maheswaranathan et al. 2023; torch-deep-retina's ``BNCNN``).

A window of ``frames`` stimulus frames (as input channels) × ``size`` × ``size`` pixels goes
through two valid convolutions (15×15 → 8 channels, 11×11 → 8 channels at the paper's size:
50 → 36 → 26), each followed by a batch norm over every unit (channel × position, as the
original flattens before it), Gaussian noise while training and a ReLU; a linear ganglion layer
(no bias) gives one value per cell, batch-normed, and a softplus gives the firing rate.

Layers for CODEC: ``relu1`` and ``relu2``, maps ``(B, 8, H, W)`` (the paper's "first two
layers").

:func:`load_tdr_checkpoint` reads a torch-deep-retina checkpoint (``model_type`` ``"BNCNN"``,
``model_hyps`` or ``hyps``, ``model_state_dict``, ``norm_stats``) into :class:`RetinaCNN`; its
``sequential.N`` keys are mapped one by one, and a missing, extra or misshapen key is an error.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from ..checks import ArgumentTypeError, check_int, check_number, load_checkpoint_file
from .base import ModelEntry, load_state, register_model

__all__ = ["RetinaCNN", "SpectralConv2d", "FlatBatchNorm", "GaussianNoise", "load_tdr_checkpoint", "TDR_KEYS", "retina_entry"]

#: torch-deep-retina BNCNN's ``sequential`` indices -> RetinaCNN's module names
TDR_KEYS = {"0": "conv1", "2": "bn1", "6": "conv2", "8": "bn2", "11": "ganglion", "12": "bn3"}


class SpectralConv2d(nn.Conv2d):
    """A valid, stride-1 ``nn.Conv2d`` computed through the FFT (same parameters, same result).

    The retina CNN's first layer correlates 40 input frames with 15×15 kernels: on a CPU,
    ``conv2d``'s weight and input gradients cost about 20 ms per 50×50 window, the FFT's about 1.5
    (`benchmarks/retina.py` times both side by side). The output
    equals ``conv2d``'s to float rounding (tested); the state dict is a ``Conv2d``'s.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True):
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("kernel_size", kernel_size)):
            check_int(name, value, 1)
        super().__init__(in_channels, out_channels, kernel_size, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        height, width = x.shape[-2:]
        kh, kw = self.weight.shape[-2:]
        spectrum = torch.einsum("btuv,otuv->bouv", torch.fft.rfft2(x), torch.fft.rfft2(self.weight, s=(height, width)).conj())
        out = torch.fft.irfft2(spectrum, s=(height, width))[..., :height - kh + 1, :width - kw + 1]
        return out + self.bias.view(1, -1, 1, 1) if self.bias is not None else out


class FlatBatchNorm(nn.BatchNorm1d):
    """Batch norm of every unit of a map ``(B, C, H, W)`` (the original flattens, norms, reshapes)."""

    def __init__(self, channels: int, height: int, width: int, eps: float = 1e-3, momentum: float = 0.01):
        for name, value in (("channels", channels), ("height", height), ("width", width)):
            check_int(name, value, 1)
        check_number("eps", eps, above=0)
        check_number("momentum", momentum, minimum=0, maximum=1)
        super().__init__(channels * height * width, eps=eps, momentum=momentum)
        self.map_shape = (channels, height, width)

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.flatten(1)).view(x.shape[0], *self.map_shape)


class GaussianNoise(nn.Module):
    """Adds N(0, std²) noise while training; the identity in eval mode."""

    def __init__(self, std: float = 0.05):
        super().__init__()
        self.std = check_number("std", std, minimum=0)

    def forward(self, x: Tensor) -> Tensor:
        if self.training and self.std > 0:
            return x + torch.randn_like(x) * self.std
        return x


class RetinaCNN(nn.Module):
    """The three-layer retina CNN (torch-deep-retina ``BNCNN``).

    Parameters
    ----------
    n_cells : int
        Ganglion cells (outputs).
    frames, size : int
        The input window: ``(B, frames, size, size)``.
    channels : (int, int)
    kernels : (int, int)
        Valid convolutions: the maps are ``size − k1 + 1`` and then ``− k2 + 1`` wide.
    noise : float
        Standard deviation of the training noise after each batch norm.
    bn_momentum : float
    spectral : bool
        Compute the first convolution through the FFT (:class:`SpectralConv2d`: the same
        function and parameters, several times faster on a CPU); False: ``nn.Conv2d``.
    """

    def __init__(self, n_cells: int, frames: int = 40, size: int = 50, channels=(8, 8), kernels=(15, 11),
                 noise: float = 0.05, bn_momentum: float = 0.01, spectral: bool = True):
        super().__init__()
        for name, value in (("n_cells", n_cells), ("frames", frames), ("size", size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: must be an integer >= 1, got {value!r}")
        side1 = size - kernels[0] + 1
        side2 = side1 - kernels[1] + 1
        if side2 < 1:
            raise ValueError(f"kernels: {tuple(kernels)} leave no map of a {size}-pixel input")
        self.hyperparameters = {"n_cells": n_cells, "frames": frames, "size": size, "channels": list(channels),
                                "kernels": list(kernels), "noise": noise, "bn_momentum": bn_momentum}
        self.conv1 = (SpectralConv2d if spectral else nn.Conv2d)(frames, channels[0], kernels[0])
        self.bn1 = FlatBatchNorm(channels[0], side1, side1, momentum=bn_momentum)
        self.noise1 = GaussianNoise(noise)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(channels[0], channels[1], kernels[1])
        self.bn2 = FlatBatchNorm(channels[1], side2, side2, momentum=bn_momentum)
        self.noise2 = GaussianNoise(noise)
        self.relu2 = nn.ReLU()
        self.ganglion = nn.Linear(channels[1] * side2 * side2, n_cells, bias=False)
        self.bn3 = nn.BatchNorm1d(n_cells, eps=1e-3, momentum=bn_momentum)
        self.softplus = nn.Softplus()

    @property
    def input_shape(self) -> tuple[int, int, int]:
        h = self.hyperparameters
        return (h["frames"], h["size"], h["size"])

    def forward(self, x: Tensor) -> Tensor:
        """Firing rates ``(B, n_cells)`` of windows ``(B, frames, size, size)``."""
        if x.ndim != 4 or tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"inputs: the retina CNN takes windows (B, {', '.join(map(str, self.input_shape))}), "
                             f"got {tuple(x.shape)}")
        h = self.relu1(self.noise1(self.bn1(self.conv1(x))))
        h = self.relu2(self.noise2(self.bn2(self.conv2(h))))
        return self.softplus(self.bn3(self.ganglion(h.flatten(1))))


def retina_entry(model: RetinaCNN, name: str = "retina_cnn", cell_names=None, norm_stats=None) -> ModelEntry:
    """A :class:`~codec.models.ModelEntry` of a retina CNN: layers ``relu1``, ``relu2``.

    The transform standardises a window with ``norm_stats`` (``{"mean", "std"}`` of the
    training stimulus, as torch-deep-retina records them; default: none, the stimulus is in
    contrast units already). ``class_names`` are the cells' names.
    """
    if not isinstance(model, RetinaCNN):
        raise ArgumentTypeError(f"model: must be a codec.models.RetinaCNN, got {type(model).__name__}")
    if norm_stats is not None and (not isinstance(norm_stats, dict) or not {"mean", "std"} <= set(norm_stats)):
        raise ValueError(f"norm_stats: must be a dict with 'mean' and 'std' (torch-deep-retina's), got {norm_stats!r:.60}")
    model.eval()
    model.norm_stats = dict(norm_stats) if norm_stats else None
    frames, size, _ = model.input_shape
    mean = float(norm_stats["mean"]) if norm_stats else 0.0
    std = float(norm_stats["std"]) if norm_stats else 1.0
    n_cells = model.hyperparameters["n_cells"]
    names = list(cell_names) if cell_names is not None else [f"cell {i}" for i in range(n_cells)]
    if len(names) != n_cells:
        raise ValueError(f"cell_names: {len(names)} names for {n_cells} cells")
    return ModelEntry(name=name, model=model, layers=["relu1", "relu2"], transform=lambda window: (window - mean) / std,
                      class_names=names, input_size=size, layer_groups={"layers": ["relu1", "relu2"]})


def load_tdr_checkpoint(path, device="cpu") -> ModelEntry:
    """A torch-deep-retina ``BNCNN`` checkpoint as a retina CNN entry.

    Parameters
    ----------
    path : path
        A ``.pt``/``.pth`` file saved by torch-deep-retina's training: a dict with
        ``model_type`` (must be ``"BNCNN"``), ``model_hyps`` or ``hyps`` (``n_units``, ``chans``,
        ``ksizes``, ``img_shape``, ``bias``, ``linear_bias``), ``model_state_dict`` (keys
        ``sequential.N.*``) and optionally ``norm_stats``.

    Returns
    -------
    ModelEntry
        Named ``retina_cnn``; its transform applies ``norm_stats``.

    Raises
    ------
    ValueError
        For another model type, missing hyperparameters or state, or keys that do not map.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"weights: torch-deep-retina checkpoint {str(path)!r} does not exist")
    data = load_checkpoint_file("weights", path)
    if not isinstance(data, dict) or "model_state_dict" not in data:
        keys = sorted(data)[:8] if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"weights: {str(path)!r} is not a torch-deep-retina checkpoint (no 'model_state_dict'; it holds {keys})")
    model_type = data.get("model_type")
    if model_type != "BNCNN":
        raise ValueError(f"weights: {str(path)!r} holds a {model_type!r} model; only torch-deep-retina's 'BNCNN' "
                         "(the paper's three-layer CNN) maps onto codec's RetinaCNN")
    hyps = data.get("model_hyps") or data.get("hyps")
    if not isinstance(hyps, dict):
        raise ValueError(f"weights: {str(path)!r} has no 'model_hyps' or 'hyps' dict; the architecture cannot be known")
    if hyps.get("bias", True) is False:
        raise ValueError("weights: the checkpoint's convolutions have no bias (hyps['bias'] is False); RetinaCNN's have one")
    if hyps.get("linear_bias"):
        raise ValueError("weights: the checkpoint's ganglion layer has a bias (hyps['linear_bias']); RetinaCNN's has none")
    img_shape = tuple(hyps.get("img_shape", (40, 50, 50)))
    if len(img_shape) != 3 or img_shape[1] != img_shape[2]:
        raise ValueError(f"weights: hyps['img_shape'] must be (frames, size, size), got {img_shape}")
    model = RetinaCNN(int(hyps.get("n_units", 5)), frames=int(img_shape[0]), size=int(img_shape[1]),
                      channels=tuple(hyps.get("chans", (8, 8))), kernels=tuple(hyps.get("ksizes", (15, 11))),
                      noise=float(hyps.get("noise", 0.05)), bn_momentum=float(hyps.get("bn_moment", 0.01)))
    state = {}
    for key, value in data["model_state_dict"].items():
        parts = key.split(".")
        if len(parts) != 3 or parts[0] != "sequential" or parts[1] not in TDR_KEYS:
            raise ValueError(f"weights: checkpoint key {key!r} has no place in RetinaCNN (expected sequential.N.* "
                             f"with N in {sorted(TDR_KEYS, key=int)})")
        state[f"{TDR_KEYS[parts[1]]}.{parts[2]}"] = value
    load_state(model, state, "retina_cnn", f"torch-deep-retina checkpoint {str(path)!r}")
    return retina_entry(model.to(device), norm_stats=data.get("norm_stats"))


@register_model("retina_cnn")
def retina_cnn(pretrained: bool = True, weights=None) -> ModelEntry:
    """The paper's retina CNN: from a torch-deep-retina checkpoint (``weights``) or, with
    ``pretrained=False``, randomly initialised at the paper's size (5 cells)."""
    if weights is not None:
        return load_tdr_checkpoint(weights)
    if pretrained:
        raise RuntimeError("retina_cnn: the paper's fitted retina models are not packaged; pass weights=PATH to a "
                           "torch-deep-retina BNCNN checkpoint, or pretrained=False for random weights (the retina "
                           "section trains its own on a simulated retina: codec.retina)")
    return retina_entry(RetinaCNN(5))
