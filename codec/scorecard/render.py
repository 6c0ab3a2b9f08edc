"""The scorecard page and the findings tables, rendered from recorded claims only: the grid at a
glance (:func:`render_grid`: a verdict and the number that decides it, per claim and scale, with
:func:`totals_sentence`), every value in full with its rule (:func:`render_scorecard`), and the table
a section opens with (:func:`findings`, :func:`findings_markdown`).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..checks import ArgumentTypeError, check_choice, check_int
from . import rules as _rules  # noqa: F401  (registers every claim's rule)
from .claims import CLAIMS, CLAIMS_BY_ID, SCALES, VERDICTS, load_claims
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


#: a verdict as the grid marks it: (symbol, CSS class); the book's stylesheet colours the classes
VERDICT_MARKS = {"holds": ("✓", "codec-holds"), "does not hold": ("✗", "codec-fails"),
                 "not testable at this scale": ("–", "codec-untestable")}


def verdict_counts(results_dir) -> dict[str, dict[str, int]]:
    """How many claims received each verdict, per scale: ``{scale: {verdict: count}}`` (scales with no record left out)."""
    counts: dict[str, dict[str, int]] = {}
    for (_, scale), record in load_claims(results_dir).items():
        counts.setdefault(scale, dict.fromkeys(VERDICTS, 0))[record["verdict"]] += 1
    return {scale: counts[scale] for scale in GRID_SCALES if scale in counts}


def totals_sentence(results_dir) -> str:
    """The verdicts counted per scale, in one sentence of Markdown ("" when nothing is recorded)."""
    parts = []
    for scale, count in verdict_counts(results_dir).items():
        one = {key: n == 1 for key, n in count.items()}
        words = [f"**{count['holds']} {'holds' if one['holds'] else 'hold'}**",
                 f"{count['does not hold']} {'does not' if one['does not hold'] else 'do not'}"]
        if count["not testable at this scale"]:
            words.append(f"{count['not testable at this scale']} cannot be tested at this scale")
        total = sum(count.values())
        parts.append(f"at `{scale}`, of {total} {'claim' if total == 1 else 'claims'} measured, " + ", ".join(words))
    return ("; ".join(parts)[:1].upper() + "; ".join(parts)[1:] + ".") if parts else ""


#: the grid's order of the scales: the real network first
GRID_SCALES = ("sample", "tiny", "paper")


def _verdict_html(verdict: str) -> str:
    symbol, css = VERDICT_MARKS[verdict]
    # on a phone the stylesheet shows the symbol alone (the column is narrow): the word is a span of its own
    return f'<span class="codec-verdict {css}">{symbol}<span class="codec-word">&nbsp;{verdict}</span></span>'


def render_grid(results_dir, link_prefix: str = "") -> str:
    """The scorecard at a glance, as Markdown: the verdicts counted per scale, then one row per claim
    (its number, the claim in a few words linked to the section that measures it, and per scale a
    coloured verdict with the number that decides it, :func:`~codec.scorecard.headlines.headline`).

    The ``paper`` column is shown only once a claim is recorded there. A tiny verdict that differs
    across training seeds (``results/tiny/seed-variability.json``) is marked † and the mark explained.

    Parameters
    ----------
    results_dir : path
        The results folder (``<results>/<scale>/claim-NN.json``).
    link_prefix : str
        Prefix of the section pages' names as seen from the page that shows the grid ("" from
        ``book/``, ``"book/"`` from the book's root).
    """
    from .headlines import headline

    if not isinstance(link_prefix, str):
        raise ArgumentTypeError(f"link_prefix: a str such as '' or 'book/', got {link_prefix!r}")
    found = load_claims(results_dir)
    variability = _variability(results_dir)
    scales = [scale for scale in GRID_SCALES if scale != "paper" or any(s == "paper" for _, s in found)]
    boundary = False

    def cell(claim_id, scale):
        nonlocal boundary
        record = found.get((claim_id, scale))
        if record is None:
            return "not yet measured"
        mark = ""
        if scale == "tiny" and seed_note(variability, claim_id).startswith("*On its rule's boundary"):
            mark, boundary = " †", True
        return f"{_verdict_html(record['verdict'])}{mark}<br>{headline(record)}".replace("|", "\\|")

    lines = ["```{table}", ":class: codec-grid", "", "| # | claim | " + " | ".join(scales) + " |", "|---|---|" + "---|" * len(scales)]
    for claim in CLAIMS:
        qualitative = " (qualitative)" if claim.qualitative else ""
        title = f"{{doc}}`{claim.short} <{link_prefix}{claim.section}>`{qualitative}"
        lines.append(f"| {claim.id} | {title} | " + " | ".join(cell(claim.id, scale) for scale in scales) + " |")
    lines.append("```")
    notes = [totals_sentence(results_dir), "", *lines]
    if boundary:
        notes += ["", "† On its rule's boundary at this scale: the verdict differs across the tiny models' training seeds."]
    if "paper" not in scales:
        notes += ["", "The `paper` scale (ResNet-50 and ViT-B/16 on ImageNet's 50,000 validation images) needs a GPU and "
                      "the user's weights and data; nothing is recorded there yet."]
    return "\n".join(notes)


def _variability(results_dir):
    seeds_file = Path(results_dir) / "tiny" / SEED_VARIABILITY
    return json.loads(seeds_file.read_text()) if seeds_file.exists() else None


def render_scorecard(results_dir) -> str:
    """Every claim's recorded values in full, one folded block per claim (a sphinx-design dropdown):
    the paper's statement and figure, the section that measures it, per scale the verdict and the
    measured value (a tiny one with how its verdict fares across training seeds, :func:`seed_note`),
    and the claim's verdict rule.

    Parameters
    ----------
    results_dir : path
        The results folder (``<results>/<scale>/claim-NN.json``).
    """
    found = load_claims(results_dir)
    variability = _variability(results_dir)
    blocks = []
    for claim in CLAIMS:
        label = " (this project's test of a qualitative claim)" if claim.qualitative else ""
        lines = [f"(claim-{claim.id})=", f"````{{dropdown}} {claim.id}. {claim.short}",
                 f"*{claim.text}* ({claim.figure}; measured in {{doc}}`{claim.section}`)", ""]
        for scale in SCALES:
            record = found.get((claim.id, scale))
            if record is None:
                lines.append(f"- **{scale}**: not yet measured")
                continue
            note = seed_note(variability, claim.id) if scale == "tiny" else ""
            value = record["value"].replace("\n", " ")
            lines.append(f"- **{scale}**: {_verdict_html(record['verdict'])}{label}: {value}" + (f" {note}" if note else ""))
        rule = VERDICT_RULES.get(claim.id)
        lines += ["", f"**Rule.** {rule.text}" if rule else "**Rule.** none yet", "````"]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


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
