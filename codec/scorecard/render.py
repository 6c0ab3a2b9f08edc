"""The scorecard page and the findings tables, rendered from recorded claims only: the scorecard
(:func:`render_scorecard`), the rules in words (:func:`render_rules`), the table a section opens
with (:func:`findings`, :func:`findings_markdown`).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..checks import ArgumentTypeError, check_choice, check_int
from . import rules as _rules  # noqa: F401  (registers every claim's rule)
from .claims import CLAIMS, CLAIMS_BY_ID, SCALES, load_claims
from .registry import VERDICT_RULES

#: The verdicts and values of the tiny scale across training seeds (``scripts/portability.py seeds``),
#: beside the tiny claim records: ``seeds`` and, per claim id, ``verdicts`` (seed -> verdict).
SEED_VARIABILITY = "seed-variability.json"


def seed_note(variability: dict | None, claim_id: int) -> str:
    """How a tiny verdict fares across training seeds, in words ("" for a claim no training reaches).

    Parameters
    ----------
    variability : dict or None
        The content of ``results/tiny/seed-variability.json``.
    claim_id : int
    """
    if variability is not None and not isinstance(variability, dict):
        raise ArgumentTypeError(f"variability: must be the content of seed-variability.json (a dict) or None, got {type(variability).__name__}")
    check_int("claim_id", claim_id, 1, len(CLAIMS))
    entry = (variability or {}).get("claims", {}).get(str(claim_id))
    if entry is None:
        return ""
    verdicts = list(entry["verdicts"].values())
    if len(set(verdicts)) == 1:
        return f"The same verdict for all {len(verdicts)} training seeds."
    counts = ", ".join(f"{verdict} for {verdicts.count(verdict)}" for verdict in sorted(set(verdicts)))
    return f"*On its rule's boundary at this scale*: {counts} of {len(verdicts)} training seeds."


def render_scorecard(results_dir) -> str:
    """The scorecard as a Markdown table: one row per claim, one column per scale.

    A tiny cell ends with how its verdict fares across training seeds (:func:`seed_note`), where
    ``results/tiny/seed-variability.json`` exists.
    """
    found = load_claims(results_dir)
    seeds_file = Path(results_dir) / "tiny" / SEED_VARIABILITY
    variability = json.loads(seeds_file.read_text()) if seeds_file.exists() else None

    def cell(claim_id, scale):
        record = found.get((claim_id, scale))
        if record is None:
            return "not yet measured"
        note = seed_note(variability, claim_id) if scale == "tiny" else ""
        label = " (this project's test of a qualitative claim)" if CLAIMS_BY_ID[claim_id].qualitative else ""
        text = f"**{record['verdict']}**{label}: {record['value']}" + (f" {note}" if note else "")
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [
        "| # | claim | paper | " + " | ".join(SCALES) + " |",
        "|---|---|---|" + "---|" * len(SCALES),
    ]
    for claim in CLAIMS:
        cells = " | ".join(cell(claim.id, scale) for scale in SCALES)
        lines.append(f"| {claim.id} | {claim.text} | {claim.figure} | {cells} |")
    return "\n".join(lines)



def render_rules() -> str:
    """The verdict rule of every claim that has one, as a Markdown list."""
    return "\n".join(f"- **Claim {claim_id}**: {VERDICT_RULES[claim_id].text}" for claim_id in sorted(VERDICT_RULES))


def findings(results_dir, scale: str, claim_ids, with_rules: bool = False):
    """The claims a section measured at one scale, as a table (pandas DataFrame) to open the section with.

    Columns: ``claim`` (the paper's statement), ``verdict``, ``measured`` (the recorded value),
    and with ``with_rules`` the ``rule``; one row per claim id (the index, ``#``), in the order
    given. A claim not recorded yet is refused.
    """
    import pandas as pd

    check_choice("scale", scale, SCALES)
    if isinstance(claim_ids, (int, str)) or not hasattr(claim_ids, "__iter__"):
        raise ArgumentTypeError(f"claim_ids: must be a sequence of claim numbers, got {claim_ids!r}")
    found = load_claims(results_dir)
    rows = []
    for claim_id in claim_ids:
        record = found.get((claim_id, scale))
        if record is None:
            raise ValueError(f"claim_ids: claim {claim_id} has no recorded result at {scale!r} in {str(results_dir)!r}")
        row = {"#": claim_id, "claim": CLAIMS_BY_ID[claim_id].text, "verdict": record["verdict"], "measured": record["value"]}
        if with_rules:
            row["rule"] = VERDICT_RULES[claim_id].text if claim_id in VERDICT_RULES else ""
        rows.append(row)
    return pd.DataFrame(rows).set_index("#")


def findings_markdown(results_dir, scale: str, claim_ids) -> str:
    """:func:`findings` as a Markdown table (claim, verdict in bold, measured value), for a page to paste."""
    table = findings(results_dir, scale, claim_ids)
    lines = ["| # | claim | verdict | measured |", "|---|---|---|---|"]
    for claim_id, row in table.iterrows():
        cells = [str(claim_id), row["claim"], f"**{row['verdict']}**", row["measured"]]
        lines.append("| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in cells) + " |")
    return "\n".join(lines)
