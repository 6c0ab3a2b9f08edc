"""Sparse autoencoders that decompose an images × features matrix into modes.

One concept per module: :mod:`~codec.sae.models` (the SAE modules, with ``encode`` and
``decode``), :mod:`~codec.sae.losses` (loss terms of one signature), :mod:`~codec.sae.training`
(one loop for all), :mod:`~codec.sae.metrics` (batched inference and the evaluation summary;
the metrics themselves are in :mod:`codec.stats`) and :mod:`~codec.sae.cache` (SAEs of store
layers, cached beside the store).

Every SAE here maps a batch ``x`` of shape (B, F) to the same triple::

    pre_codes, codes, reconstruction = sae(x)      # (B, M), (B, M), (B, F)

and exposes its dictionary ``sae.dictionary`` of shape (M, F): row m is mode m's loading on
each feature, and ``reconstruction ≈ codes @ dictionary`` (in the units of ``x``). One function,
:func:`train_sae`, trains all of them; :func:`fit_sae` trains one once per (store, layer,
hyperparameters) and caches it beside the store, and :func:`fit_layers` does so for every layer.
Each SAE kind has its own settings object (:class:`ThresholdSAESettings`, :class:`STSAESettings`,
:class:`TopKSAESettings`, sharing the training fields of :class:`TrainingSettings`), which builds
its SAE. :data:`PAPER_CONFIGURATIONS` names the paper's SAE as its text describes it and as the
authors' code releases it.

- :class:`ThresholdSAE`, the paper's: an MLP encoder ending in a sigmoid (``pre_codes`` in
  (0, 1)), a hard threshold (``codes = pre_codes`` where ``pre_codes > threshold``, else 0; the
  gradient flows only through the codes that pass), and a dictionary of
  ``n_modes = expansion × n_channels`` modes, non-negative by default (projected after each
  step). The last encoder bias starts at ``logit(threshold)``, so that about half the codes pass
  at the start (with a zero bias no code would pass and nothing would learn), and
  :func:`train_sae` starts the dictionary from data rows scaled to the data (see
  :meth:`ThresholdSAE.initialize_`). Both are choices of this implementation.
- :class:`STSAE`, the authors' released one: two hidden layers of 2,048 with dropout and
  LayerNorm, a sigmoid and threshold 0.8, a signed dictionary.
- :class:`TopKSAE`, the field's current baseline: a linear encoder with ReLU whose ``k`` largest
  codes per row are kept, and a linear decoder with a bias.

The feature matrix of a layer (:func:`feature_matrix`) is, for contributions, the positive part
of every channel (B, C), as in the paper's §10.1 and the released code; ``inputs="both"`` puts
the magnitude of the negative part beside it (B, 2C). For activations it is the spatial sum of
every channel (B, C), signed where the layer is (EfficientNet's block outputs are linear
bottlenecks; ResNet's are post-ReLU), or with ``activation_part="positive"`` the positive part
Σ relu(h) that the authors' CNN SAEs read (``"both"``: both parts, (B, 2C)).

R² (:func:`r2_score`) is defined two ways:

- ``"global"`` (the authors'): ``1 − Σ(x − x̂)² / Σ(x − x̄)²`` with x̄ the mean of all entries;
- ``"per_feature"``: the same with x̄ replaced by each feature's mean, i.e. ``1 − SSE / Σ_j
  SST_j``, scikit-learn's ``r2_score(..., multioutput="variance_weighted")``. It is the lower of
  the two, since the per-feature means fit the data better than one global mean.
"""

from ..stats import alive_modes, l0, mode_sparsity, r2_score
from .cache import (
    KINDS,
    PAPER_CONFIGURATIONS,
    TRAINING_VERSION,
    LayerFit,
    SAESettings,
    STSAESettings,
    ThresholdSAESettings,
    TopKSAESettings,
    TrainingSettings,
    feature_matrix,
    fit_layers,
    fit_sae,
)
from .losses import codes_l1, dictionary_l1, dictionary_l1_mean, reconstruction_mse
from .metrics import encode, evaluate
from .models import SAE_TYPES, STSAE, SAEBase, ThresholdSAE, TopKSAE, build_sae, n_modes_for
from .training import train_sae

__all__ = [
    "KINDS", "PAPER_CONFIGURATIONS", "TRAINING_VERSION", "LayerFit", "SAESettings", "STSAESettings", "ThresholdSAESettings",
    "TopKSAESettings", "TrainingSettings",
    "feature_matrix", "fit_layers", "fit_sae", "codes_l1", "dictionary_l1", "dictionary_l1_mean",
    "reconstruction_mse", "encode", "evaluate", "SAEBase", "SAE_TYPES", "STSAE", "ThresholdSAE", "TopKSAE", "build_sae", "n_modes_for",
    "train_sae", "alive_modes", "l0", "mode_sparsity", "r2_score",
]
