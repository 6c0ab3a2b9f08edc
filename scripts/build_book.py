"""Execute the section notebooks with papermill and build the book with Jupyter Book 1.

    python scripts/build_book.py --preset tiny                # staged in _build/tiny, book/ untouched
    python scripts/build_book.py --preset sample --publish    # executes into book/ (the committed book)
    python scripts/build_book.py --reference                  # tiny reference outputs for nbval
    python scripts/build_book.py --reference --notebooks 06   # ... of one notebook
    python scripts/build_book.py --preset sample --publish -p per_class 25 --notebooks 01

Every notebook ``notebooks/NN_*.py`` (Jupytext py:percent) is converted and executed with its
``preset`` parameter set. Each build is staged in ``<out>/src``: the configuration, the pages of
``book/``, the executed notebooks of this preset, the claim results, and a scorecard page
generated from those results. The site is then built from the staging folder with warnings as
errors into ``<out>/_build/html``.

Only ``--publish`` writes into ``book/``: the executed notebooks, ``book/results/<preset>/`` and
``book/scorecard.md``. A build at another scale therefore never replaces the committed
execution; its scorecard shows its own fresh results next to the committed results of the
other scales. ``--reference`` executes the notebooks at ``tiny`` into ``tests/nbval/`` (the
outputs nbval checks in ``make test``) and publishes their claim results to
``book/results/tiny/``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from codec.presets import PRESETS  # noqa: E402
from codec.scorecard import SCALES, render_departures, render_grid, render_scorecard  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"
BOOK = ROOT / "book"
REFERENCE = ROOT / "tests" / "nbval"

SCORECARD_HEADER = """\
# Scorecard of the paper's claims

Does each of the paper's claims hold at this book's scales? One row per claim: a verdict per
scale and the number that decides it (for a claim in parts, each part's verdict); a claim's name
leads to the section that measures it, and every measured value with its rule is folded below.

"""

SCALES_NOTE = """
- **tiny**: small models trained on the planted *shapes* images (CPU, minutes). The committed
  values come from the reference execution that `make test` checks with nbval.
- **sample**: EfficientNet-Lite0 pretrained on ImageNet, real Imagenette/Imagewoof images.

A verdict says whether the *pattern* the paper reports holds at that scale. The tiny and sample
scales use other networks and data than the paper's, so a claim that does not hold there is
a finding about those settings, not a refutation of the paper. This page is generated from the
values the sections save (`results/<scale>/claim-NN.json`) by `scripts/build_book.py`, never by hand.
"""


#: pages that teach the library instead of measuring claims: their code is shown, they record no claim and open
#: with no findings table; built, executed at every scale and checked by nbval like the sections
TUTORIALS = ("00_your_model",)


def notebook_sources(only: list[str] | None = None) -> list[Path]:
    """The notebooks (the tutorial 00 and the sections), or those whose number is in ``only`` (e.g. ["01"])."""
    sources = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
    if not sources:
        raise SystemExit(f"no section notebooks (NN_*.py) in {NOTEBOOKS}")
    if only:
        numbers = {source.name[:2]: source for source in sources}
        unknown = sorted(set(only) - set(numbers))
        if unknown:
            raise SystemExit(f"--notebooks: no notebook numbered {', '.join(unknown)}; there are {', '.join(numbers)}")
        sources = [numbers[number] for number in sorted(set(only))]
    return sources


def parse_parameters(pairs: list[list[str]]) -> dict:
    """papermill-style ``-p name value`` pairs; values are read as Python literals when they are."""
    import ast

    parameters = {}
    for name, value in pairs:
        try:
            parameters[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            parameters[name] = value
    return parameters


def execute(source: Path, output: Path, cwd: Path, parameters: dict) -> float:
    """Convert a Jupytext source to .ipynb and execute it with papermill; returns seconds."""
    import jupytext
    import papermill

    output.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        unexecuted = Path(scratch) / (source.stem + ".ipynb")
        jupytext.write(jupytext.read(source), unexecuted)
        papermill.execute_notebook(str(unexecuted), str(output), cwd=str(cwd), kernel_name="python3",
                                   parameters=parameters, progress_bar=False)
    return time.perf_counter() - started


def _copy_book_pages(staging_book: Path, with_notebooks: bool) -> None:
    """Copy book/ into the staging folder (the executed notebooks only when asked)."""
    if staging_book.exists():
        shutil.rmtree(staging_book)
    ignore = shutil.ignore_patterns("__pycache__", *(() if with_notebooks else ("*.ipynb",)))
    shutil.copytree(BOOK, staging_book, ignore=ignore)


RULES_HEADER = """
## Every measured value, with its rule

Each section hands its measured numbers to `codec.scorecard.assess`, which applies the claim's
rule (defined once, in `codec.scorecard.VERDICT_RULES`) and records the verdict with the numbers,
so that every section and every scale decides the same way. The thresholds are this
replication's reading of the paper's wording, stated so that a reader can disagree with them.

"""


DEPARTURES_HEADER = """
## Where this replication departs from the authors' protocol

Every place where the book measures a claim otherwise than the authors did (the paper's text, or
their released code in `baccuslab/CODEC_ICLR_2026` and `baccuslab/bscope`), with the reason
(`codec.scorecard.DEPARTURES`). A verdict here tests the paper's claim under these changes.

"""


def write_scorecard(book_dir: Path) -> Path:
    page = book_dir / "scorecard.md"
    results = book_dir / "results"
    page.write_text(SCORECARD_HEADER + render_grid(results) + "\n" + SCALES_NOTE + RULES_HEADER + render_scorecard(results)
                    + "\n" + DEPARTURES_HEADER + render_departures() + "\n")
    return page


#: the cells a reader does not need open: the notebook's defaults and the values papermill injected
FOLDED_TAGS = ("parameters", "injected-parameters")


def fold_parameters(book_dir: Path) -> list[Path]:
    """Fold the parameter cells of the executed notebooks in ``book_dir`` (the staging copy, never
    ``book/``): each gets Jupyter Book's ``hide-cell`` tag, so that the page shows one "show" button
    where the two cells of parameters were; the line the page prints under them states the scale,
    model and data. Returns the notebooks changed."""

    changed = []
    for path in sorted(book_dir.glob("*.ipynb")):
        notebook = json.loads(path.read_text())
        folded = False
        for cell in notebook["cells"]:
            tags = cell.setdefault("metadata", {}).setdefault("tags", [])
            if any(tag in tags for tag in FOLDED_TAGS) and "hide-cell" not in tags:
                tags.append("hide-cell")
                folded = True
        if folded:
            path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
            changed.append(path)
    return changed


FINDINGS_START = "<!-- findings: generated by scripts/build_book.py from book/results; do not edit by hand -->"
FINDINGS_END = "<!-- end of findings -->"


def write_intro(book_dir: Path) -> Path:
    """Put the findings at a glance (:func:`codec.scorecard.render_grid` of ``book_dir/results``) between
    the intro's two markers, replacing what was there; returns the intro page."""
    page = book_dir / "intro.md"
    text = page.read_text()
    if text.count(FINDINGS_START) != 1 or text.count(FINDINGS_END) != 1 or text.index(FINDINGS_START) > text.index(FINDINGS_END):
        raise SystemExit(f"{page}: needs the lines {FINDINGS_START!r} and {FINDINGS_END!r} once each, in that order")
    before, rest = text.split(FINDINGS_START)
    after = rest.split(FINDINGS_END)[1]
    page.write_text(f"{before}{FINDINGS_START}\n{render_grid(book_dir / 'results')}\n{FINDINGS_END}{after}")
    return page


def stage(out: Path) -> Path:
    """The staging folder: configuration at its root, the vendored MathJax linked in."""
    staging = out / "src"
    staging.mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(ROOT / name, staging / name)
    vendor = ROOT / "_vendor"
    link = staging / "_vendor"
    if link.is_symlink() or link.exists():
        link.unlink() if link.is_symlink() else shutil.rmtree(link)
    if not (vendor / "mathjax" / "tex-mml-chtml.js").exists():
        raise SystemExit("MathJax is missing from _vendor/: run `make _vendor/mathjax/tex-mml-chtml.js` "
                         "(or `make book`), which fetches it from the npm registry")
    link.symlink_to(vendor, target_is_directory=True)
    return staging


def jupyter_book(staging: Path, out: Path) -> Path:
    executable = Path(sys.executable).with_name("jupyter-book")
    command = [str(executable), "build", str(staging), "--path-output", str(out), "--builder", "html", "-W", "--keep-going"]
    subprocess.run(command, check=True)
    return out / "_build" / "html"


def build(preset: str, out: Path, publish: bool, runs_dir: Path, execute_notebooks: bool = True,
          only: list[str] | None = None, extra: dict | None = None) -> Path:
    """Execute the notebooks (all, or ``only``) at ``preset`` and build the site; returns the html folder.

    Without ``publish`` the notebooks are executed into the staging folder, which then holds no
    other execution: ``only`` is refused there before anything runs, as the sections it leaves
    out would be missing from the site's table of contents. With ``publish`` they are executed
    into ``book/``, and those left out keep their committed execution.
    """
    if only is not None and execute_notebooks and not publish:
        chosen = notebook_sources(only)
        left_out = [source.stem for source in notebook_sources() if source not in chosen]
        if left_out:
            raise SystemExit(
                f"--notebooks {','.join(only)}: without --publish the site is built from this run's executions "
                f"alone, so {', '.join(left_out)} would be missing from it (a table-of-contents error after the "
                "execution); execute every notebook (drop --notebooks), or add --publish to execute into book/, "
                "where the others keep their committed execution")
    staging = stage(out)
    staging_book = staging / "book"
    _copy_book_pages(staging_book, with_notebooks=publish or not execute_notebooks)
    if execute_notebooks:
        target = BOOK if publish else staging_book
        for source in notebook_sources(only):
            output = target / (source.stem + ".ipynb")
            seconds = execute(source, output, cwd=ROOT, parameters={
                "preset": preset,
                "runs_dir": os.path.relpath(runs_dir, ROOT),
                # a tutorial records no claim, so it has no results folder to be told of
                **({} if source.stem in TUTORIALS else {"results_dir": os.path.relpath(target / "results", ROOT)}),
                **(extra or {}),
            })
            print(f"executed {source.name} at {preset} in {seconds:.0f} s -> {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
        if publish:
            write_scorecard(BOOK)
            write_intro(BOOK)
            _copy_book_pages(staging_book, with_notebooks=True)
    fold_parameters(staging_book)
    write_scorecard(staging_book)
    write_intro(staging_book)
    html = jupyter_book(staging, out)
    print(f"book: open {html / 'index.html'}")
    return html


def reference(runs_dir: Path, only: list[str] | None = None) -> None:
    """Execute every notebook (or those numbered in ``only``) at tiny into tests/nbval and publish the
    tiny claim results (the other notebooks' recorded ones are kept)."""
    REFERENCE.mkdir(parents=True, exist_ok=True)
    started = time.time()
    for source in notebook_sources(only):
        output = REFERENCE / (source.stem + ".ipynb")
        # No injected parameters: nbval replays the notebook as stored, so its defaults (the tiny
        # preset, runs/ and results/ beside the notebook) are what the tests execute.
        seconds = execute(source, output, cwd=REFERENCE, parameters={})
        print(f"reference {source.name} at tiny in {seconds:.0f} s -> {output.relative_to(ROOT)}")
    fresh = REFERENCE / "results" / "tiny"
    published = BOOK / "results" / "tiny"
    published.mkdir(parents=True, exist_ok=True)
    for path in sorted(fresh.glob("claim-*.json")):
        if path.stat().st_mtime >= started:  # recorded by this run: with ``only``, older files are other runs'
            shutil.copy2(path, published / path.name)
    write_scorecard(BOOK)
    write_intro(BOOK)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="tiny", help=f"scale to execute at: {', '.join(sorted(PRESETS))} (default tiny)")
    parser.add_argument("--out", type=Path, help="build folder (default _build/<preset>)")
    parser.add_argument("--publish", action="store_true", help="execute into book/ (the committed book) instead of the staging folder")
    parser.add_argument("--reference", action="store_true",
                        help="refresh the tiny reference notebooks in tests/nbval and book/results/tiny, then stop")
    parser.add_argument("--runs-dir", type=Path, default=ROOT / "runs", help="where contribution stores are kept (default runs/)")
    parser.add_argument("--no-execute", action="store_true", help="build from the executed notebooks already in book/")
    parser.add_argument("--notebooks", type=lambda text: text.split(","), help="execute only these notebooks, by number: 01,02")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="a notebook parameter, as papermill's -p (e.g. -p per_class 25)")
    args = parser.parse_args(argv)
    if args.preset not in PRESETS or args.preset not in SCALES:
        parser.error(f"--preset: must be one of {', '.join(SCALES)}, got {args.preset!r}")
    if args.reference:
        reference(args.runs_dir.resolve(), only=args.notebooks)
        return
    out = (args.out or ROOT / "_build" / args.preset).resolve()
    extra = parse_parameters(args.parameter)
    for reserved in ("preset", "runs_dir", "results_dir"):
        if reserved in extra:
            parser.error(f"-p {reserved}: set by the build; use --preset or --runs-dir instead")
    if args.notebooks is not None and args.no_execute:
        parser.error("--notebooks: chooses notebooks to execute, but --no-execute executes none; drop one of them")
    build(args.preset, out, args.publish, args.runs_dir.resolve(), execute_notebooks=not args.no_execute,
          only=args.notebooks, extra=extra)


if __name__ == "__main__":
    main()
