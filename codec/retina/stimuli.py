"""Stimuli of the retina section: movies (frames × height × width) and their windows.

A **movie** is a float tensor ``(n_frames, size, size)`` of contrast values (zero mean, unit
standard deviation over the movie), one frame per time bin. The retina and its CNN model see a
**window**: the ``frames`` most recent frames before a time bin, ``(frames, size, size)``, oldest
first, so that window ``t`` of a movie is ``movie[t : t + frames]`` and its response is the one at
the window's last frame (the layout of the deep-retina recordings and models).

The two stimuli the field uses:

- :func:`white_noise`: a checkerboard (binary ±1, or Gaussian), a new random frame every ``hold`` bins;
- :func:`natural_movie`: views of still images with fixational jitter (a random walk of a pixel
  or so per bin) and saccade-like jumps to a new image and place every few hundred ms, the
  stimulus of Maheswaranathan et al. (2023). The images are the real ones of
  ``$CODEC_DATA_DIR`` (:func:`grey_images`) or, at the tiny scale, images that the project
  generates itself (:func:`generated_images`, 1/f noise: the power spectrum of natural images).

:class:`MovieWindows` is a dataset of a movie's windows for :func:`codec.store.compute_contributions`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from ..checks import check_int, check_number

__all__ = ["white_noise", "generated_images", "grey_images", "natural_movie", "standardize", "MovieWindows",
           "windows", "gather_windows", "check_movie"]


def _check_positive_int(name: str, value, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}: must be an integer >= {minimum}, got {value!r}")


def check_movie(movie, name: str = "movie") -> Tensor:
    """``movie`` as a float32 tensor ``(n_frames, size, size)``; anything else is a clear error."""
    if not isinstance(movie, (Tensor, np.ndarray)):
        raise TypeError(f"{name}: expected a tensor or array (n_frames, size, size), got {type(movie).__name__}")
    movie = torch.as_tensor(movie, dtype=torch.float32)
    if movie.ndim != 3 or movie.shape[1] != movie.shape[2]:
        raise ValueError(f"{name}: expected shape (n_frames, size, size) with square frames, got {tuple(movie.shape)}")
    if not torch.isfinite(movie).all():
        raise ValueError(f"{name}: holds NaN or infinite values")
    return movie


def standardize(movie: Tensor) -> Tensor:
    """Zero mean and unit standard deviation over the whole movie (contrast units)."""
    movie = check_movie(movie)
    std = movie.std()
    if std == 0:
        raise ValueError("movie: it is constant; a stimulus needs contrast")
    return (movie - movie.mean()) / std


def white_noise(n_frames: int, size: int = 50, checker: int = 1, hold: int = 1, distribution: str = "binary",
                seed: int = 0) -> Tensor:
    """A white-noise checkerboard movie.

    Parameters
    ----------
    n_frames : int
    size : int
        Side of a frame in pixels.
    checker : int
        Side of a checker in pixels (``size`` need not be a multiple: the edge checkers are cut).
    hold : int
        Bins each random frame is shown for.
    distribution : {"binary", "gaussian"}
        Each checker's value: ±1 with equal odds (the field's usual checkerboard), or standard
        normal (for which, with 1-pixel checkers, Stein's lemma makes the STA times the mean
        response equal to the mean gradient: :func:`codec.retina.spike_triggered_average`).
    seed : int

    Returns
    -------
    Tensor, shape (n_frames, size, size)
        Zero mean and unit variance per checker.
    """
    check_int("seed", seed, 0)
    for name, value in (("n_frames", n_frames), ("size", size), ("checker", checker), ("hold", hold)):
        _check_positive_int(name, value)
    generator = torch.Generator().manual_seed(seed)
    n_checks = -(-size // checker)
    n_random = -(-n_frames // hold)
    if distribution == "binary":
        frames = torch.randint(0, 2, (n_random, n_checks, n_checks), generator=generator).float() * 2 - 1
    elif distribution == "gaussian":
        frames = torch.randn(n_random, n_checks, n_checks, generator=generator)
    else:
        raise ValueError(f"distribution: must be 'binary' or 'gaussian', got {distribution!r}")
    frames = frames.repeat_interleave(checker, 1).repeat_interleave(checker, 2)[:, :size, :size]
    return frames.repeat_interleave(hold, 0)[:n_frames].contiguous()


def generated_images(n_images: int, size: int = 128, exponent: float = 1.0, seed: int = 0) -> Tensor:
    """Grey-scale images with a natural image's power spectrum, generated here (no files).

    Each image is Gaussian noise whose amplitude spectrum falls as ``1 / f**exponent`` (natural
    images: about 1), with a random phase, standardised.

    Returns
    -------
    Tensor, shape (n_images, size, size)
    """
    check_int("seed", seed, 0)
    _check_positive_int("n_images", n_images)
    _check_positive_int("size", size, 8)
    generator = torch.Generator().manual_seed(seed)
    fy = torch.fft.fftfreq(size).view(-1, 1)
    fx = torch.fft.rfftfreq(size).view(1, -1)
    radius = torch.sqrt(fx**2 + fy**2)
    radius[0, 0] = 1.0
    amplitude = radius ** (-exponent)
    amplitude[0, 0] = 0.0
    noise = torch.randn(n_images, size, size, generator=generator)
    spectrum = torch.fft.rfft2(noise) * amplitude
    images = torch.fft.irfft2(spectrum, s=(size, size))
    images = images - images.mean(dim=(1, 2), keepdim=True)
    return images / images.std(dim=(1, 2), keepdim=True)


def grey_images(root=None, n_images: int = 100, size: int = 128, seed: int = 0) -> Tensor:
    """Real photographs, grey-scale, centre-cropped and resized to ``size`` × ``size``.

    Parameters
    ----------
    root : path, optional
        A folder of JPEG images, searched recursively (default: ``$CODEC_DATA_DIR``). The
        images are chosen at random (``seed``) among all found.
    n_images : int

    Returns
    -------
    Tensor, shape (n_images, size, size)
        Each image standardised (zero mean, unit standard deviation).
    """
    check_int("seed", seed, 0)
    import os

    from PIL import Image

    _check_positive_int("n_images", n_images)
    if root is None:
        root = os.environ.get("CODEC_DATA_DIR") or None
    if root is None:
        raise ValueError("root: no image folder given and $CODEC_DATA_DIR is not set; set it to the folder of the "
                         "real images (../shared/assets on the project's machines) or use generated_images()")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"root: {str(root)!r} is not a folder")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".jpeg", ".jpg", ".png"))
    if len(files) < n_images:
        raise ValueError(f"n_images: asked for {n_images} images but {str(root)!r} holds {len(files)}")
    chosen = np.random.default_rng(seed).choice(len(files), size=n_images, replace=False)
    images = []
    for index in sorted(chosen):
        with Image.open(files[index]) as image:
            grey = image.convert("L")
            side = min(grey.size)
            left, top = (grey.size[0] - side) // 2, (grey.size[1] - side) // 2
            grey = grey.crop((left, top, left + side, top + side)).resize((size, size), Image.BILINEAR)
            array = torch.from_numpy(np.asarray(grey, dtype=np.float32))
        std = array.std()
        images.append((array - array.mean()) / (std if std > 0 else 1.0))
    return torch.stack(images)


def natural_movie(images: Tensor, n_frames: int, size: int = 50, saccade_every: tuple[int, int] = (20, 50),
                  jitter: float = 1.0, seed: int = 0) -> Tensor:
    """A movie of views of still images with fixational jitter and saccades.

    The view, ``size`` × ``size`` pixels, rests on one image and drifts by a random walk of
    ``jitter`` pixels (standard deviation per bin, rounded to whole pixels); after a fixation of a
    random length in ``saccade_every`` bins it jumps to a random place of a random image.

    Parameters
    ----------
    images : Tensor, shape (n_images, H, W)
        Grey-scale images larger than ``size`` (:func:`grey_images`, :func:`generated_images`).
    n_frames : int
    size : int
    saccade_every : (int, int)
        Shortest and longest fixation, in bins (at 10 ms bins, 200–500 ms).
    jitter : float
    seed : int

    Returns
    -------
    Tensor, shape (n_frames, size, size)
        Standardised over the movie.
    """
    check_number("jitter", jitter, minimum=0)
    check_int("seed", seed, 0)
    if not isinstance(images, Tensor) or images.ndim != 3:
        raise ValueError(f"images: expected a tensor (n_images, H, W), got "
                         f"{tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__}")
    _check_positive_int("n_frames", n_frames)
    _check_positive_int("size", size)
    height, width = images.shape[1:]
    if height <= size or width <= size:
        raise ValueError(f"size: the view ({size} px) must be smaller than the images ({height}×{width})")
    low, high = saccade_every
    if not (1 <= low <= high):
        raise ValueError(f"saccade_every: must be (shortest, longest) with 1 <= shortest <= longest, got {saccade_every!r}")
    rng = np.random.default_rng(seed)
    frames = torch.empty(n_frames, size, size)
    t = 0
    while t < n_frames:
        image = images[rng.integers(len(images))]
        row, col = rng.integers(0, height - size + 1), rng.integers(0, width - size + 1)
        for _ in range(int(rng.integers(low, high + 1))):
            if t == n_frames:
                break
            row = int(np.clip(row + np.rint(rng.normal(0, jitter)), 0, height - size))
            col = int(np.clip(col + np.rint(rng.normal(0, jitter)), 0, width - size))
            frames[t] = image[row:row + size, col:col + size]
            t += 1
    return standardize(frames)


def windows(movie: Tensor, frames: int, start: int = 0, stop: int | None = None) -> Tensor:
    """The windows ``start`` ... ``stop - 1`` of a movie, as a view ``(n, frames, size, size)``.

    Window ``t`` is ``movie[t : t + frames]`` (oldest frame first); a movie of ``n_frames`` has
    ``n_frames - frames + 1`` windows.
    """
    movie = check_movie(movie)
    _check_positive_int("frames", frames)
    n = movie.shape[0] - frames + 1
    if n < 1:
        raise ValueError(f"movie: {movie.shape[0]} frames hold no window of {frames} frames")
    stop = n if stop is None else stop
    if not (0 <= start < stop <= n):
        raise ValueError(f"start, stop: must satisfy 0 <= start < stop <= {n} (the movie's windows), got {start}, {stop}")
    return movie[start:stop + frames - 1].unfold(0, frames, 1).permute(0, 3, 1, 2)


def gather_windows(movie: Tensor, frames: int, times) -> Tensor:
    """The windows at any window indices ``times`` (a copy, ``(len(times), frames, size, size)``)."""
    check_int("frames", frames, 1)
    times = torch.as_tensor(times, dtype=torch.int64)
    return movie[times.view(-1, 1) + torch.arange(frames)]


class MovieWindows(torch.utils.data.Dataset):
    """A movie's windows as a dataset: item ``i`` is window ``indices[i]`` (``(frames, size, size)``).

    It follows :mod:`codec.data`'s protocol (items with ``image`` and ``label``, an
    ``identity()`` for stores), so :func:`codec.store.compute_contributions` computes the
    contributions of a model's layers for each window. The windows are model inputs already
    (``transform`` is the identity); the label is 0 (a movie has no classes).

    Parameters
    ----------
    movie : Tensor, shape (n_frames, size, size)
    frames : int
        Frames per window (the model's input depth).
    indices : sequence of int, optional
        Which windows (default: all).
    name : str
        Names the movie in the identity (with a digest of its values).
    """

    def __init__(self, movie: Tensor, frames: int, indices: Sequence[int] | None = None, name: str = "movie"):
        self.movie = check_movie(movie)
        _check_positive_int("frames", frames)
        n = self.movie.shape[0] - frames + 1
        if n < 1:
            raise ValueError(f"movie: {self.movie.shape[0]} frames hold no window of {frames} frames")
        self.frames = frames
        self.indices = np.arange(n) if indices is None else np.asarray(indices, dtype=np.int64)
        if self.indices.ndim != 1 or len(self.indices) == 0 or self.indices.min() < 0 or self.indices.max() >= n:
            raise ValueError(f"indices: must be window indices in [0, {n}), got {len(self.indices)} values")
        self.name = name
        self.transform = lambda window: window

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        from ..data import Item

        t = int(self.indices[i])
        return Item(self.movie[t:t + self.frames], 0, {"window": t})

    def identity(self) -> dict:
        import hashlib

        digest = hashlib.sha256(self.movie.numpy().tobytes()).hexdigest()[:16]
        index_digest = hashlib.sha256(self.indices.tobytes()).hexdigest()[:16]
        return {"name": self.name, "movie": digest, "frames": self.frames, "n_windows": len(self.indices),
                "windows": index_digest}
