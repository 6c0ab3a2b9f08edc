"""codec — Contribution Decomposition (CODEC) for PyTorch networks.

The main entry point is :func:`codec.contributions`; see ``codec.attribution`` for the
methods, ``codec.targets`` for scalar targets and ``codec.stats`` for sparsity statistics.
``codec.models`` and ``codec.data`` give the networks and datasets of the three scales
(``codec.presets``); ``codec.store`` keeps contributions of a dataset on disk,
``codec.sae`` and ``codec.modes`` decompose them, ``codec.control`` perturbs modes and
``codec.visualize`` maps them into input space, ``codec.tokens`` and ``codec.heads`` give a ViT's
pseudo-channels and group its attention dimensions into heads, ``codec.retina`` is the retina
section's simulation and analysis; ``codec.scorecard`` decides and records the paper's claims,
and ``codec.checks`` holds the argument checkers every module uses. ``codec.experiment`` is the set-up a section of the book starts from, and
``codec.plots`` its figure style and ``codec.page`` the book's page format (both imported on first
use: they need matplotlib and seaborn, the ``book`` extra).
"""

__version__ = "0.1.0"  # first: submodules read it while the package is being imported

from . import (  # noqa: E402
    attribution,
    checks,
    classes,
    control,
    data,
    experiment,
    heads,
    hooks,
    models,
    modes,
    presets,
    reduce,
    retina,
    sae,
    scorecard,
    stats,
    store,
    targets,
    tokens,
    visualize,
)
from .attribution import METHODS, RULES, Contributions, contributions  # noqa: E402
from .targets import surprisal  # noqa: E402

__all__ = [
    "contributions",
    "Contributions",
    "METHODS",
    "RULES",
    "surprisal",
    "attribution",
    "checks",
    "classes",
    "control",
    "data",
    "experiment",
    "heads",
    "hooks",
    "modes",
    "sae",
    "scorecard",
    "store",
    "models",
    "page",
    "plots",
    "presets",
    "reduce",
    "retina",
    "stats",
    "targets",
    "tokens",
    "visualize",
    "__version__",
]


def __getattr__(name):
    # codec.plots and codec.page need the book extra (matplotlib, seaborn): imported when first asked for
    if name in ("plots", "page"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'codec' has no attribute {name!r}")
