"""A recording: stimulus movies and the ganglion cells' firing rates aligned with their windows.

Two sources give the same :class:`Recording`:

- :func:`simulate_recording`: the simulated retina (:mod:`codec.retina.circuit`) watching a
  training and a test movie, with Poisson spikes; it also keeps the noise-free rates and the
  cells' true types;
- :func:`load_recording`: a deep-retina HDF5 file (the layout of the published recordings:
  ``train/stimulus`` and ``test/stimulus`` ``(T, size, size)``, ``train/response/firing_rate_10ms``
  and ``test/response/firing_rate_10ms`` ``(n_cells, T)``).

Row ``t`` of a response matrix is the response at the last frame of window ``t`` (frames
``t ... t + frames − 1``), so a movie of ``T`` frames has ``T − frames + 1`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..checks import ArgumentTypeError, check_int, check_path
from .circuit import SimulatedRetina, poisson_spikes
from .stimuli import check_movie

__all__ = ["Recording", "simulate_recording", "load_recording", "save_recording_h5"]


@dataclass
class Recording:
    """Stimulus and responses of one recording, split into a training and a test part.

    Attributes
    ----------
    frames : int
        Frames per window (the model's input depth).
    bin_ms : float
    train_movie, test_movie : Tensor, shape (T, size, size)
    train_rates, test_rates : Tensor, shape (T - frames + 1, n_cells)
        Observed firing rates (Hz) at each window's last frame.
    cell_names : list of str
    true_train_rates, true_test_rates : Tensor or None
        Noise-free rates (simulations only).
    cell_types : numpy.ndarray of int or None
        The true type of each cell (simulations only), an index into ``type_names``.
    type_names : list of str
    """

    frames: int
    bin_ms: float
    train_movie: Tensor
    test_movie: Tensor
    train_rates: Tensor
    test_rates: Tensor
    cell_names: list
    true_train_rates: Tensor | None = None
    true_test_rates: Tensor | None = None
    cell_types: np.ndarray | None = None
    type_names: list = field(default_factory=list)

    def __post_init__(self):
        for part in ("train", "test"):
            movie = check_movie(getattr(self, f"{part}_movie"), f"{part}_movie")
            rates = getattr(self, f"{part}_rates")
            rows = movie.shape[0] - self.frames + 1
            if not isinstance(rates, Tensor) or rates.ndim != 2 or rates.shape[0] != rows:
                shape = tuple(rates.shape) if isinstance(rates, Tensor) else type(rates).__name__
                raise ValueError(f"{part}_rates: expected ({rows}, n_cells) for {movie.shape[0]} frames and windows of "
                                 f"{self.frames}, got {shape}")
        if self.train_rates.shape[1] != self.test_rates.shape[1] or len(self.cell_names) != self.train_rates.shape[1]:
            raise ValueError("cell_names: train, test and names must have the same number of cells")

    @property
    def n_cells(self) -> int:
        return self.train_rates.shape[1]

    @property
    def size(self) -> int:
        return self.train_movie.shape[1]


def simulate_recording(retina: SimulatedRetina, train_movie: Tensor, test_movie: Tensor, seed: int = 0) -> Recording:
    """The simulated retina's recording of two movies, with Poisson spikes.

    The observed rate of a bin is its spike count divided by the bin's duration (Hz); the
    noise-free rates and the true cell types are kept beside it.
    """
    if not isinstance(retina, SimulatedRetina):
        raise ArgumentTypeError(f"retina: must be a codec.retina.SimulatedRetina, got {type(retina).__name__}")
    check_int("seed", seed, 0)
    c = retina.config
    train_movie, test_movie = check_movie(train_movie, "train_movie"), check_movie(test_movie, "test_movie")
    for name, movie in (("train_movie", train_movie), ("test_movie", test_movie)):
        if movie.shape[1] != c.size:
            raise ValueError(f"{name}: frames of {movie.shape[1]} px, but the retina's are {c.size} px")
    true_train, true_test = retina.respond(train_movie), retina.respond(test_movie)
    to_rate = 1000.0 / c.bin_ms
    observed_train = poisson_spikes(true_train, c.bin_ms, seed=seed) * to_rate
    observed_test = poisson_spikes(true_test, c.bin_ms, seed=seed + 1) * to_rate
    names = [f"{retina.type_names[t]} {i % c.cells_per_type + 1}" for i, t in enumerate(retina.cell_types)]
    return Recording(c.frames, c.bin_ms, train_movie, test_movie, observed_train, observed_test, names,
                     true_train, true_test, retina.cell_types.copy(), list(retina.type_names))


def load_recording(path, frames: int = 40, response: str = "firing_rate_10ms", bin_ms: float = 10.0,
                   standardize: bool = True) -> Recording:
    """A deep-retina HDF5 recording.

    Parameters
    ----------
    path : path
        An ``.h5`` file with ``train/stimulus``, ``test/stimulus`` ``(T, size, size)`` and
        ``train/response/<response>``, ``test/response/<response>`` ``(n_cells, T)``.
    frames : int
        Frames per window (the published models: 40).
    response : str
        The response dataset (``"firing_rate_10ms"``, or ``"binned"`` spike counts).
    standardize : bool
        Standardise both movies with the training movie's mean and standard deviation; False
        keeps the file's values (for a checkpoint whose ``norm_stats`` do it).

    Returns
    -------
    Recording

    Raises
    ------
    ValueError
        When a dataset is missing or shapes disagree; the message names the dataset.
    """
    try:
        import h5py
    except ImportError as error:  # pragma: no cover - h5py is a dependency of the retina extra
        raise ImportError("load_recording needs h5py: pip install 'codec[retina]' (or pip install h5py)") from error
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"path: recording {str(path)!r} does not exist")
    parts = {}
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"path: {str(path)!r} is not an HDF5 file (h5py: {error}); give a deep-retina recording such as "
                         "15-10-07/naturalscene.h5") from None
    with handle as f:
        for part in ("train", "test"):
            for key in (f"{part}/stimulus", f"{part}/response/{response}"):
                if key not in f:
                    raise ValueError(f"path: {str(path)!r} has no dataset {key!r} (a deep-retina recording has "
                                     f"train/ and test/ groups with stimulus and response/{response})")
            stimulus = np.asarray(f[f"{part}/stimulus"], dtype=np.float32)
            rates = np.asarray(f[f"{part}/response/{response}"], dtype=np.float32)
            if stimulus.ndim != 3 or rates.ndim != 2 or rates.shape[1] != stimulus.shape[0]:
                raise ValueError(f"path: {part}/stimulus {stimulus.shape} and {part}/response/{response} {rates.shape} "
                                 "do not match: expected (T, size, size) and (n_cells, T)")
            parts[part] = (stimulus, rates)
    mean, std = (parts["train"][0].mean(), parts["train"][0].std()) if standardize else (0.0, 1.0)
    if std == 0:
        raise ValueError("path: the training stimulus is constant")
    if parts["train"][1].shape[0] != parts["test"][1].shape[0]:
        raise ValueError("path: train and test responses have different numbers of cells")
    movies = {part: torch.from_numpy((stimulus - mean) / std) for part, (stimulus, _) in parts.items()}
    rates = {part: torch.from_numpy(np.ascontiguousarray(r[:, frames - 1:].T)) for part, (_, r) in parts.items()}
    names = [f"cell {i}" for i in range(rates["train"].shape[1])]
    return Recording(frames, bin_ms, movies["train"], movies["test"], rates["train"], rates["test"], names)


def save_recording_h5(recording: Recording, path, response: str = "firing_rate_10ms") -> Path:
    """Write a recording in the deep-retina layout (:func:`load_recording` reads it back).

    The first ``frames − 1`` bins of each part, which no window ends on, get the first row's rates.
    """
    if not isinstance(recording, Recording):
        raise ArgumentTypeError(f"recording: must be a codec.retina.Recording, got {type(recording).__name__}")
    path = check_path("path", path)
    import h5py

    path = Path(path)
    with h5py.File(path, "w") as f:
        for part in ("train", "test"):
            movie = getattr(recording, f"{part}_movie").numpy()
            rates = getattr(recording, f"{part}_rates").numpy()
            padded = np.concatenate([np.repeat(rates[:1], recording.frames - 1, axis=0), rates]).T
            f[f"{part}/stimulus"] = movie
            f[f"{part}/response/{response}"] = padded
    return path
