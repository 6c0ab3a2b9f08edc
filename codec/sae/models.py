"""The SAE modules. Every one maps a batch (B, F) to the triple ``(pre_codes, codes, reconstruction)``,
keeps its dictionary (M, F), and can ``encode`` data and ``decode`` any codes."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..checks import ArgumentTypeError, check_int, check_number


class SAEBase(nn.Module):
    """What every SAE here shares: the input scale, the dictionary in input units, the forward triple.

    A subclass defines ``forward_scaled`` (on data divided by ``input_scale``), ``decode_scaled``
    (codes to scaled data), ``project_``
    (its constraint, applied after each optimiser step) and ``initialize_`` (its start from the
    data), and keeps its dictionary in ``_dictionary`` (scaled units).
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("input_scale", torch.ones(()))

    @property
    def dictionary(self) -> torch.Tensor:
        """The modes, shape (n_modes, n_features), in units of the input."""
        return self._dictionary * self.input_scale

    @property
    def scaled_dictionary(self) -> torch.Tensor:
        """The dictionary parameter itself, (n_modes, n_features), in units of the scaled data."""
        return self._dictionary

    def check_rows(self, x, name: str = "x") -> torch.Tensor:
        """``x`` as a float tensor of rows (B, F) with this SAE's F = ``n_features`` (else a clear error)."""
        if not isinstance(x, torch.Tensor):
            raise ArgumentTypeError(f"{name}: must be a tensor of rows (B, {self.config['n_features']}), got {type(x).__name__}")
        if x.ndim != 2 or x.shape[1] != self.config["n_features"]:
            raise ValueError(f"{name}: this SAE reads rows of {self.config['n_features']} features (B, {self.config['n_features']}), "
                             f"got shape {tuple(x.shape)}")
        return x

    def forward(self, x: torch.Tensor):
        """Encode and reconstruct ``x`` of shape (B, F); returns (pre_codes, codes, reconstruction)."""
        pre_codes, codes, reconstruction = self.forward_scaled(self.check_rows(x) / self.input_scale)
        return pre_codes, codes, reconstruction * self.input_scale

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes (B, M) of data ``x`` (B, F) in input units."""
        return self.forward_scaled(self.check_rows(x) / self.input_scale)[1]

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Reconstruction (B, F), in input units, from codes (B, M) — any codes, e.g. one mode alone."""
        if not isinstance(codes, torch.Tensor) or codes.ndim != 2 or codes.shape[1] != self.config["n_modes"]:
            raise ValueError(f"codes: expected shape (B, {self.config['n_modes']}) (a tensor), got "
                             f"{tuple(codes.shape) if isinstance(codes, torch.Tensor) else type(codes).__name__}")
        return self.decode_scaled(codes) * self.input_scale


class _LinearDictionarySAE(SAEBase):
    """Decoding without a bias, ``codes @ dictionary``, and an optional non-negativity constraint
    (``self.nonnegative``): what :class:`ThresholdSAE` and :class:`STSAE` share."""

    def decode_scaled(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (B, M) to a reconstruction of the scaled data (B, F): ``codes @ dictionary``."""
        return codes @ self._dictionary

    @torch.no_grad()
    def project_(self) -> None:
        """Keep the dictionary non-negative when ``nonnegative``, in place."""
        if self.nonnegative:
            self._dictionary.clamp_(min=0)


class ThresholdSAE(_LinearDictionarySAE):
    """The paper's SAE: sigmoid encoder, hard threshold, (non-negative) dictionary.

    Parameters
    ----------
    n_features : int
        F, the width of the input rows.
    n_modes : int
        M, the number of modes (the paper: ``expansion × n_channels``; see :func:`n_modes_for`).
    hidden : int, optional
        Width of the encoder's hidden layer (default ``n_modes``).
    threshold : float
        Codes whose sigmoid output is at or below it are set to zero; in (0, 1), default 0.9.
    nonnegative : bool
        Keep the dictionary non-negative (projected after every optimiser step).
    seed : int
        Seed of the initialisation.
    """

    def __init__(self, n_features: int, n_modes: int, hidden: int | None = None, threshold: float = 0.9,
                 nonnegative: bool = True, seed: int = 0):
        super().__init__()
        _check_sizes(n_features, n_modes)
        if not (isinstance(threshold, (int, float)) and 0.0 < threshold < 1.0):
            raise ValueError(f"threshold: must lie in (0, 1) (codes are sigmoid outputs), got {threshold!r}")
        hidden = n_modes if hidden is None else hidden
        if not isinstance(hidden, int) or hidden < 1:
            raise ValueError(f"hidden: the encoder's hidden width must be a positive integer, got {hidden!r}")
        self.config = {"type": "threshold", "n_features": n_features, "n_modes": n_modes, "hidden": hidden,
                       "threshold": float(threshold), "nonnegative": bool(nonnegative), "seed": seed}
        generator = torch.Generator().manual_seed(check_int("seed", seed, 0))
        self.encoder = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, n_modes))
        for layer in (self.encoder[0], self.encoder[2]):
            bound = 1.0 / math.sqrt(layer.in_features)
            with torch.no_grad():
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.uniform_(-bound, bound, generator=generator)
        with torch.no_grad():
            self.encoder[2].bias.add_(math.log(threshold / (1.0 - threshold)))
        dictionary = torch.rand(n_modes, n_features, generator=generator) / math.sqrt(n_modes)
        self._dictionary = nn.Parameter(dictionary if nonnegative else dictionary - 0.5 / math.sqrt(n_modes))
        self.threshold = float(threshold)
        self.nonnegative = bool(nonnegative)

    def forward_scaled(self, scaled: torch.Tensor):
        """:meth:`forward` on data already divided by ``input_scale`` (reconstruction likewise)."""
        pre_codes = torch.sigmoid(self.encoder(scaled))
        codes = pre_codes * (pre_codes > self.threshold)
        return pre_codes, codes, self.decode_scaled(codes)

    @torch.no_grad()
    def initialize_(self, scaled: torch.Tensor, generator: torch.Generator) -> None:
        """Start the dictionary from data rows, divided by the number of codes that pass at the start.

        The first reconstructions then have the data's scale. With a data-blind start, about
        half of the modes pass and their sum overshoots the data by a large factor on dense
        matrices (summed activations); the gradient then pushes every code below the threshold
        at once, and a code below the threshold gets no gradient again: all modes die.
        """
        passing = (torch.sigmoid(self.encoder(scaled)) > self.threshold).float().sum(1).mean().clamp_min(1.0)
        rows = torch.randint(0, scaled.shape[0], (self._dictionary.shape[0],), generator=generator).to(scaled.device)
        self._dictionary.copy_(scaled[rows] / passing)
        self.project_()


class STSAE(_LinearDictionarySAE):
    """The SAE of the authors' released code (``bscope.STSAE``): a deeper encoder, a signed Xavier dictionary.

    Encoder: Linear(F → H) → Dropout → ReLU → LayerNorm(H) → Linear(H → H) → Dropout → ReLU →
    LayerNorm(H) → Linear(H → M, no bias) → sigmoid; a code passes where the sigmoid output is at
    least ``threshold`` (the gradient flows through the passing codes only, as in
    :class:`ThresholdSAE`); reconstruction ``codes @ dictionary``, no bias. The dictionary starts
    Xavier-uniform and is not constrained unless ``nonnegative``; :meth:`initialize_` keeps that
    start (the released code does not start from the data).

    Parameters
    ----------
    n_features, n_modes : int
    hidden : int
        H, the width of both hidden layers (the released ResNet-50 runs: 2048 at every layer).
    threshold : float
        In (0, 1); the released training script uses 0.8, the paper's text 0.9.
    dropout : float
        Dropout rate after each hidden linear layer (released: 0.05), active in training only.
    nonnegative : bool
        Project the dictionary onto non-negative values after each step (released: False).
    seed : int
    """

    def __init__(self, n_features: int, n_modes: int, hidden: int = 2048, threshold: float = 0.8, dropout: float = 0.05,
                 nonnegative: bool = False, seed: int = 0):
        super().__init__()
        _check_sizes(n_features, n_modes)
        if not (isinstance(threshold, (int, float)) and 0.0 < threshold < 1.0):
            raise ValueError(f"threshold: must lie in (0, 1) (codes are sigmoid outputs), got {threshold!r}")
        if not isinstance(hidden, int) or hidden < 1:
            raise ValueError(f"hidden: the encoder's hidden width must be a positive integer, got {hidden!r}")
        if not (isinstance(dropout, (int, float)) and 0.0 <= dropout < 1.0):
            raise ValueError(f"dropout: must lie in [0, 1), got {dropout!r}")
        self.config = {"type": "stsae", "n_features": n_features, "n_modes": n_modes, "hidden": hidden,
                       "threshold": float(threshold), "dropout": float(dropout), "nonnegative": bool(nonnegative), "seed": seed}
        generator = torch.Generator().manual_seed(check_int("seed", seed, 0))
        self.encoder = nn.Sequential(
            nn.Linear(n_features, hidden), nn.Dropout(dropout), nn.ReLU(), nn.LayerNorm(hidden),
            nn.Linear(hidden, hidden), nn.Dropout(dropout), nn.ReLU(), nn.LayerNorm(hidden),
            nn.Linear(hidden, n_modes, bias=False),
        )
        with torch.no_grad():
            for layer in self.encoder:
                if isinstance(layer, nn.Linear):  # torch's default initialisation, drawn from the seeded generator
                    bound = 1.0 / math.sqrt(layer.in_features)
                    layer.weight.uniform_(-bound, bound, generator=generator)
                    if layer.bias is not None:
                        layer.bias.uniform_(-bound, bound, generator=generator)
            bound = math.sqrt(6.0 / (n_modes + n_features))  # Xavier uniform
            dictionary = torch.empty(n_modes, n_features).uniform_(-bound, bound, generator=generator)
        self._dictionary = nn.Parameter(dictionary.clamp(min=0) if nonnegative else dictionary)
        self.threshold = float(threshold)
        self.nonnegative = bool(nonnegative)

    def forward_scaled(self, scaled: torch.Tensor):
        """:meth:`forward` on data already divided by ``input_scale`` (reconstruction likewise)."""
        pre_codes = torch.sigmoid(self.encoder(scaled))
        codes = pre_codes * (pre_codes >= self.threshold)
        return pre_codes, codes, self.decode_scaled(codes)

    @torch.no_grad()
    def initialize_(self, scaled: torch.Tensor, generator: torch.Generator) -> None:
        """Keep the Xavier start (the released code's)."""


class TopKSAE(SAEBase):
    """A TopK SAE (the field's baseline): ReLU encoder, ``k`` largest codes kept, linear decoder.

    Parameters
    ----------
    n_features, n_modes : int
    k : int
        Codes kept per row (1 ≤ k ≤ n_modes).
    seed : int
    """

    def __init__(self, n_features: int, n_modes: int, k: int = 8, seed: int = 0):
        super().__init__()
        _check_sizes(n_features, n_modes)
        check_int("k", k, 1, n_modes)
        self.config = {"type": "topk", "n_features": n_features, "n_modes": n_modes, "k": k, "seed": seed}
        generator = torch.Generator().manual_seed(check_int("seed", seed, 0))
        decoder = torch.randn(n_modes, n_features, generator=generator)
        decoder /= decoder.norm(dim=1, keepdim=True)
        self._dictionary = nn.Parameter(decoder)
        self.encoder_weight = nn.Parameter(decoder.T.clone())
        self.encoder_bias = nn.Parameter(torch.zeros(n_modes))
        self.decoder_bias = nn.Parameter(torch.zeros(n_features))
        self.k = k

    def forward_scaled(self, scaled: torch.Tensor):
        """:meth:`forward` on data already divided by ``input_scale`` (reconstruction likewise)."""
        pre_codes = torch.relu((scaled - self.decoder_bias) @ self.encoder_weight + self.encoder_bias)
        values, indices = pre_codes.topk(self.k, dim=1)
        codes = torch.zeros_like(pre_codes).scatter(1, indices, values)
        return pre_codes, codes, self.decode_scaled(codes)

    def decode_scaled(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (B, M) to a reconstruction of the scaled data (B, F), with the decoder bias."""
        return codes @ self._dictionary + self.decoder_bias

    @torch.no_grad()
    def project_(self) -> None:
        """Keep the decoder's rows at unit norm (the usual TopK SAE constraint), in place."""
        self._dictionary.div_(self._dictionary.norm(dim=1, keepdim=True).clamp_min(1e-12))

    @torch.no_grad()
    def initialize_(self, scaled: torch.Tensor, generator: torch.Generator) -> None:
        """Start the decoder bias at the data's mean (the encoder and the unit-norm decoder stay random)."""
        self.decoder_bias.copy_(scaled.mean(0))


def _check_sizes(n_features, n_modes):
    check_int("n_features", n_features, 1)
    check_int("n_modes", n_modes, 1)


def n_modes_for(n_channels: int, expansion: float = 3) -> int:
    """The paper's dictionary size: ``expansion × n_channels`` modes (at least 1)."""
    check_int("n_channels", n_channels, 1)
    check_number("expansion", expansion, above=0)
    return max(1, int(round(expansion * n_channels)))


#: config["type"] -> SAE class, for rebuilding saved SAEs
SAE_TYPES = {"threshold": ThresholdSAE, "stsae": STSAE, "topk": TopKSAE}


def build_sae(config: dict) -> nn.Module:
    """An SAE from its ``config`` dict (as saved by :func:`fit_sae`)."""
    if not isinstance(config, dict):
        raise ArgumentTypeError(f"config: must be an SAE's config dict (sae.config), got {type(config).__name__}")
    options = {k: v for k, v in config.items() if k != "type"}
    if config.get("type") not in SAE_TYPES:
        raise ValueError(f"config: unknown SAE type {config.get('type')!r}; expected one of {sorted(SAE_TYPES)}")
    try:
        return SAE_TYPES[config["type"]](**options)
    except TypeError as error:  # a field the SAE does not take
        raise ValueError(f"config: does not describe a {config['type']!r} SAE ({error})") from None
