"""Run the numerically sensitive parts of the project under other CPU code paths and thread counts.

torch picks its CPU kernels at run time from the instruction sets the processor has, so a
float computation can round differently on another machine. Two environment variables force
another choice on this one: ``ATEN_CPU_CAPABILITY`` (torch's own kernels: ``default``,
``avx2``, ``avx512`` where the CPU has it) and ``ONEDNN_MAX_CPU_ISA`` (oneDNN's convolutions:
``SSE41`` is the lowest). Thread counts change the order of parallel sums.

    python scripts/portability.py measure   # execute the notebooks at tiny under every configuration,
                                            # write the spread of every recorded claim value to
                                            # tests/portability/claims_spread.json
    python scripts/portability.py test      # run the numerically sensitive tests under every
                                            # configuration (make test-portable)

``measure`` is what the tolerances of ``tests/test_book.py`` come from: each claim value of a
fresh tiny execution must lie within a few times the spread measured here of the committed
one, and its verdict must not change.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPREAD_FILE = ROOT / "tests" / "portability" / "claims_spread.json"
RUNS = ROOT / "_build" / "portability"  # one file of claim records per configuration, so a measurement can resume
SENSITIVE_TESTS = ["tests/test_attribution.py", "tests/test_sae.py", "tests/test_modes.py", "tests/test_stats.py",
                   "tests/nbval", "tests/test_book.py::test_tiny_claims_reproduce_within_the_measured_spread"]


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def configurations() -> dict[str, dict[str, str]]:
    """Name -> environment changes. ``native`` is torch's own choice with 2 threads."""
    flags = cpu_flags()
    configs = {"aten-default": {"ATEN_CPU_CAPABILITY": "default", "OMP_NUM_THREADS": "2"}}
    # torch's own choice is the widest set the CPU has; forcing it again would repeat that run
    if "avx512f" in flags:
        configs["aten-avx2"] = {"ATEN_CPU_CAPABILITY": "avx2", "OMP_NUM_THREADS": "2"}
    configs["native"] = {"OMP_NUM_THREADS": "2"}
    configs["onednn-sse41"] = {"ONEDNN_MAX_CPU_ISA": "SSE41", "OMP_NUM_THREADS": "2"}
    configs["threads-1"] = {"OMP_NUM_THREADS": "1"}
    return configs


def _leaves(value, path=()):
    """(path, number) for every number in a nested JSON value."""
    if isinstance(value, bool):
        yield path, float(value)
    elif isinstance(value, (int, float)):
        yield path, float(value)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, path + (i,))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, path + (key,))


def numeric_leaves(record: dict) -> dict[str, float]:
    """A claim record's numbers as ``"details/..."`` paths -> value."""
    return {"/".join(map(str, ("details",) + path)): number for path, number in _leaves(record.get("details", {}))}


def execute_tiny(environment: dict[str, str], work: Path, notebooks: list[str] | None = None) -> dict[int, dict]:
    """Execute the notebooks (all, or those numbered in ``notebooks``) at tiny in a fresh folder under
    ``environment``; the claim records."""
    code = (
        "import sys; sys.path.insert(0, {root!r}); sys.path.insert(0, {scripts!r})\n"
        "from pathlib import Path\nimport build_book\n"
        "for source in build_book.notebook_sources({notebooks!r}):\n"
        "    build_book.execute(source, Path({work!r}) / (source.stem + '.ipynb'), cwd=Path({work!r}), parameters={{}})\n"
    ).format(root=str(ROOT), scripts=str(ROOT / "scripts"), work=str(work), notebooks=notebooks)
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, **environment})
    return {int(p.stem.split("-")[1]): json.loads(p.read_text()) for p in sorted((work / "results" / "tiny").glob("claim-*.json"))}


def measure(names: list[str] | None, notebooks: list[str] | None = None) -> dict:
    """Execute the tiny notebooks under each configuration (or read a saved execution) and the spread.

    ``notebooks``: execute only these (e.g. ["03"], a new section) under each configuration and
    merge their claim records into the saved ones of the others.
    """
    configs = configurations()
    chosen = {name: configs[name] for name in (names or configs)}
    runs = {}
    RUNS.mkdir(parents=True, exist_ok=True)
    for name, environment in chosen.items():
        saved = RUNS / f"{name}.json"
        if saved.exists() and not notebooks:
            print(f"{name}: read from {saved.relative_to(ROOT)} (delete it to execute again)", flush=True)
        else:
            with tempfile.TemporaryDirectory() as scratch:
                print(f"executing the notebooks {notebooks or 'all'} at tiny under {name}: {environment}", flush=True)
                records = execute_tiny(environment, Path(scratch), notebooks)
                for executed in Path(scratch).glob("*.ipynb"):  # kept, to compare outputs cell by cell
                    shutil.copy2(executed, RUNS / f"{name}-{executed.name}")
            if notebooks and saved.exists():
                records = {**{int(k): v for k, v in json.loads(saved.read_text())["claims"].items()}, **records}
            saved.write_text(json.dumps({"environment": environment, "claims": records}, indent=1))
        runs[name] = {int(k): v for k, v in json.loads(saved.read_text())["claims"].items()}
    committed = ROOT / "book" / "results" / "tiny"
    runs["committed"] = {int(p.stem.split("-")[1]): json.loads(p.read_text()) for p in sorted(committed.glob("claim-*.json"))}
    # the claims these executions recorded (the committed results hold every claim; a measurement of
    # some notebooks only, on a machine without the saved executions of the others, covers theirs)
    claims = sorted(set().union(*(run.keys() for name, run in runs.items() if name != "committed")))
    import torch

    report = {"configurations": chosen, "native_capability": torch.backends.cpu.get_cpu_capability(),
              "torch": torch.__version__, "cpu_flags": sorted(f for f in cpu_flags() if f.startswith(("avx", "sse", "fma"))),
              "claims": {}}
    for claim in claims:
        values: dict[str, list[float]] = {}
        for run in runs.values():
            if claim not in run:
                raise SystemExit(f"claim {claim} is recorded in some runs only: re-run `make reference` first")
            for path, number in numeric_leaves(run[claim]).items():
                values.setdefault(path, []).append(number)
        verdicts = {name: run[claim]["verdict"] for name, run in runs.items()}
        report["claims"][str(claim)] = {
            "verdicts": verdicts,
            "spread": {path: max(v) - min(v) for path, v in values.items()},
        }
        flips = sorted(set(verdicts.values()))
        widest = max(report["claims"][str(claim)]["spread"].values(), default=0.0)
        print(f"claim {claim:2d}: verdicts {', '.join(flips)}; widest spread of a value {widest:.3g}")
    return report


def run_tests(names: list[str] | None, extra: list[str]) -> int:
    configs = configurations()
    failed = []
    for name in names or configs:
        environment = configs[name]
        print(f"\n=== {name}: {environment}", flush=True)
        # nbval's notebooks keep their stores and SAEs in tests/nbval/runs; ones made under another
        # configuration would be read back instead of computed under this one
        shutil.rmtree(ROOT / "tests" / "nbval" / "runs", ignore_errors=True)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SENSITIVE_TESTS, *extra]
        if subprocess.run(command, cwd=ROOT, env={**os.environ, **environment}).returncode != 0:
            failed.append(name)
    print(f"\nportability: {len(configs) - len(failed)} of {len(configs)} configurations passed"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["measure", "test"])
    parser.add_argument("--configs", type=lambda text: text.split(","),
                        help=f"only these configurations (here: {', '.join(configurations())})")
    parser.add_argument("--notebooks", type=lambda text: text.split(","),
                        help="measure: execute only these notebooks (e.g. 03) and merge their claims into the saved executions")
    args, extra = parser.parse_known_args(argv)
    unknown = sorted(set(args.configs or []) - set(configurations()))
    if unknown:
        parser.error(f"--configs: {', '.join(unknown)} not available on this CPU; choose from {', '.join(configurations())}")
    if args.action == "measure":
        report = measure(args.configs, args.notebooks)
        if SPREAD_FILE.exists():  # claims not measured this time keep their recorded spread
            report["claims"] = {**json.loads(SPREAD_FILE.read_text())["claims"], **report["claims"]}
        SPREAD_FILE.parent.mkdir(parents=True, exist_ok=True)
        SPREAD_FILE.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
        print(f"wrote {SPREAD_FILE.relative_to(ROOT)}")
        return 0
    return run_tests(args.configs, extra)


if __name__ == "__main__":
    raise SystemExit(main())
