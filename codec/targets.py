"""Scalar targets of a network's output.

A target maps a batch of outputs ``(N, ...)`` to one number per row ``(N,)``. Targets that
pick classes (top-1, top-k, contrastive) pick them **once, at the input**, through
:meth:`Target.choose`; along an integration path the same classes are then evaluated at
every step, never re-chosen.

Specifications accepted by :func:`as_target` (and by ``codec.contributions(target=...)``):

========================  =================================================================
``"top1"``                logit (or probability) of the class predicted at the input
``("topk", k)``           sum over the k classes ranked highest at the input
``("class", idx)``        a given class: an int for all inputs, or one index per input
``"entropy"``             entropy of the softmax distribution, ``-sum p log p``
``"contrastive"``         top-1 minus top-2 (classes ranked at the input)
``"max"``                 the largest output, re-chosen at every point (the authors' released
                          code): along a path it may switch class, so completeness holds for
                          ``max y(x) - max y(x')`` and a contribution may mix two classes
``surprisal(mean, cov)``  ``0.5 (y - mean)^T cov^-1 (y - mean)`` for population responses
any callable              ``f(outputs (N, ...)) -> (N,)``
========================  =================================================================
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from .checks import ArgumentTypeError, check_array


class Target:
    """Base class: a scalar function of the output, possibly with classes chosen at the input."""

    name = "target"
    #: True when the target already works on the softmax distribution (softmax=True is refused).
    uses_distribution = False

    def choose(self, output: Tensor, input_index: Tensor) -> Tensor | None:
        """State fixed at the input (e.g. the chosen classes).

        Parameters
        ----------
        output : Tensor, shape (n, ...)
            Outputs at the inputs themselves.
        input_index : Tensor of int64, shape (n,)
            Position of each of these inputs in the user's batch.

        Returns
        -------
        Tensor, shape (n, ...), or None
        """
        return None

    def __call__(self, output: Tensor, state: Tensor | None) -> Tensor:
        """Evaluate the target: ``output (n, ...)`` and ``state (n, ...)`` to ``(n,)``."""
        raise NotImplementedError

    def describe(self) -> str:
        return self.name


def _check_classes(output: Tensor, name: str) -> None:
    if output.ndim != 2:
        raise ValueError(
            f"target: {name!r} needs class scores of shape (N, classes); the model output has "
            f"shape {tuple(output.shape)}. Use a callable target for other outputs."
        )


class TopK(Target):
    """Sum of the ``k`` highest-ranked outputs at the input (``k=1``: top-1)."""

    def __init__(self, k: int = 1):
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"target: ('topk', k) needs an integer k >= 1, got {k!r}")
        self.k = k
        self.name = "top1" if k == 1 else f"top{k}"

    def choose(self, output, input_index):
        _check_classes(output, self.name)
        if self.k > output.shape[1]:
            raise ValueError(
                f"target: ('topk', {self.k}) asks for more classes than the output has "
                f"({output.shape[1]})"
            )
        return output.topk(self.k, dim=1).indices

    def __call__(self, output, state):
        return output.gather(1, state).sum(dim=1)


class ClassTarget(Target):
    """The output of a given class, one index for all inputs or one per input."""

    def __init__(self, index):
        if isinstance(index, str):
            raise ValueError(f"target: ('class', idx) needs an int or a 1-D sequence of ints (one per input), got {index!r}")
        try:
            index = torch.as_tensor(index)
        except (TypeError, ValueError, RuntimeError):
            raise ValueError(f"target: ('class', idx) needs an int or a 1-D sequence of ints (one per input), got {index!r}") from None
        if index.dtype.is_floating_point or index.dtype == torch.bool or index.ndim > 1:
            raise ValueError(
                "target: ('class', idx) needs an int or a 1-D sequence of ints (one per input), "
                f"got {index!r}"
            )
        if (index < 0).any():
            raise ValueError(f"target: class indices must be >= 0, got {index.tolist()}")
        self.index = index.long()
        self.name = "class"

    def check_batch(self, n_inputs: int) -> None:
        if self.index.ndim == 1 and self.index.numel() != n_inputs:
            raise ValueError(
                f"target: ('class', idx) got {self.index.numel()} indices for {n_inputs} inputs; "
                "give one int for all inputs or exactly one index per input"
            )

    def choose(self, output, input_index):
        _check_classes(output, "class")
        index = self.index.to(output.device)
        index = index.expand(len(input_index)) if index.ndim == 0 else index[input_index]
        if (index >= output.shape[1]).any():
            raise ValueError(
                f"target: class index {int(index.max())} is out of range for an output with "
                f"{output.shape[1]} classes"
            )
        return index[:, None]

    def __call__(self, output, state):
        return output.gather(1, state)[:, 0]


class Contrastive(Target):
    """Top-1 minus top-2 output, both classes ranked at the input."""

    name = "contrastive"

    def choose(self, output, input_index):
        _check_classes(output, self.name)
        if output.shape[1] < 2:
            raise ValueError("target: 'contrastive' needs at least two classes")
        return output.topk(2, dim=1).indices

    def __call__(self, output, state):
        picked = output.gather(1, state)
        return picked[:, 0] - picked[:, 1]


class MaxOutput(Target):
    """The largest output of each row, taken at every evaluation (no class fixed at the input)."""

    name = "max"

    def __call__(self, output, state):
        _check_classes(output, self.name)
        return output.max(dim=1).values


class Entropy(Target):
    """Entropy ``-sum p log p`` of ``softmax(output)`` over the last dimension (nats)."""

    name = "entropy"
    uses_distribution = True

    def __call__(self, output, state):
        _check_classes(output, self.name)
        log_p = torch.log_softmax(output, dim=1)
        return -(log_p.exp() * log_p).sum(dim=1)


class Surprisal(Target):
    """Surprisal of a population response, ``0.5 (y - mean)^T cov^-1 (y - mean)``.

    Parameters
    ----------
    mean : Tensor, shape (D,)
        Mean response (e.g. over a stimulus set).
    covariance : Tensor, shape (D, D)
        Symmetric positive-definite covariance of the responses.
    """

    name = "surprisal"

    def __init__(self, mean, covariance):
        mean = torch.as_tensor(check_array("mean", mean, finite=True), dtype=torch.float64)
        covariance = torch.as_tensor(check_array("covariance", covariance, finite=True), dtype=torch.float64)
        if mean.ndim != 1:
            raise ValueError(f"mean: the surprisal's mean must be 1-D (D,), got shape {tuple(mean.shape)}")
        d = mean.shape[0]
        if covariance.shape != (d, d):
            raise ValueError(
                f"covariance: the surprisal's covariance must be ({d}, {d}) to match mean, got {tuple(covariance.shape)}"
            )
        if not torch.allclose(covariance, covariance.T, rtol=1e-6, atol=1e-10):
            raise ValueError("covariance: the surprisal's covariance must be symmetric")
        chol, info = torch.linalg.cholesky_ex(covariance)
        if info != 0:
            raise ValueError(
                "covariance: the surprisal's covariance is not positive definite; add a small ridge, e.g. "
                "cov + 1e-6 * I"
            )
        self.mean = mean
        self.chol = chol

    def setting(self) -> list:
        """``["surprisal", digest]``: how a store records this target (a digest of μ and Σ)."""
        import hashlib

        digest = hashlib.sha256(self.mean.numpy().tobytes() + (self.chol @ self.chol.T).numpy().tobytes()).hexdigest()[:16]
        return ["surprisal", digest]

    def __call__(self, output, state):
        if output.ndim != 2 or output.shape[1] != self.mean.shape[0]:
            raise ValueError(
                f"target: surprisal expects outputs (N, {self.mean.shape[0]}), got "
                f"{tuple(output.shape)}"
            )
        mean = self.mean.to(device=output.device, dtype=output.dtype)
        chol = self.chol.to(device=output.device, dtype=output.dtype)
        white = torch.linalg.solve_triangular(chol, (output - mean).T, upper=False)
        return 0.5 * (white**2).sum(dim=0)


class CallableTarget(Target):
    """Wrap ``fn(outputs (N, ...)) -> (N,)``; the shape of the result is checked."""

    def __init__(self, fn: Callable[[Tensor], Tensor]):
        if not callable(fn):
            raise ArgumentTypeError(f"target: a callable target maps outputs (N, ...) to (N,); got {type(fn).__name__}")
        self.fn = fn
        self.name = getattr(fn, "__name__", "callable")

    def __call__(self, output, state):
        value = self.fn(output)
        n = output.shape[0]
        if not isinstance(value, Tensor) or value.shape != (n,):
            shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
            raise ValueError(
                f"target: the callable {self.name!r} must map outputs (N, ...) to one value per "
                f"row, shape (N,); for outputs of shape {tuple(output.shape)} it returned {shape}"
            )
        return value


def surprisal(mean, covariance) -> Surprisal:
    """Population surprisal target ``0.5 (y - mean)^T cov^-1 (y - mean)`` (see :class:`Surprisal`)."""
    return Surprisal(mean, covariance)


def as_target(spec) -> Target:
    """Turn a target specification into a :class:`Target`.

    Parameters
    ----------
    spec : str, tuple, Target or callable
        See the module docstring for the accepted forms.

    Returns
    -------
    Target

    Raises
    ------
    ValueError
        For an unknown name or a malformed tuple.
    """
    if isinstance(spec, Target):
        return spec
    if isinstance(spec, str):
        if spec == "top1":
            return TopK(1)
        if spec == "entropy":
            return Entropy()
        if spec == "contrastive":
            return Contrastive()
        if spec == "max":
            return MaxOutput()
        if spec in ("topk", "class"):
            raise ValueError(f"target: {spec!r} needs an argument, e.g. ({spec!r}, 5)")
        raise ValueError(
            f"target: unknown target {spec!r}; choose 'top1', ('topk', k), ('class', idx), "
            "'entropy', 'contrastive', 'max', codec.targets.surprisal(mean, cov), or a callable"
        )
    if isinstance(spec, tuple):
        if len(spec) == 2 and spec[0] == "topk":
            return TopK(spec[1])
        if len(spec) == 2 and spec[0] == "class":
            return ClassTarget(spec[1])
        raise ValueError(f"target: unknown target {spec!r}; tuples are ('topk', k) or ('class', idx)")
    if callable(spec):
        return CallableTarget(spec)
    raise ValueError(f"target: cannot use {spec!r} as a target")
