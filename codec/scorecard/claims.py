"""The paper's claims, the scales and verdicts, and the claim records a section saves
(``<results>/<scale>/claim-<id>.json``, :func:`record_claim`; :func:`load_claims` reads them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..checks import check_path

SCALES = ("tiny", "sample", "paper")
VERDICTS = ("holds", "does not hold", "not testable at this scale")


#: the book's section notebooks, by the claims they measure (each claim is measured by one section)
SECTIONS = {
    "01_contributions": (1, 2, 3, 4, 15, 16),
    "02_modes": (5, 6, 14),
    "03_control": (7, 8, 9, 10),
    "04_maps": (11,),
    "05_retina": (12,),
    "06_vit": (13,),
}


@dataclass(frozen=True)
class Claim:
    """One claim of the paper: its number, its statement, the figure it rests on, the claim in a few
    words (``short``, for the scorecard's grid), and whether the paper makes it qualitatively (then
    any verdict is this project's own test of it, and says so)."""

    id: int
    text: str
    figure: str
    short: str
    qualitative: bool = False

    @property
    def section(self) -> str:
        """The section notebook that measures this claim (its page name, without extension)."""
        return next(name for name, ids in SECTIONS.items() if self.id in ids)


CLAIMS = (
    Claim(1, "Contributions are sparser than activations at every layer (Hoyer index).", "Fig. 3B, S7 D-F",
          "Contributions sparser than activations"),
    Claim(2, "Contribution sparsity rises with depth.", "Fig. 3B", "Sparsity rises with depth"),
    Claim(3, "Positive and negative contributions of a channel decorrelate with depth.", "Fig. 3C-D",
          "Excitation and inhibition decorrelate with depth"),
    Claim(4, "Class-averaged contributions need more principal components for 95% variance than activations, and both rise with depth.",
          "Fig. 3E-F", "Contributions need more components"),
    Claim(5, "The SAE reconstructs contributions with R² ≈ 0.85 (activations ≈ 0.84).", "Fig. S2A, S3-S4",
          "The SAE reconstructs both (R²)"),
    Claim(6, "Contribution modes correlate with classes more than activation modes at intermediate layers, and more than single channels.",
          "Fig. 5", "Contribution modes more class-selective"),
    Claim(7, "Ablating ~2% of channels from a class's top modes removes that class while sparing others; "
             "preserving them keeps only that class.", "Fig. 6C", "A class's top modes control it"),
    Claim(8, "Contribution modes need fewer channels than activation modes to ablate a class.", "Fig. 6D-E",
          "Contribution modes ablate with fewer channels"),
    Claim(9, "Ablation efficacy rises sharply at an intermediate depth.", "Fig. 6E", "Ablation efficacy jumps at mid-depth"),
    Claim(10, "Superclass modes (dog) can be ablated / preserved as a group.", "Fig. S10", "Superclass modes control the superclass"),
    Claim(11, "Mode maps show the same low-level feature across classes.", "Fig. 7", "Mode maps show one feature across classes",
          qualitative=True),
    Claim(12, "Retina: cells cluster by their mode patterns consistently across layers; IRFs change with the combination of active modes.",
          "Fig. 8", "Retina: cells cluster by modes; IRFs follow modes"),
    Claim(13, "ViT: contributions sparser than activations; contribution modes ablate classes better than activation modes; "
              "attention heads barely specialised.", "Fig. S7-S8", "ViT: sparser, ablates better, heads unspecialised"),
    Claim(14, "Results are robust to SAE seed, L1, threshold and size away from boundary regimes.", "Fig. S3-S6",
          "Robust to SAE seed and settings"),
    Claim(15, "A contrastive (top1 - top2) target gives sparsity like the top-1 target.", "Fig. S11",
          "A contrastive target is as sparse"),
    Claim(16, "IG with 10 steps costs about 3x act-normgrad.", "Suppl. 10.4", "IG-10 costs about 3× act-normgrad"),
)
#: claim id -> its Claim
CLAIMS_BY_ID = {claim.id: claim for claim in CLAIMS}


def record_claim(results_dir, scale: str, claim_id: int, value: str, verdict: str, details: dict | None = None) -> Path:
    """Save the measurement of one claim at one scale.

    Parameters
    ----------
    results_dir : path
        The results folder (the book's ``results/``).
    scale : {"tiny", "sample", "paper"}
    claim_id : int
        1-16, as in ``CLAIMS``.
    value : str
        The measured value, in words and numbers (shown in the table).
    verdict : {"holds", "does not hold", "not testable at this scale"}
    details : dict, optional
        Extra measured numbers kept in the JSON.

    Returns
    -------
    Path
        The JSON file written.
    """
    if scale not in SCALES:
        raise ValueError(f"scale: must be one of {SCALES}, got {scale!r}")
    if claim_id not in CLAIMS_BY_ID:
        raise ValueError(f"claim_id: unknown claim {claim_id!r}; claims are 1-{len(CLAIMS)}")
    if verdict not in VERDICTS:
        raise ValueError(f"verdict: must be one of {VERDICTS}, got {verdict!r}")
    if not isinstance(value, str) or not value.strip():
        raise ValueError("value: give the measured value as a non-empty string")
    folder = Path(results_dir) / scale
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"claim-{claim_id:02d}.json"
    record = {"claim": claim_id, "scale": scale, "value": value, "verdict": verdict, "details": details or {}}
    path.write_text(json.dumps(record, indent=1, sort_keys=True))
    return path


def load_claims(results_dir) -> dict[tuple[int, str], dict]:
    """All recorded claims, keyed by (claim id, scale)."""
    check_path("results_dir", results_dir)
    found = {}
    for scale in SCALES:
        for path in sorted((Path(results_dir) / scale).glob("claim-*.json")):
            record = json.loads(path.read_text())
            found[(record["claim"], record["scale"])] = record
    return found
