"""Shared fixtures: small deterministic networks and the real-data directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from torch import nn

torch.set_num_threads(min(2, torch.get_num_threads()))


def tiny_convnet(seed: int = 0, dtype=torch.float64) -> nn.Module:
    """Conv -> ReLU -> Conv -> Tanh -> pool -> Linear, every layer with a non-zero bias."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(3, 4, 3, padding=1),
        nn.Tanh(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16, 5),
    ).to(dtype)
    with torch.no_grad():
        for module in model:
            if getattr(module, "bias", None) is not None:
                module.bias.uniform_(-0.5, 0.5)
    return model.eval()


def linear_convnet(seed: int = 0, dtype=torch.float64) -> nn.Module:
    """A purely linear network with biases: conv -> conv -> flatten -> linear."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1),
        nn.Conv2d(3, 4, 3, padding=1),
        nn.Flatten(),
        nn.Linear(4 * 5 * 5, 6),
    ).to(dtype)
    with torch.no_grad():
        for module in model:
            if getattr(module, "bias", None) is not None:
                module.bias.uniform_(-1, 1)
    return model.eval()


@pytest.fixture
def small_inputs() -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(3, 2, 5, 5, dtype=torch.float64)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real-image assets ($CODEC_DATA_DIR); tests that need them skip visibly elsewhere."""
    value = os.environ.get("CODEC_DATA_DIR")
    if not value or not Path(value).is_dir():
        pytest.skip("real ImageNet assets not available: set CODEC_DATA_DIR (CI sets ../shared/assets)")
    return Path(value)


@pytest.fixture(scope="session")
def small_retina():
    """A small simulated retina (8 frames of 24×24 px, 2 cells per type) for the retina tests."""
    from codec import retina

    return retina.SimulatedRetina(retina.CircuitConfig(frames=8, size=24, bin_ms=20.0, cells_per_type=2, seed=0))
