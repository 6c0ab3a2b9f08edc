"""The small argument checkers every public function of codec uses, so that bad input reads the same everywhere.

Each checker takes the parameter's name as the user wrote it and the value, returns the value in
the form the caller works with, and otherwise raises a :class:`ValueError`, :class:`TypeError` or
:class:`FileNotFoundError` whose message starts with that name and says what would be accepted::

    steps: must be an integer >= 1, got 0
    device: unknown device 'gpu'; use 'cpu', 'cuda' or 'cuda:N'
    weights: 'notes.txt' is not a PyTorch checkpoint (torch.load failed: ...); give a file saved by torch.save

This module imports nothing from codec: every other module may use it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable

import numpy as np
import torch


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type. Both a TypeError and a ValueError, so that code that catches
    either (codec's command line catches ValueError) treats it as the user's error."""


def check_int(name: str, value, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer (Python or numpy, not a bool) within ``[minimum, maximum]``, as an ``int``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise ArgumentTypeError(f"{name}: must be an integer{bound}, got {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        if maximum is None:
            raise ValueError(f"{name}: must be an integer >= {minimum}, got {value!r}")
        if minimum is None:
            raise ValueError(f"{name}: must be an integer <= {maximum}, got {value!r}")
        raise ValueError(f"{name}: must be an integer from {minimum} to {maximum}, got {value!r}")
    return int(value)


def check_optional_int(name: str, value, minimum: int | None = None, maximum: int | None = None) -> int | None:
    """None, or :func:`check_int`."""
    return None if value is None else check_int(name, value, minimum, maximum)


def check_number(name: str, value, *, minimum: float | None = None, maximum: float | None = None,
                 above: float | None = None, below: float | None = None) -> float:
    """A finite real number (not a bool) within the bounds given, as a ``float``.

    ``minimum``/``maximum`` are inclusive bounds, ``above``/``below`` exclusive ones.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ArgumentTypeError(f"{name}: must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name}: must be a finite number, got {value!r}")
    bounds = []
    if minimum is not None and value < minimum:
        bounds.append(f">= {minimum:g}")
    if maximum is not None and value > maximum:
        bounds.append(f"<= {maximum:g}")
    if above is not None and value <= above:
        bounds.append(f"> {above:g}")
    if below is not None and value >= below:
        bounds.append(f"< {below:g}")
    if bounds:
        wanted = [f">= {minimum:g}" if minimum is not None else None, f"> {above:g}" if above is not None else None,
                  f"<= {maximum:g}" if maximum is not None else None, f"< {below:g}" if below is not None else None]
        raise ValueError(f"{name}: must be a number {' and '.join(w for w in wanted if w)}, got {value!r}")
    return value


def check_choice(name: str, value, choices: Iterable):
    """One of ``choices``."""
    choices = tuple(choices)
    try:
        known = value in choices
    except TypeError:  # an unhashable or incomparable value
        known = False
    if not known:
        raise ValueError(f"{name}: must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_bool(name: str, value) -> bool:
    """True or False (numpy's too), not a truthy stand-in such as ``"no"``."""
    if not isinstance(value, (bool, np.bool_)):
        raise ArgumentTypeError(f"{name}: must be True or False, got {value!r}")
    return bool(value)


def check_array(name: str, value, *, ndim: int | Iterable[int] | None = None, shape: tuple | None = None,
                finite: bool = False, integer: bool = False, nonempty: bool = False) -> np.ndarray:
    """An array-like (numpy array, tensor, nested sequence) as a numpy array, checked.

    Parameters
    ----------
    name : str
    value : array-like
    ndim : int or iterable of int, optional
        The allowed numbers of dimensions.
    shape : tuple, optional
        The expected shape; an entry of None matches any size.
    finite : bool
        Refuse NaN and inf.
    integer : bool
        Refuse anything but integers (bools included).
    nonempty : bool
        Refuse an array without elements.
    """
    if isinstance(value, torch.Tensor):
        array = value.detach().cpu().numpy()
    elif isinstance(value, (str, bytes, dict)) or value is None:
        raise ArgumentTypeError(f"{name}: must be an array, got {type(value).__name__}")
    else:
        try:
            array = np.asarray(value)
        except (ValueError, TypeError) as error:
            raise ArgumentTypeError(f"{name}: must be an array, got {type(value).__name__} ({error})") from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ArgumentTypeError(f"{name}: must be a numeric array, got dtype {array.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if array.ndim not in allowed:
            wanted = " or ".join(str(n) for n in allowed)
            raise ValueError(f"{name}: must have {wanted} dimensions, got shape {array.shape}")
    if shape is not None and (array.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, array.shape))):
        wanted = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name}: must have shape {wanted}, got {array.shape}")
    if nonempty and array.size == 0:
        raise ValueError(f"{name}: must not be empty")
    if integer and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name}: must hold integers, got dtype {array.dtype}")
    if finite and np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        raise ValueError(f"{name}: contains {bad} non-finite values (NaN or inf); clean or drop them first")
    return array


def check_indices(name: str, value, size: int, what: str = "items") -> np.ndarray:
    """Integer indices into ``size`` things, as an int64 array (1-D)."""
    array = check_array(name, value, ndim=(0, 1))
    array = np.atleast_1d(array)
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name}: indices must be integers, got dtype {array.dtype}")
    array = array.astype(np.int64)
    if array.size and (array.min() < 0 or array.max() >= size):
        bad = array[(array < 0) | (array >= size)]
        raise ValueError(f"{name}: indices {bad[:5].tolist()} are out of range for {size} {what} (valid: 0 to {size - 1})")
    return array


def check_device(name: str, value) -> torch.device:
    """A device that exists here: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` (or ``"mps"``), or a ``torch.device``."""
    if isinstance(value, torch.device):
        device = value
    elif isinstance(value, str):
        try:
            device = torch.device(value)
        except RuntimeError:
            raise ValueError(f"{name}: unknown device {value!r}; use 'cpu', 'cuda' or 'cuda:N'") from None
    else:
        raise ArgumentTypeError(f"{name}: must be a device name such as 'cpu' or 'cuda', got {value!r}")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{name}: {value!r} asks for a CUDA GPU and none is available here; use 'cpu'")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"{name}: {value!r}: this machine has {torch.cuda.device_count()} CUDA devices (0 to "
                             f"{torch.cuda.device_count() - 1})")
    elif device.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ValueError(f"{name}: {value!r}: no MPS device is available here; use 'cpu'")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"{name}: device type {device.type!r} is not supported; use 'cpu', 'cuda' or 'cuda:N'")
    return device


def check_path(name: str, value) -> Path:
    """A path given as a string or ``os.PathLike``."""
    if isinstance(value, (bool, int, float)) or value is None or not isinstance(value, (str, Path)) and not hasattr(value, "__fspath__"):
        raise ArgumentTypeError(f"{name}: must be a path (str or pathlib.Path), got {value!r}")
    return Path(value)


def check_file(name: str, value) -> Path:
    """An existing file (not a folder)."""
    path = check_path(name, value)
    if not path.exists():
        raise FileNotFoundError(f"{name}: {str(path)!r} does not exist")
    if not path.is_file():
        raise ValueError(f"{name}: {str(path)!r} is a folder; give a file")
    return path


def check_folder(name: str, value) -> Path:
    """An existing folder."""
    path = check_path(name, value)
    if not path.exists():
        raise FileNotFoundError(f"{name}: {str(path)!r} does not exist")
    if not path.is_dir():
        raise ValueError(f"{name}: {str(path)!r} is a file; give a folder")
    return path


def load_checkpoint_file(name: str, value, map_location="cpu"):
    """A checkpoint read by ``torch.load(..., weights_only=True)``; anything else is a clear error."""
    path = check_file(name, value)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises many kinds (UnpicklingError, RuntimeError, EOFError, ...)
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{name}: {str(path)!r} is not a PyTorch checkpoint that loads with weights_only=True "
                         f"({type(error).__name__}: {reason[:200]}); give a file saved by torch.save of a state dict") from None


def check_module(name: str, value) -> torch.nn.Module:
    """A ``torch.nn.Module`` (a network, or a part of one)."""
    if not isinstance(value, torch.nn.Module):
        raise ArgumentTypeError(f"{name}: must be a torch.nn.Module, got {type(value).__name__}")
    return value


def check_finite_tensor(name: str, value: torch.Tensor, what: str = "values") -> torch.Tensor:
    """A tensor without NaN or inf (say what the values are, e.g. "the model's outputs")."""
    if not torch.isfinite(value).all():
        bad = int((~torch.isfinite(value)).sum())
        raise ValueError(f"{name}: {what} contain {bad} non-finite values (NaN or inf)")
    return value


__all__ = ["ArgumentTypeError", "check_int", "check_optional_int", "check_number", "check_choice", "check_bool", "check_array", "check_indices",
           "check_device", "check_path", "check_file", "check_folder", "load_checkpoint_file", "check_module", "check_finite_tensor"]
