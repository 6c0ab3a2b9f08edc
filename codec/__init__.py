"""codec — Contribution Decomposition (CODEC) for PyTorch networks.

The main entry point is :func:`codec.contributions`; see ``codec.attribution`` for the
methods, ``codec.targets`` for scalar targets and ``codec.stats`` for sparsity statistics.
``codec.models`` and ``codec.data`` give the networks and datasets of the three scales
(``codec.presets``); ``codec.store`` keeps contributions of a dataset on disk,
``codec.sae`` and ``codec.modes`` decompose them, ``codec.scorecard`` records the paper's claims.
"""

__version__ = "0.1.0"  # first: submodules read it while the package is being imported

from . import attribution, classes, data, hooks, models, modes, presets, reduce, sae, scorecard, stats, store, targets  # noqa: E402
from .attribution import METHODS, RULES, Contributions, contributions  # noqa: E402
from .targets import surprisal  # noqa: E402

__all__ = [
    "contributions",
    "Contributions",
    "METHODS",
    "RULES",
    "surprisal",
    "attribution",
    "classes",
    "data",
    "hooks",
    "modes",
    "sae",
    "scorecard",
    "store",
    "models",
    "presets",
    "reduce",
    "stats",
    "targets",
    "__version__",
]
