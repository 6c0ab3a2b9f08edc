"""The scorecard of the paper's claims: verdict rules, measured values saved by the notebooks, the table.

A notebook measures a claim and hands the numbers to :func:`assess`, which decides the verdict
by the claim's rule (:data:`VERDICT_RULES`, one per measured claim, registered with :func:`verdict_rule`),
words the measured value, and saves both with :func:`record_claim` into
``<results>/<scale>/claim-<id>.json``. Every section therefore decides a verdict the same way,
and no threshold lives in a notebook. :func:`render_scorecard` builds the book's scorecard page
from those files (a claim without a file at a scale reads "not yet measured"), with each
claim's rule beside it, after the grid at a glance (:func:`render_grid`); :func:`findings` is the table a section opens
with. Nothing in these tables is typed by hand.

The package, one concept per module: :mod:`~codec.scorecard.claims` (the claims and their
records), :mod:`~codec.scorecard.comparisons` (how a rule compares values across
layers: depth, the intermediate third, ties within a standard error),
:mod:`~codec.scorecard.registry` (how a rule is registered, and :func:`assess`),
:mod:`~codec.scorecard.parts` (the claims made of parts, judged part by part),
:mod:`~codec.scorecard.rules` (the verdict rule of each claim),
:mod:`~codec.scorecard.departures` (where the protocol is not the authors', and why),
:mod:`~codec.scorecard.headlines` (the number that decides each verdict, for the grid) and
:mod:`~codec.scorecard.render` (the scorecard page, the grid at a glance and the findings tables). Every name below is
importable from ``codec.scorecard``.

"""

from .claims import CLAIMS, CLAIMS_BY_ID, SCALES, SECTIONS, VERDICTS, Claim, load_claims, record_claim
from .comparisons import (
    TIE_RULE,
    depth_correlation,
    describe_outcomes,
    exceeds_at_every_layer,
    intermediate_layers,
    intermediate_positions,
    layer_outcomes,
)
from .departures import DEPARTURES, Departure, render_departures
from .headlines import HEADLINES, headline
from .parts import HEAD_MARGIN, RETINA_MIN_ARI, class_medians, class_parts, released_control_table, retina_parts, superclass_parts, vit_parts
from .registry import VERDICT_RULES, Rule, assess, verdict_rule
from .render import (
    SEED_VARIABILITY,
    VERDICT_MARKS,
    findings,
    findings_markdown,
    render_grid,
    render_scorecard,
    seed_note,
    totals_sentence,
    verdict_counts,
)

__all__ = [
    "Claim", "CLAIMS", "CLAIMS_BY_ID", "load_claims", "record_claim", "SCALES", "VERDICTS", "assess",
    "HEAD_MARGIN", "intermediate_layers", "RETINA_MIN_ARI", "Rule", "verdict_rule", "VERDICT_RULES",
    "vit_parts", "class_medians", "class_parts", "released_control_table", "retina_parts", "superclass_parts", "findings",
    "findings_markdown", "render_scorecard", "seed_note", "SEED_VARIABILITY", "layer_outcomes", "Departure",
    "DEPARTURES", "render_departures", "TIE_RULE", "HEADLINES", "headline", "VERDICT_MARKS", "render_grid",
    "totals_sentence", "verdict_counts", "SECTIONS", "depth_correlation", "describe_outcomes",
    "exceeds_at_every_layer", "intermediate_positions",
]
