"""codec — Contribution Decomposition (CODEC) for PyTorch networks.

The main entry point is :func:`codec.contributions`; see ``codec.attribution`` for the
methods, ``codec.targets`` for scalar targets and ``codec.stats`` for sparsity statistics.
``codec.models`` and ``codec.data`` give the networks and datasets of the three scales
(``codec.presets``).
"""

from . import classes, data, models, presets, reduce, stats, targets
from .attribution import METHODS, RULES, Contributions, contributions
from .targets import surprisal

__version__ = "0.1.0"

__all__ = [
    "contributions",
    "Contributions",
    "METHODS",
    "RULES",
    "surprisal",
    "classes",
    "data",
    "models",
    "presets",
    "reduce",
    "stats",
    "targets",
    "__version__",
]
