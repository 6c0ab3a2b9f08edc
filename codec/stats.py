"""Statistics of contribution and activation matrices.

Numpy arrays and torch tensors are both accepted; results come back as numpy arrays.
"""

from __future__ import annotations

import numpy as np


def _as_numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def hoyer(x, axis: int = -1) -> np.ndarray:
    """Hoyer sparsity index along ``axis``.

    ``(sqrt(n) - ||x||_1 / ||x||_2) / (sqrt(n) - 1)`` for a vector of ``n`` entries: 0 when
    all entries have equal magnitude, 1 when exactly one is non-zero. Magnitudes are used,
    so the sign of the entries does not matter.

    Parameters
    ----------
    x : array or Tensor, shape (..., n, ...)
        Vectors along ``axis`` (e.g. images x channels with ``axis=-1``).
    axis : int
        The dimension holding the vector entries.

    Returns
    -------
    numpy.ndarray
        ``x``'s shape without ``axis``; NaN where a vector is all zeros (undefined).
    """
    x = _as_numpy(x)
    n = x.shape[axis]
    if n < 2:
        raise ValueError(f"hoyer: needs at least 2 entries along axis {axis}, got {n}")
    l1 = np.abs(x).sum(axis=axis)
    l2 = np.sqrt((x**2).sum(axis=axis))
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(l2 > 0, l1 / np.where(l2 > 0, l2, 1.0), np.nan)
    return (np.sqrt(n) - ratio) / (np.sqrt(n) - 1)


def _pearson(a: np.ndarray, b: np.ndarray, axis: int) -> np.ndarray:
    a = a - a.mean(axis=axis, keepdims=True)
    b = b - b.mean(axis=axis, keepdims=True)
    denominator = np.sqrt((a**2).sum(axis=axis) * (b**2).sum(axis=axis))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (a * b).sum(axis=axis) / denominator, np.nan)


def ei_correlation(ei, over: str = "channels"):
    """Correlation between the positive and the (magnitude of the) negative contribution parts.

    Parameters
    ----------
    ei : array or Tensor, shape (B, 2, C)
        The ``reduce="ei"`` output: ``[:, 0]`` positive sums, ``[:, 1]`` negative sums (<= 0).
    over : {"channels", "inputs"}
        ``"channels"`` (paper Fig. 3C-D): average each part over inputs, then correlate the C
        mean positive parts with the C mean negative magnitudes -> a float.
        ``"inputs"``: for each channel, correlate its positive part with its negative
        magnitude across the B inputs -> array (C,) (NaN for a channel with a constant part).

    Returns
    -------
    float or numpy.ndarray of shape (C,)
        Pearson correlation. Positive values mean channels (or inputs) with strong
        excitation also carry strong inhibition.
    """
    ei = _as_numpy(ei)
    if ei.ndim != 3 or ei.shape[1] != 2:
        raise ValueError(f"ei_correlation: ei must have shape (B, 2, C), got {ei.shape}")
    positive, negative = ei[:, 0], -ei[:, 1]
    if over == "channels":
        return float(_pearson(positive.mean(axis=0), negative.mean(axis=0), axis=0))
    if over == "inputs":
        return _pearson(positive, negative, axis=0)
    raise ValueError(f"ei_correlation: over must be 'channels' or 'inputs', got {over!r}")
