"""The registry of verdict rules: :class:`Rule`, :data:`VERDICT_RULES` (filled by the
:func:`verdict_rule` decorator, one rule per measured claim, in :mod:`codec.scorecard.rules`) and
:func:`assess`, which applies a claim's rule to the numbers a section measured, words the value and
records both (:func:`codec.scorecard.record_claim`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..checks import ArgumentTypeError
from .claims import CLAIMS, CLAIMS_BY_ID, record_claim


@dataclass(frozen=True)
class Rule:
    """How one claim's verdict is decided.

    Attributes
    ----------
    claim_id : int
    text : str
        The rule in words, as the scorecard page prints it.
    judge : callable
        ``judge(details, **context) -> (holds, value: str)``: the verdict from the recorded
        numbers ``details`` alone (``context`` only words the value), and the measured value in
        words. ``holds`` is True, False, or None where the measurement cannot test the claim
        (then the verdict is "not testable at this scale").
    """

    claim_id: int
    text: str
    judge: Callable


#: claim id -> its Rule; filled by @verdict_rule
VERDICT_RULES: dict[int, Rule] = {}


def verdict_rule(claim_id: int, text: str):
    """Decorator: register ``judge(details, **context) -> (holds, value)`` as claim ``claim_id``'s rule."""
    if claim_id not in CLAIMS_BY_ID:
        raise ValueError(f"claim_id: unknown claim {claim_id!r}; claims are 1-{len(CLAIMS)}")
    if not isinstance(text, str) or not text.strip():
        raise ArgumentTypeError(f"text: give the rule in words (a non-empty str), got {text!r}")

    def register(judge: Callable) -> Callable:
        if not callable(judge):
            raise ArgumentTypeError(f"judge: verdict_rule({claim_id}, ...) decorates a function, got {type(judge).__name__}")
        if claim_id in VERDICT_RULES:
            raise ValueError(f"claim_id: claim {claim_id} already has a verdict rule")
        VERDICT_RULES[claim_id] = Rule(claim_id, text, judge)
        return judge

    return register


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def assess(results_dir, scale: str, claim_id: int, details: dict, **context) -> dict:
    """Decide a claim's verdict by its rule, word its value, and record it.

    Parameters
    ----------
    results_dir : path
        The results folder (the book's ``results/``).
    scale : {"tiny", "sample", "paper"}
    claim_id : int
        A claim with a rule in :data:`VERDICT_RULES`.
    details : dict
        The measured numbers the rule reads (arrays are saved as lists); kept in the JSON, so
        that the verdict can be decided again from the file.
    **context
        Numbers that only word the value (for example a chance level), not recorded.

    Returns
    -------
    dict
        The record written: ``claim``, ``scale``, ``value``, ``verdict``, ``details``.
    """
    if claim_id not in VERDICT_RULES:
        raise ValueError(f"claim_id: claim {claim_id!r} has no verdict rule; rules exist for {sorted(VERDICT_RULES)}")
    if not isinstance(details, dict):
        raise ArgumentTypeError(f"details: must be a dict of the measured numbers, got {type(details).__name__}")
    details = _jsonable(dict(details))
    try:
        holds, value = VERDICT_RULES[claim_id].judge(details, **context)
    except (KeyError, IndexError) as error:
        raise ValueError(f"details: claim {claim_id}'s rule reads a value the details lack ({type(error).__name__}: {error}); "
                         "give the numbers its section records") from None
    verdict = "not testable at this scale" if holds is None else "holds" if holds else "does not hold"
    path = record_claim(results_dir, scale, claim_id, value, verdict, details)
    return json.loads(path.read_text())
