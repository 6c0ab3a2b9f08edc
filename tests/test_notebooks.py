"""Section notebooks execute end to end at the tiny scale (Jupytext source -> papermill)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("papermill")
pytest.importorskip("jupytext")


def test_section_1_runs_at_tiny_and_records_its_claims(tmp_path):
    import jupytext
    import papermill

    notebook = jupytext.read(ROOT / "notebooks" / "01_contributions.py")
    source = tmp_path / "01_contributions.ipynb"
    jupytext.write(notebook, source)
    papermill.execute_notebook(
        str(source), str(tmp_path / "executed.ipynb"), cwd=str(tmp_path), kernel_name="python3",
        parameters={"preset": "tiny", "runs_dir": str(tmp_path / "runs"), "results_dir": str(tmp_path / "results")},
        progress_bar=False,
    )
    recorded = sorted(p.name for p in (tmp_path / "results" / "tiny").glob("claim-*.json"))
    assert recorded == [f"claim-{i:02d}.json" for i in (1, 2, 3, 4, 15, 16)]
    for path in (tmp_path / "results" / "tiny").glob("claim-*.json"):
        record = json.loads(path.read_text())
        assert record["verdict"] in ("holds", "does not hold") and record["value"]
