"""Batched inference and the evaluation summary of a trained SAE (the metrics are in :mod:`codec.stats`)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..checks import check_int
from ..stats import alive_modes, as_tensor, l0, mode_sparsity, r2_score


@torch.no_grad()
def encode(sae: nn.Module, x, batch_size: int = 4096):
    """Codes and reconstruction of ``x`` (N, F) in batches: returns (codes (N, M), reconstruction (N, F))."""
    x = as_tensor(x, "x").float()
    check_int("batch_size", batch_size, 1)
    if hasattr(sae, "check_rows"):
        sae.check_rows(x)
    device = next(sae.parameters()).device
    codes, recon = [], []
    for start in range(0, x.shape[0], batch_size):
        _, c, r = sae(x[start:start + batch_size].to(device))
        codes.append(c)
        recon.append(r)
    return torch.cat(codes), torch.cat(recon)


def evaluate(sae: nn.Module, x) -> dict:
    """R² (both kinds), alive and dead modes, L0 and mean mode sparsity of ``sae`` on ``x`` (N, F)."""
    x = as_tensor(x, "x").float()
    if not torch.isfinite(x).all():
        raise ValueError(f"x: contains {int((~torch.isfinite(x)).sum())} non-finite values (NaN or inf); clean or drop those rows first")
    codes, reconstruction = encode(sae, x)
    x = x.to(reconstruction.device)
    alive = alive_modes(codes)
    return {
        "r2": r2_score(x, reconstruction, "global"),
        "r2_per_feature": r2_score(x, reconstruction, "per_feature"),
        "alive_modes": int(alive.sum()),
        "dead_modes": int((~alive).sum()),
        "l0": l0(codes),
        "mode_sparsity": float(np.nanmean(mode_sparsity(sae.dictionary[torch.from_numpy(alive).to(codes.device)]))) if alive.any() else float("nan"),
    }
