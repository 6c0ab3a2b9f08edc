"""How a verdict rule compares values across layers: their correlation with depth, the
intermediate third of the layers, and "A exceeds B at a layer", where a difference within its
standard error over images is a tie (:func:`layer_outcomes`, :data:`TIE_RULE`).
"""

from __future__ import annotations

import numpy as np

from ..checks import check_array, check_int


def depth_correlation(values) -> float:
    """Pearson correlation of one value per layer, shape (L,), with the layers' positions 1..L."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or len(values) < 2:
        raise ValueError(f"values: one value per layer, at least two layers; got shape {values.shape}")
    return float(np.corrcoef(np.arange(1, len(values) + 1), values)[0, 1])


def intermediate_positions(n_layers: int) -> slice:
    """The middle third of ``n_layers`` layers by position: what claims 6 and 9 call intermediate."""
    check_int("n_layers", n_layers, 1)
    return slice(n_layers // 3, n_layers - n_layers // 3)


def intermediate_layers(layers, count: int | None = None) -> list:
    """The layers claim 6 calls intermediate: the middle third of ``layers`` by position.

    ``count``: only that many of them, evenly spaced (first and last included when ``count`` ≥ 2).
    """
    from ..control import evenly_spaced

    if isinstance(layers, str) or not hasattr(layers, "__len__") or not len(layers):
        raise ValueError(f"layers: give a non-empty sequence of layer names, got {layers!r}")
    return evenly_spaced(list(layers)[intermediate_positions(len(layers))], count)


def layer_outcomes(a, b, standard_error=None) -> np.ndarray:
    """Layer by layer, whether ``a`` exceeds ``b``: a tie where the difference lies within its standard error.

    Parameters
    ----------
    a, b : array, shape (L,)
        One value per layer (for example means over images).
    standard_error : array, shape (L,), optional
        The standard error over images of the difference ``a - b`` at each layer
        (:func:`codec.stats.paired_difference`). Without it every layer is compared strictly.

    Returns
    -------
    numpy.ndarray of int, shape (L,)
        +1 where ``a - b`` exceeds its standard error, -1 where ``b - a`` does, 0 (a tie) where
        ``|a - b|`` is at most the standard error (with no standard error: where ``a == b``).
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim != 1 or b.shape != a.shape:
        raise ValueError(f"b: needs the shape of a, one value per layer; got a {a.shape}, b {b.shape}")
    margin = np.zeros_like(a) if standard_error is None else np.asarray(standard_error, dtype=float)
    if margin.shape != a.shape or not (np.isfinite(margin) & (margin >= 0)).all():
        raise ValueError(f"standard_error: needs one finite non-negative value per layer, shape {a.shape}; got {margin!r}")
    difference = a - b
    return np.where(difference > margin, 1, np.where(-difference > margin, -1, 0))


def describe_outcomes(outcomes, layers=None, compared: bool = True) -> str:
    """:func:`layer_outcomes` in words: 'higher at 15, a tie within one standard error at 1 (blocks.0.0),
    lower at 0 of 16 layers' (``layers``: their names, shape (L,), to name the ties and the lower ones;
    ``compared=False``: a record without standard errors, worded as before the tie rule)."""
    outcomes = check_array("outcomes", outcomes, ndim=1)
    if layers is not None and len(layers) != len(outcomes):
        raise ValueError(f"layers: one name per outcome ({len(outcomes)}), got {len(layers)}")
    n = len(outcomes)

    def named(sign):
        if layers is None or not (outcomes == sign).any():
            return ""
        return " (" + ", ".join(str(layer) for layer, o in zip(layers, outcomes) if o == sign) + ")"

    if not compared:  # a record made before the tie rule: its words as they were
        return f"higher at {int((outcomes > 0).sum())} of {n} layers"
    return (f"higher at {int((outcomes > 0).sum())}, a tie within one standard error at {int((outcomes == 0).sum())}{named(0)}, "
            f"lower at {int((outcomes < 0).sum())}{named(-1)} of {n} layers")


def exceeds_at_every_layer(outcomes, with_errors: bool = True) -> bool:
    """'A exceeds B at every layer': with standard errors, no layer lower beyond its standard error and one
    higher at least (ties allowed); without them (an older record), higher at every layer.

    ``outcomes``: :func:`layer_outcomes`, shape (L,)."""
    outcomes = check_array("outcomes", outcomes, ndim=1)
    if not with_errors:
        return bool((outcomes > 0).all())
    return bool((outcomes >= 0).all() and (outcomes > 0).any())


TIE_RULE = ("a layer where the difference lies within one standard error over images (of the per-image difference) "
             "is a tie, reported as such and not a failure; at least one layer must be higher (a record made before standard "
             "errors were recorded is compared strictly)")
