"""Attention heads as groups of pseudo-channels, and whether they specialise (paper Fig. S8).

A ViT block's attention output before its projection concatenates the heads: of its ``D``
pseudo-channels, head ``h`` owns ``D / heads`` consecutive ones (timm and torchvision both lay
them out this way). The paper asks whether, for one image, a few heads carry the contribution:
the Hoyer sparsity of the per-head sums of the attention contributions, against a baseline that
groups the ``D`` pseudo-channels into blocks of the same size at random. Heads that specialise
give sparser head sums than random groups; heads that do not, about the same.
"""

from __future__ import annotations

import numpy as np

from .checks import check_int
from .stats import hoyer


def _as_numpy(values) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float64)


def _check_heads(width: int, heads: int) -> None:
    check_int("width", width, 1)
    if isinstance(heads, bool) or not isinstance(heads, (int, np.integer)) or heads < 2:
        raise ValueError(f"heads: give the number of attention heads, an integer >= 2, got {heads!r}")
    if width % heads:
        raise ValueError(f"heads: {heads} heads do not divide the width {width}; give the model's head count "
                         "(timm: model.blocks[0].attn.num_heads)")


def head_groups(width: int, heads: int) -> np.ndarray:
    """The pseudo-channels of each head: head ``h`` owns ``h*d .. (h+1)*d - 1`` with ``d = width / heads``.

    Returns
    -------
    numpy.ndarray of int64, shape (heads, width // heads)
    """
    _check_heads(width, heads)
    return np.arange(width).reshape(heads, width // heads)


def random_head_groups(width: int, heads: int, n_groupings: int, seed: int = 0) -> np.ndarray:
    """Random groupings of the pseudo-channels into ``heads`` blocks of the heads' size (the baseline).

    Returns
    -------
    numpy.ndarray of int64, shape (n_groupings, heads, width // heads)
        Each grouping a partition of ``range(width)``.
    """
    _check_heads(width, heads)
    check_int("n_groupings", n_groupings, 1)
    rng = np.random.default_rng(check_int("seed", seed, 0))
    return np.stack([rng.permutation(width).reshape(heads, width // heads) for _ in range(n_groupings)])


def group_sums(values, groups) -> np.ndarray:
    """Sum pseudo-channel values within groups.

    Parameters
    ----------
    values : array or Tensor, shape (N, D)
        Per image and pseudo-channel (e.g. attention contributions summed over tokens).
    groups : array of int, shape (..., G, D // G)
        One grouping (G, D // G) or several (R, G, D // G).

    Returns
    -------
    numpy.ndarray, shape (..., N, G)
    """
    values, groups = _as_numpy(values), np.asarray(groups)
    if values.ndim != 2:
        raise ValueError(f"values: give (images, pseudo-channels), got shape {values.shape}")
    width = values.shape[1]
    if groups.ndim < 2 or groups.size != width * int(np.prod(groups.shape[:-2])) or not np.array_equal(
            np.sort(groups.reshape(-1, width), axis=1), np.broadcast_to(np.arange(width), (groups.size // width, width))):
        raise ValueError(f"groups: give groupings (..., G, D // G) that each partition the D = {width} pseudo-channels, "
                         f"got shape {groups.shape}")
    gathered = values[:, groups]  # (N, ..., G, d)
    return np.moveaxis(gathered.sum(-1), 0, -2)


def head_specialisation(values, heads: int, n_groupings: int = 20, seed: int = 0) -> dict:
    """Hoyer sparsity of each image's per-head sums against random groupings of the same size.

    Parameters
    ----------
    values : array or Tensor, shape (N, D)
        Per image and pseudo-channel of one attention layer (contributions summed over tokens).
    heads : int
        Heads of the layer (must divide D).
    n_groupings : int
        Random groupings of the baseline.
    seed : int

    Returns
    -------
    dict
        ``"heads"`` (N,): Hoyer sparsity of the per-head sums per image (NaN where all are 0);
        ``"random"`` (n_groupings, N): the same for each random grouping;
        ``"median_heads"``, ``"median_random"``: their medians over images (and groupings);
        ``"share_above"``: the share of images whose heads are sparser than the 95th percentile of
        that image's random groupings.
    """
    values = _as_numpy(values)
    check_int("n_groupings", n_groupings, 1)
    check_int("seed", seed, 0)
    sparsity = hoyer(group_sums(values, head_groups(values.shape[1], heads)), axis=-1)
    baseline = hoyer(group_sums(values, random_head_groups(values.shape[1], heads, n_groupings, seed)), axis=-1)
    with np.errstate(invalid="ignore"):
        above = sparsity > np.nanpercentile(baseline, 95, axis=0)
    return {"heads": sparsity, "random": baseline, "median_heads": float(np.nanmedian(sparsity)),
            "median_random": float(np.nanmedian(baseline)), "share_above": float(np.mean(above))}
