"""What the authors show of a map: :func:`display_mask` takes ``|C|``, median-filters each colour
channel (size 4), averages the colour channels, scales to [0, 1], multiplies by a contrast of 7
and clips, and :func:`masked_image` uses the result as a mask on the image.
"""

from __future__ import annotations

import numpy as np
from torch import Tensor

from ..checks import check_choice, check_int, check_number

#: The authors' display settings (released code of Fig. 7): median filter size and contrast.
PAPER_FILTER_SIZE = 4
PAPER_CONTRAST = 7.0


def checked_maps(maps, name: str = "maps") -> np.ndarray:
    """Maps (or images) as a numpy array of shape (..., colours, H, W); ``name`` is the
    argument named in the error for anything else."""
    maps = maps.detach().cpu().numpy() if isinstance(maps, Tensor) else np.asarray(maps)
    if maps.ndim < 3:
        raise ValueError(f"{name}: shape {maps.shape}; give maps (..., colours, H, W)")
    return maps


#: how :func:`display_mask` scales maps to [0, 1]: each map from its own minimum to its maximum (the
#: authors'), or all the maps of one call on one scale
DISPLAY_SCALES = ("each", "shared")


def display_mask(maps, filter_size: int = PAPER_FILTER_SIZE, contrast: float = PAPER_CONTRAST, scale: str = "each") -> np.ndarray:
    """The authors' display of a map: ``|map|`` median-filtered per colour channel, averaged over
    colours, scaled to [0, 1] (min to max, per map), times ``contrast``, clipped to [0, 1].

    The median filter treats the border as scipy's default does (``mode="reflect"``), as the
    authors' call ``median_filter(mask[:, :, c], size=filter_size)`` in
    ``figures/figure_7_visualization/visualize_modes.py`` of ``baccuslab/CODEC_ICLR_2026``.

    With the authors' per-map scaling every map reaches 1 somewhere and, times a contrast of 7,
    most of an image is at full brightness: two maps of very different size look alike. With
    ``scale="shared"`` all the maps of the call share one scale (the smallest and largest value
    over all of them), so that a map whose contributions are small is dim beside a large one.

    Parameters
    ----------
    maps : array or Tensor, shape (..., 3, H, W)
    filter_size : int
        Side of the median filter (1: none); the authors: 4.
    contrast : float
        The authors: 7 (6 in some panels).
    scale : {"each", "shared"}
        ``"each"``: every map from its own minimum to its maximum (the authors'); ``"shared"``: one
        scale for all the maps given.

    Returns
    -------
    numpy.ndarray, shape (..., H, W), in [0, 1]
    """
    from scipy.ndimage import median_filter

    maps = np.abs(checked_maps(maps))
    check_int("filter_size", filter_size, 1)
    contrast = check_number("contrast", contrast, above=0)
    check_choice("scale", scale, DISPLAY_SCALES)
    size = [1] * (maps.ndim - 2) + [filter_size, filter_size]
    filtered = median_filter(maps, size=size) if filter_size > 1 else maps
    mean = filtered.mean(axis=-3)
    axes = (-2, -1) if scale == "each" else None
    low = mean.min(axis=axes, keepdims=True)
    span = mean.max(axis=axes, keepdims=True) - low
    scaled = np.divide(mean - low, span, out=np.zeros_like(mean), where=span > 0)
    return np.clip(scaled * contrast, 0.0, 1.0)


def masked_image(picture, mask) -> np.ndarray:
    """A displayable image (H, W, 3) in [0, 1] (``ModelEntry.to_image``) times a mask (H, W) in [0, 1]: (H, W, 3)."""
    picture, mask = np.asarray(picture), np.asarray(mask)
    if picture.ndim != 3 or picture.shape[2] != 3 or mask.shape != picture.shape[:2]:
        raise ValueError(f"picture, mask: give a picture (H, W, 3) and a mask (H, W) of the same size; got {picture.shape} and {mask.shape}")
    return np.clip(picture, 0, 1) * mask[..., None]
