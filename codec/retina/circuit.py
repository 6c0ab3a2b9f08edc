"""A simulated retina whose wiring is known: the ground truth of the retina section.

The paper analyses a CNN fitted to recordings of salamander ganglion cells, whose circuit is
known only in part. Here the recording comes from a circuit model with known cell types, so that
what CODEC finds in a CNN fitted to it can be scored against the truth:

1. **Bipolar pathways** (subunits on every pixel): a temporal filter over the window's frames
   (biphasic for transient pathways, monophasic for the sustained one), a centre–surround
   spatial filter (difference of Gaussians), the pathway's sign (ON +, OFF −) and half-wave
   rectification. Three pathways: ON transient, OFF transient, OFF sustained.
2. **Amacrine inhibition**: a wide Gaussian pool of the two transient pathways, subtracted from
   the transient ganglion cells' drive.
3. **Ganglion cells** of four types, ``cells_per_type`` each, at random places of the central
   part of the frame: each pools its type's pathways with a Gaussian weight around its place
   (ON transient: ON transient; OFF transient: OFF transient; OFF sustained: OFF sustained;
   ON–OFF: both transient pathways), minus amacrine inhibition for the transient types, and a
   softplus turns the drive into a firing rate (Hz). :func:`poisson_spikes` draws spikes.

The model is an ``nn.Module`` of a window ``(B, frames, size, size)`` (oldest frame first, as
in :mod:`codec.retina.stimuli`), so its gradient with respect to the window is each cell's true
instantaneous receptive field (IRF). Every parameter is a field of :class:`CircuitConfig`; the
cells' places come from its ``seed``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor, nn

from ..checks import ArgumentTypeError, check_int, check_number

__all__ = ["CircuitConfig", "SimulatedRetina", "PATHWAYS", "CELL_TYPES", "poisson_spikes", "temporal_filter", "gaussian_map"]

#: name -> (sign, kinetics) of the bipolar pathways
#: (the sustained pathway at half amplitude: its monophasic filter passes a still image's mean)
PATHWAYS = {"ON transient": (1.0, "transient"), "OFF transient": (-1.0, "transient"), "OFF sustained": (-0.5, "sustained")}
#: ganglion type -> (pathways it pools, whether amacrine cells inhibit it)
CELL_TYPES = {
    "ON transient": (("ON transient",), True),
    "OFF transient": (("OFF transient",), True),
    "OFF sustained": (("OFF sustained",), False),
    "ON-OFF": (("ON transient", "OFF transient"), True),
}


@dataclass(frozen=True)
class CircuitConfig:
    """Parameters of :class:`SimulatedRetina` (lengths in pixels, times in ms).

    Attributes
    ----------
    frames, size : int
        The window: frames per window, side of a frame.
    bin_ms : float
        Duration of one frame (time bin).
    cells_per_type : int
        Ganglion cells of each of the four types.
    transient_tau, sustained_tau : float
        Time constants of the gamma-shaped temporal filters; a transient filter is a fast lobe
        minus ``transient_rebound`` times a lobe twice as slow.
    center_sigma, surround_sigma, surround_weight : float
        The bipolar pathways' difference of Gaussians (the surround's share of the centre's mass).
    pool_sigma : float
        Width of a ganglion cell's Gaussian pool of its pathways.
    amacrine_sigma, amacrine_weight : float
        Width and strength of the amacrine inhibition of the transient types.
    gain, threshold, max_rate : float
        rate = ``max_rate · softplus(gain · (drive − threshold)) / log 2``: ``max_rate`` Hz at a
        drive at threshold, near zero well below it, growing linearly above it.
    seed : int
        Places of the cells.
    """

    frames: int = 40
    size: int = 50
    bin_ms: float = 10.0
    cells_per_type: int = 4
    transient_tau: float = 18.0
    transient_rebound: float = 0.8
    sustained_tau: float = 35.0
    center_sigma: float = 1.2
    surround_sigma: float = 3.5
    surround_weight: float = 0.7
    pool_sigma: float = 3.0
    amacrine_sigma: float = 8.0
    amacrine_weight: float = 0.3
    gain: float = 8.0
    threshold: float = 0.3
    max_rate: float = 10.0
    seed: int = 0

    def __post_init__(self):
        for name in ("frames", "size", "cells_per_type"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: must be an integer >= 1, got {value!r}")
        for name in ("bin_ms", "transient_tau", "sustained_tau", "center_sigma", "surround_sigma", "pool_sigma",
                     "amacrine_sigma", "gain", "max_rate"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be positive, got {getattr(self, name)!r}")


def temporal_filter(kind: str, frames: int, bin_ms: float, tau: float, rebound: float = 0.8) -> Tensor:
    """A pathway's temporal filter over a window's frames (oldest first), unit L2 norm.

    ``"sustained"``: a gamma lobe ``(s/τ)³ exp(−s/τ)`` of the lag ``s`` (ms before the window's
    last frame); ``"transient"``: that lobe minus ``rebound`` times a lobe of time constant 2τ.

    Returns
    -------
    Tensor, shape (frames,)
    """
    check_int("frames", frames, 1)
    check_number("bin_ms", bin_ms, above=0)
    check_number("tau", tau, above=0)
    lag = (frames - 1 - torch.arange(frames, dtype=torch.float64)) * bin_ms + bin_ms / 2

    def lobe(t):
        shape = (lag / t) ** 3 * torch.exp(-lag / t)
        return shape / shape.sum()

    if kind == "sustained":
        values = lobe(tau)
    elif kind == "transient":
        values = lobe(tau) - rebound * lobe(2 * tau)
    else:
        raise ValueError(f"kind: must be 'transient' or 'sustained', got {kind!r}")
    return (values / values.norm()).float()


def gaussian_map(size: int, sigma: float, center=None) -> Tensor:
    """A 2-D Gaussian of width ``sigma`` on a ``size`` × ``size`` grid, summing to 1, float64.

    ``center``: its (row, column); default the grid's middle.
    """
    check_int("size", size, 1)
    check_number("sigma", sigma, above=0)
    coords = torch.arange(size, dtype=torch.float64)
    cy, cx = center if center is not None else ((size - 1) / 2, (size - 1) / 2)
    g = torch.exp(-((coords.view(-1, 1) - cy) ** 2 + (coords.view(1, -1) - cx) ** 2) / (2 * sigma**2))
    return g / g.sum()


class SimulatedRetina(nn.Module):
    """The circuit of :mod:`codec.retina.circuit`: windows to ganglion-cell firing rates.

    Parameters
    ----------
    config : CircuitConfig

    Attributes
    ----------
    cell_types : numpy.ndarray of int, shape (n_cells,)
        Each cell's type, an index into :attr:`type_names`.
    type_names : list of str
    positions : numpy.ndarray, shape (n_cells, 2)
        (row, column) of each cell's pool centre.
    """

    def __init__(self, config: CircuitConfig | None = None):
        super().__init__()
        if config is not None and not isinstance(config, CircuitConfig):
            raise ArgumentTypeError(f"config: must be a codec.retina.CircuitConfig, got {type(config).__name__}")
        self.config = config = config or CircuitConfig()
        self.type_names = list(CELL_TYPES)
        self.pathway_names = list(PATHWAYS)
        filters = [temporal_filter(kinetics, config.frames, config.bin_ms,
                                   config.transient_tau if kinetics == "transient" else config.sustained_tau,
                                   config.transient_rebound) * sign
                   for sign, kinetics in PATHWAYS.values()]
        self.register_buffer("temporal", torch.stack(filters))  # (P, frames)
        half = int(math.ceil(3 * config.surround_sigma))
        k = 2 * half + 1
        dog = gaussian_map(k, config.center_sigma) - config.surround_weight * gaussian_map(k, config.surround_sigma)
        self.register_buffer("spatial", dog.float().expand(len(PATHWAYS), 1, k, k).clone())  # (P, 1, k, k)
        rng = np.random.default_rng(config.seed)
        n_types = len(CELL_TYPES)
        self.cell_types = np.repeat(np.arange(n_types), config.cells_per_type)
        low, high = config.size * 0.3, config.size * 0.7 - 1
        self.positions = rng.uniform(low, high, size=(len(self.cell_types), 2))
        pools = torch.stack([gaussian_map(config.size, config.pool_sigma, tuple(p)) for p in self.positions]).float()
        self.register_buffer("pools", pools)  # (n_cells, size, size)
        membership = torch.zeros(len(self.cell_types), len(PATHWAYS))
        inhibited = torch.zeros(len(self.cell_types))
        for cell, type_index in enumerate(self.cell_types):
            pathways, amacrine = CELL_TYPES[self.type_names[type_index]]
            for name in pathways:
                membership[cell, self.pathway_names.index(name)] = 1.0
            inhibited[cell] = float(amacrine)
        self.register_buffer("membership", membership)  # (n_cells, P)
        self.register_buffer("inhibited", inhibited)  # (n_cells,)
        a_half = int(math.ceil(3 * config.amacrine_sigma))
        self.register_buffer("amacrine_kernel", gaussian_map(2 * a_half + 1, config.amacrine_sigma).float().view(1, 1, 2 * a_half + 1, -1))
        self.register_buffer("transient", torch.tensor([kinetics == "transient" for _, kinetics in PATHWAYS.values()],
                                                       dtype=torch.float32))

    @property
    def n_cells(self) -> int:
        return len(self.cell_types)

    def describe(self) -> dict:
        """The configuration, the cells' types and places, as JSON-able values."""
        return {"config": asdict(self.config), "cell_types": [self.type_names[t] for t in self.cell_types],
                "positions": np.round(self.positions, 2).tolist()}

    def bipolar(self, windows: Tensor) -> Tensor:
        """The rectified bipolar pathways at the window's last frame, ``(B, P, size, size)``."""
        self._check(windows)
        drive = torch.einsum("btyx,pt->bpyx", windows, self.temporal)
        pad = self.spatial.shape[-1] // 2
        drive = nn.functional.conv2d(nn.functional.pad(drive, (pad,) * 4, mode="replicate"), self.spatial,
                                     groups=drive.shape[1])
        return torch.relu(drive)

    def _pooled(self, bipolar: Tensor) -> Tensor:
        return torch.einsum("bpyx,cyx->bcp", bipolar, self.pools) * self.membership

    def pathway_drive(self, windows: Tensor) -> Tensor:
        """Each cell's excitatory input from each bipolar pathway at the window's last frame.

        Parameters
        ----------
        windows : Tensor, shape (B, frames, size, size)

        Returns
        -------
        Tensor, shape (B, n_cells, P)
            The cell's Gaussian pool of the rectified pathway (zero for pathways its type does
            not pool), before amacrine inhibition; the pathways are :attr:`pathway_names`.
        """
        return self._pooled(self.bipolar(windows))

    def forward(self, windows: Tensor) -> Tensor:
        """Firing rates (Hz) of the ganglion cells at each window's last frame.

        Parameters
        ----------
        windows : Tensor, shape (B, frames, size, size)

        Returns
        -------
        Tensor, shape (B, n_cells)
            ``max_rate · softplus(gain · (drive − threshold)) / log 2`` with drive the
            cell's pooled pathways minus its amacrine inhibition.
        """
        bipolar = self.bipolar(windows)
        drive = self._pooled(bipolar).sum(-1)
        transient = (bipolar * self.transient.view(1, -1, 1, 1)).sum(1, keepdim=True)
        pad = self.amacrine_kernel.shape[-1] // 2
        amacrine = nn.functional.conv2d(nn.functional.pad(transient, (pad,) * 4, mode="replicate"), self.amacrine_kernel)[:, 0]
        drive = drive - self.config.amacrine_weight * self.inhibited * torch.einsum("byx,cyx->bc", amacrine, self.pools)
        c = self.config
        return c.max_rate * nn.functional.softplus(c.gain * (drive - c.threshold)) / math.log(2.0)

    def _check(self, windows: Tensor) -> None:
        c = self.config
        if not isinstance(windows, Tensor) or windows.ndim != 4 or tuple(windows.shape[1:]) != (c.frames, c.size, c.size):
            shape = tuple(windows.shape) if isinstance(windows, Tensor) else type(windows).__name__
            raise ValueError(f"windows: the simulated retina takes (B, {c.frames}, {c.size}, {c.size}) "
                             f"(frames, size of its CircuitConfig), got {shape}")

    @torch.no_grad()
    def respond(self, movie: Tensor, batch_size: int = 256) -> Tensor:
        """Firing rates at every window of a movie.

        Parameters
        ----------
        movie : Tensor, shape (n_frames, size, size)

        Returns
        -------
        Tensor, shape (n_frames - frames + 1, n_cells)
            Row ``t``: the rates at the last frame of window ``t``.
        """
        from .stimuli import windows

        n = movie.shape[0] - self.config.frames + 1
        if n < 1:
            raise ValueError(f"movie: {movie.shape[0]} frames hold no window of {self.config.frames} frames")
        return torch.cat([self(windows(movie, self.config.frames, start, min(start + batch_size, n)))
                          for start in range(0, n, batch_size)])


def poisson_spikes(rates: Tensor, bin_ms: float, seed: int = 0) -> Tensor:
    """Spike counts per bin drawn from rates (Hz): ``Poisson(rate · bin_ms / 1000)``.

    Returns
    -------
    Tensor, shape like ``rates``
    """
    check_number("bin_ms", bin_ms, above=0)
    check_int("seed", seed, 0)
    if not isinstance(rates, Tensor) or (rates < 0).any() or not torch.isfinite(rates).all():
        raise ValueError("rates: must be a tensor of finite, non-negative firing rates (Hz)")
    generator = torch.Generator().manual_seed(seed)
    return torch.poisson(rates * (bin_ms / 1000.0), generator=generator)
