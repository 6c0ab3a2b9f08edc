"""A resumable, chunked on-disk store of per-image contributions.

:func:`compute_contributions` fills (or reads back) a store, also under ``torchrun``;
:class:`ContributionStore` reads one. One concept per module: :mod:`~codec.store.chunks` (the
layout on disk, its format versions, atomic writes and checksums, and the store object) and
:mod:`~codec.store.compute` (filling a store, the folder names of the notebooks' stores, a
model's identity). Every name below is importable from ``codec.store``.
"""

from .chunks import (
    ACTIVATION_PARTS,
    FORMAT_VERSION,
    PER_ITEM_FIELDS,
    SETTINGS_FILE,
    ContributionStore,
    StoreError,
    settings_hash,
)
from .compute import compute_contributions, run_name, weights_identity

__all__ = ["ACTIVATION_PARTS", "FORMAT_VERSION", "PER_ITEM_FIELDS", "SETTINGS_FILE", "ContributionStore", "StoreError",
           "settings_hash", "compute_contributions", "run_name", "weights_identity"]
