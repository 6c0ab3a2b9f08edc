"""The scorecard is rendered from recorded claims only."""

import json

import pytest

from codec import scorecard


def test_unrecorded_claims_read_not_yet_measured(tmp_path):
    table = scorecard.render_scorecard(tmp_path)
    rows = [line for line in table.splitlines()[2:]]
    assert len(rows) == len(scorecard.CLAIMS) == 16
    assert all(row.count("not yet measured") == 3 for row in rows)


def test_recorded_claim_appears_in_its_row_and_column(tmp_path):
    path = scorecard.record_claim(tmp_path, "tiny", 2, "Hoyer 0.31 -> 0.58 | rising", "holds", {"hoyer": [0.31, 0.58]})
    assert json.loads(path.read_text())["details"] == {"hoyer": [0.31, 0.58]}
    row = [line for line in scorecard.render_scorecard(tmp_path).splitlines() if line.startswith("| 2 |")][0]
    cells = [c.strip() for c in row.split(" | ")]
    assert cells[-3] == "**holds**: Hoyer 0.31 -> 0.58 \\| rising"
    assert cells[-2] == "not yet measured" and cells[-1].startswith("not yet measured")


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(scale="huge"), "scale: must be one of"),
    (dict(claim_id=17), "claim_id: unknown claim 17"),
    (dict(verdict="mostly"), "verdict: must be one of"),
    (dict(value=" "), "value: give the measured value"),
])
def test_bad_records_are_refused(tmp_path, kwargs, pattern):
    arguments = dict(scale="tiny", claim_id=1, value="x", verdict="holds") | kwargs
    with pytest.raises(ValueError, match=pattern):
        scorecard.record_claim(tmp_path, **arguments)
