"""Loss terms of SAE training, one signature: ``term(sae, batch, codes, reconstruction) -> scalar``.

``batch`` and ``reconstruction`` are in units of the scaled data (B, F), ``codes`` (B, M).
:func:`codec.sae.train_sae` minimises ``reconstruction_mse + l1_codes * codes_l1 +
l1_dictionary * dictionary_l1`` (or ``dictionary_l1_mean``, the released code's normalisation).
"""

from __future__ import annotations

import torch


def reconstruction_mse(sae, batch: torch.Tensor, codes: torch.Tensor, reconstruction: torch.Tensor) -> torch.Tensor:
    """Mean squared reconstruction error over all entries."""
    return (reconstruction - batch).square().mean()


def codes_l1(sae, batch: torch.Tensor, codes: torch.Tensor, reconstruction: torch.Tensor) -> torch.Tensor:
    """L1 of the codes: per row the sum of |codes|, averaged over rows."""
    return codes.abs().sum(1).mean()


def dictionary_l1(sae, batch: torch.Tensor, codes: torch.Tensor, reconstruction: torch.Tensor) -> torch.Tensor:
    """L1 of the dictionary (scaled units): the sum of |D| over all entries."""
    return sae.scaled_dictionary.abs().sum()


def dictionary_l1_mean(sae, batch: torch.Tensor, codes: torch.Tensor, reconstruction: torch.Tensor) -> torch.Tensor:
    """L1 of the dictionary (scaled units) as the authors' released code has it: the mean of |D|,
    i.e. :func:`dictionary_l1` divided by the number of dictionary entries (M × F)."""
    return sae.scaled_dictionary.abs().mean()
