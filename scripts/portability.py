"""How far a tiny execution may move on another CPU, and whether it does: tolerances and their checks.

A tiny execution of the book on another machine records other numbers than the committed
ones, for two reasons with different sizes:

* **Rounding.** torch, oneDNN and MKL pick their CPU kernels at run time from the instruction
  sets the processor has (SSE4.1 to AVX-512), and the thread count changes the order of
  parallel sums. A value computed without training (contributions and their statistics)
  moves by float32 rounding only: :data:`ROUNDING`, derived in :func:`rounding_tolerance`.
* **Training.** An SAE or a CNN trained on those values carries a rounding difference through
  hundreds of epochs, thresholds and early stopping, and ends where another seed could have
  put it. What can be promised for a trained value is its *natural variability*: the spread
  of the same value across training seeds (``Preset.training_seed``), measured at tiny on
  one machine and committed (``book/results/tiny/seed-variability.json``). It describes the
  computation, not the machine, so it holds for CPUs nobody has measured.

A fresh value must lie within :data:`SEED_SDS` pooled standard deviations of its group (the
same quantity across classes, layers, settings or superclasses) of the committed value, or
within the widest spread a seed gave any value of the group, and never closer than the rounding
tolerance. A trained group of several values is judged by its mean over them, held to that
tolerance (which bounds the mean's spread too, however its values are correlated), not value by
value: per-class and per-superclass accuracies of 10 to 40 images move in steps and now and then
jump by half their range when a retrained SAE picks other channels, so one more draw of one of
them can exceed any spread 9 seeds showed. Measured: under oneDNN's SSE4.1 kernels one class's
tiny ablation ratio went from 0 to 0.8 (the seeds' widest spread for the group: 0.5) and one
superclass's preserved accuracy from 0.25 to 0.5 (group tolerance 0.14), while both groups'
means stayed within their tolerances. A verdict may differ from the committed one only where the
training seeds themselves disagree on it (the scorecard declares such a verdict as sitting on
its rule's boundary at tiny).

    python scripts/portability.py seeds     # execute notebooks 02-06 at tiny once per training seed and
                                            # write book/results/tiny/seed-variability.json
    python scripts/portability.py seeds --refresh 03   # after a change to notebook 03 alone: execute it
                                            # again per seed, keep the saved claims of the others
    python scripts/portability.py test      # run the numerically sensitive tests under every CPU
                                            # configuration (make test-portable), and write each tiny
                                            # value's deviation as a share of its tolerance to
                                            # tests/portability/code_paths.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED_FILE = ROOT / "book" / "results" / "tiny" / "seed-variability.json"  # codec.scorecard.SEED_VARIABILITY
CHECK_FILE = ROOT / "tests" / "portability" / "code_paths.json"
RUNS = ROOT / "_build" / "portability"  # one file of claim records per configuration or seed, so a measurement can resume
SENSITIVE_TESTS = ["tests/test_attribution.py", "tests/test_sae.py", "tests/test_modes.py", "tests/test_stats.py",
                   "tests/test_portability.py", "tests/nbval",
                   "tests/test_book.py::test_tiny_claims_reproduce_within_their_natural_variability"]
#: the notebooks that train networks (SAEs from section 2 on; the retina CNN in section 5)
TRAINING_NOTEBOOKS = ["02", "03", "04", "05", "06"]
#: training seeds of the committed variability measurement (0 is the book's)
SEEDS = list(range(9))
#: A trained value may lie this many pooled standard deviations (across training seeds) from the
#: committed one. The difference of two draws has sqrt(2) standard deviations, so 6 of them are
#: 4.2 of the difference: a Gaussian draw beyond them is rarer than 3 in 100,000, about 1 in 100
#: over the ~600 values of the tiny claims; heavier tails (accuracies of 5-10 images move in steps)
#: are why the margin is no tighter.
SEED_SDS = 6.0
#: Claims whose tiny verdict the section page declares as sitting on its rule's boundary, beyond those
#: the training seeds split (seed-variability.json): their verdict may differ on another CPU.
DECLARED_BOUNDARY = {8: "notebook 03: contribution modes beat activation modes at 3 of the 6 tiny layers; 'more than half' moves "
                        "with one layer (it did under torch's portable kernels on an AVX2 machine, though no training seed moved it)"}
#: Absolute rounding tolerance of a value of magnitude up to 1 (relative above): see rounding_tolerance.
ROUNDING = 1e-4


def rounding_tolerance(value: float) -> float:
    """How far float32 rounding on another CPU code path may move a value computed without training.

    Derivation, from the computation's size. float32's unit roundoff is u = 2^-24 = 6e-8. A
    kernel that sums n terms in another order (AVX-512 blocks of 16 against AVX2's 8, other
    threads' partial sums) changes the result by about u·sqrt(n) relative, as rounding errors of
    either sign add in quadrature. A contribution of the tiny networks is a chain of about 13
    such sums of n <= 3·3·64 = 576 terms (the ResNet's convolutions; the ViT's matrix products of
    96-384 terms are shorter): u·sqrt(13·576) = 5e-6. Hidden IG subtracts the layer's values at
    neighbouring path points, each about a tenth of the whole at 10 steps, which amplifies the
    relative error about tenfold: 5e-5. Sparsity, correlation and PCA statistics of those
    values are Lipschitz with constants of order 1. Twice that estimate, 1e-4, absolute for
    values up to 1 (most recorded values are shares, correlations and indices in [0, 1], and
    differences of them, whose error is that of their operands) and relative above. Measured:
    the widest move of such a value across ten CPU configurations is 8.7e-6 relative
    (``test``; tests/portability/code_paths.json).
    """
    return ROUNDING * max(1.0, abs(value))


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
    """Name -> environment changes: each library's instruction sets forced down to the lowest, and
    to AVX2 where the CPU has AVX-512 (an AVX2 machine), one at a time and all together; ``native``
    is every library's own choice (the widest the CPU has) with 2 threads."""
    flags = cpu_flags()
    two = {"OMP_NUM_THREADS": "2"}
    lowest = {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"}
    avx2 = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}
    configs = {"native": dict(two)}
    names = {"ATEN_CPU_CAPABILITY": "aten", "ONEDNN_MAX_CPU_ISA": "onednn", "MKL_ENABLE_INSTRUCTIONS": "mkl"}
    for variable, short in names.items():
        configs[f"{short}-{lowest[variable].lower().replace('_', '')}"] = {variable: lowest[variable], **two}
        if "avx512f" in flags:  # torch's own choice is the widest set the CPU has; below it, AVX2
            configs[f"{short}-avx2"] = {variable: avx2[variable], **two}
    if "avx512f" in flags:
        configs["all-avx2"] = {**avx2, **two}
    configs["all-lowest"] = {**lowest, **two}
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


def _structure(value):
    """A JSON value's shape: its keys and lengths, recursively (numbers and strings alike)."""
    if isinstance(value, dict):
        return tuple(sorted((key, _structure(item)) for key, item in value.items()))
    if isinstance(value, list):
        return ("list", len(value), _structure(value[0]) if value else None)
    return "leaf"


def _group_paths(value, path, out: list):
    """The group of every number under ``value``, in :func:`_leaves`' order."""
    if isinstance(value, bool) or isinstance(value, (int, float)):
        out.append("/".join(map(str, path)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _group_paths(item, path + ("*",), out)
    elif isinstance(value, dict):
        # a family: a dict of at least two dicts of one structure (superclasses, pseudo-channel kinds,
        # sources of channels), whose members measure the same quantities
        family = len(value) >= 2 and all(isinstance(item, dict) for item in value.values()) \
            and len({_structure(item) for item in value.values()}) == 1
        for key, item in value.items():
            _group_paths(item, path + ("*" if family else key,), out)


def groups_of(record: dict) -> dict[str, str]:
    """Each number of a claim record (its ``"details/..."`` path, as :func:`numeric_leaves`) -> its group.

    A group is one quantity measured over a family: list positions (classes, layers, settings,
    trials) and the members of a family of like dicts (superclasses, a ViT's three kinds of
    pseudo-channels, the sources of channels) become ``*``. Values of one group vary alike across
    training seeds, so that their variability is estimated from all of them together.
    """
    groups: list[str] = []
    _group_paths(record.get("details", {}), ("details",), groups)
    return dict(zip(numeric_leaves(record), groups, strict=True))  # both walks visit the numbers in one order


def seed_variability(runs: dict[int, dict[int, dict]]) -> dict:
    """Each claim's values and verdicts across training seeds.

    Parameters
    ----------
    runs : dict
        seed -> claim id -> claim record, from executions that differ only in ``training_seed``.

    Returns
    -------
    dict
        ``seeds``; ``claims``: claim id (str) -> ``verdicts`` (seed -> verdict) and ``groups``
        (group path -> ``sd``: the pooled standard deviation of its values across seeds, the root
        mean over its values of their variance across seeds; ``range``: the widest max - min of a
        value across seeds).
    """
    seeds = sorted(runs)
    if len(seeds) < 3:
        raise ValueError(f"runs: a variability needs at least 3 seeds, got {seeds}")
    claims = sorted(set.intersection(*(set(run) for run in runs.values())))
    out = {"seeds": seeds, "claims": {}}
    for claim in claims:
        values: dict[str, list[float]] = {}
        for seed in seeds:
            leaves = numeric_leaves(runs[seed][claim])
            if seed != seeds[0] and leaves.keys() != values.keys():
                raise ValueError(f"claim {claim}: seed {seed} recorded other values than seed {seeds[0]}")
            for path, number in leaves.items():
                values.setdefault(path, []).append(number)
        variances: dict[str, list[float]] = {}
        ranges: dict[str, float] = {}
        group = groups_of(runs[seeds[0]][claim])
        for path, numbers in values.items():
            mean = sum(numbers) / len(numbers)
            variances.setdefault(group[path], []).append(sum((x - mean) ** 2 for x in numbers) / (len(numbers) - 1))
            ranges[group[path]] = max(ranges.get(group[path], 0.0), max(numbers) - min(numbers))
        out["claims"][str(claim)] = {
            "verdicts": {str(seed): runs[seed][claim]["verdict"] for seed in seeds},
            "groups": {group: {"sd": math.sqrt(sum(v) / len(v)), "range": ranges[group]} for group, v in sorted(variances.items())},
        }
    return out


def tolerance(group: str, value: float, variability: dict | None) -> float:
    """How far a fresh tiny value of ``group`` (:func:`groups_of`) may lie from the committed ``value``.

    ``variability``: the claim's entry of the seed variability (None: a claim no training
    reaches). The largest of :data:`SEED_SDS` pooled standard deviations of the group across
    training seeds, the widest spread across seeds of any of the group's values (accuracies of a
    few images move in steps, with heavier tails than a standard deviation describes), and
    :func:`rounding_tolerance`.
    """
    spread = 0.0
    if variability is not None:
        entry = variability["groups"].get(group)
        if entry is None:
            raise KeyError(f"{group}: the seed variability has no such group; rerun `python scripts/portability.py seeds`")
        spread = max(SEED_SDS * entry["sd"], entry["range"])
    return max(spread, rounding_tolerance(value))


def boundary_claims(variability: dict) -> dict[int, dict[str, str]]:
    """Claims whose verdict differs between training seeds: claim id -> seed -> verdict."""
    return {int(claim): entry["verdicts"] for claim, entry in variability["claims"].items()
            if len(set(entry["verdicts"].values())) > 1}


def compare_claims(committed: dict, fresh: dict, variability: dict, claims, skip=(), boundary=()) -> tuple[list[str], dict[int, float]]:
    """A fresh tiny execution's claim records against the committed ones.

    Parameters
    ----------
    committed, fresh : dict
        (claim id, scale) -> record, as :func:`codec.scorecard.load_claims` gives.
    variability : dict
        :func:`seed_variability`'s result (``seed-variability.json``).
    claims : iterable of int
        The claims to compare.
    skip : iterable of int
        Claims not compared (wall-clock measurements).
    boundary : iterable of int
        Claims whose section page declares their verdict at its rule's boundary: their verdict may
        differ (their values are still compared), as may that of claims the training seeds split.

    Returns
    -------
    problems : list of str
        A verdict that flipped where the training seeds agree on it, a value beyond its
        tolerance (with the tolerance and its origin), values recorded in another shape.
    worst : dict
        claim id -> the largest |fresh - committed| / tolerance among its values.
    """
    problems, worst = [], {}
    boundary = set(boundary_claims(variability)) | set(boundary)
    for claim in claims:
        if claim in skip:
            continue
        reference, record = committed[claim, "tiny"], fresh[claim, "tiny"]
        entry = variability["claims"].get(str(claim))
        if entry is not None and reference["verdict"] not in entry["verdicts"].values():
            problems.append(f"claim {claim}: the committed verdict {reference['verdict']!r} is not among those of the training seeds "
                            f"({sorted(set(entry['verdicts'].values()))}): the seed variability is older than the committed results; "
                            "rerun `python scripts/portability.py seeds`")
        if record["verdict"] != reference["verdict"] and claim not in boundary:
            problems.append(f"claim {claim}: verdict {record['verdict']!r}, committed {reference['verdict']!r}, and every training seed "
                            f"gives {reference['verdict']!r}" if entry else
                            f"claim {claim}: verdict {record['verdict']!r}, committed {reference['verdict']!r} (no training is involved)")
        expected, found = numeric_leaves(reference), numeric_leaves(record)
        if found.keys() != expected.keys():
            problems.append(f"claim {claim}: recorded values changed shape: run `make reference` (and `python scripts/portability.py seeds`)")
            continue
        worst[claim] = 0.0
        group = groups_of(reference)
        members: dict[str, list[str]] = {}
        for path in expected:
            members.setdefault(group[path], []).append(path)
        for name, paths in members.items():
            if len(paths) > 1 and entry is not None:
                # a trained group: one draw of one of its values may jump beyond any spread the seeds showed; its mean
                value = sum(expected[path] for path in paths) / len(paths)
                fresh_mean = sum(found[path] for path in paths) / len(paths)
                compared = [(f"{name} (trained: judged by its mean over {len(paths)} values)", value, fresh_mean)]
            else:
                compared = [(path, expected[path], found[path]) for path in paths]
            for path, value, fresh_value in compared:
                allowed = tolerance(name, value, entry)
                deviation = abs(fresh_value - value)
                worst[claim] = max(worst[claim], deviation / allowed)
                if deviation > allowed:
                    origin = (f"{SEED_SDS:g} sd or the widest spread across training seeds" if entry and allowed > rounding_tolerance(value)
                              else "float32 rounding")
                    problems.append(f"claim {claim} {path}: {fresh_value:.6g}, committed {value:.6g} (tolerance {allowed:.3g}: {origin})")
    return problems, worst


def execute_tiny(environment: dict[str, str], work: Path, notebooks: list[str] | None = None,
                 parameters: dict | None = None) -> dict[int, dict]:
    """Execute the notebooks (all, or those numbered in ``notebooks``) at tiny in a fresh folder under
    ``environment``, with papermill ``parameters``; the claim records."""
    code = (
        "import json, sys; sys.path.insert(0, {root!r}); sys.path.insert(0, {scripts!r})\n"
        "from pathlib import Path\nimport build_book\n"
        "for source in build_book.notebook_sources({notebooks!r}):\n"
        "    build_book.execute(source, Path({work!r}) / (source.stem + '.ipynb'), cwd=Path({work!r}), parameters=json.loads({parameters!r}))\n"
    ).format(root=str(ROOT), scripts=str(ROOT / "scripts"), work=str(work), notebooks=notebooks,
             parameters=json.dumps(parameters or {}))
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, **environment})
    return {int(p.stem.split("-")[1]): json.loads(p.read_text()) for p in sorted((work / "results" / "tiny").glob("claim-*.json"))}


def _saved_run(saved: Path, environment: dict, notebooks, parameters=None) -> dict[int, dict]:
    """The claim records of one execution, read from ``saved`` or executed and saved there."""
    if saved.exists():
        print(f"{saved.stem}: read from {saved.relative_to(ROOT)} (delete it to execute again)", flush=True)
    else:
        with tempfile.TemporaryDirectory() as scratch:
            print(f"{saved.stem}: executing the notebooks {notebooks or 'all'} at tiny ({environment or 'native'}, {parameters or {}})",
                  flush=True)
            records = execute_tiny(environment, Path(scratch), notebooks, parameters)
            for executed in Path(scratch).glob("*.ipynb"):  # kept, to compare outputs cell by cell
                shutil.copy2(executed, RUNS / f"{saved.stem}-{executed.name}")
        saved.write_text(json.dumps({"environment": environment, "parameters": parameters or {}, "claims": records}, indent=1))
    return {int(k): v for k, v in json.loads(saved.read_text())["claims"].items()}


def _refresh_run(saved: Path, notebooks: list[str], parameters: dict) -> None:
    """Execute ``notebooks`` again and put the claims they record in place of those ``saved`` holds
    (the other notebooks' claims are kept); print which claims changed."""
    previous = json.loads(saved.read_text())
    with tempfile.TemporaryDirectory() as scratch:
        print(f"{saved.stem}: executing the notebooks {notebooks} again at tiny ({parameters})", flush=True)
        records = execute_tiny({}, Path(scratch), notebooks, parameters)
        for executed in Path(scratch).glob("*.ipynb"):
            shutil.copy2(executed, RUNS / f"{saved.stem}-{executed.name}")
    changed = sorted(claim for claim, record in records.items() if previous["claims"].get(str(claim)) != record)
    print(f"{saved.stem}: claims {sorted(records)} recorded again; changed: {changed or 'none'}", flush=True)
    previous["claims"] |= {str(claim): record for claim, record in records.items()}
    saved.write_text(json.dumps(previous, indent=1))


def measure_seeds(seeds: list[int], notebooks: list[str], refresh: list[str] | None = None) -> dict:
    """Execute ``notebooks`` at tiny once per training seed (natively; the stores are shared, the
    SAEs and CNNs are cached per seed) and their variability (:func:`seed_variability`).

    ``refresh``: notebooks to execute again where a seed's run is saved already (after a change to
    them alone), keeping the claims of the others."""
    RUNS.mkdir(parents=True, exist_ok=True)
    shared_runs = RUNS / "seed-runs"
    runs = {}
    for seed in seeds:
        parameters = {"preset": {"name": "tiny", "training_seed": seed}, "runs_dir": str(shared_runs)}
        saved = RUNS / f"seed-{seed}.json"
        if refresh and saved.exists():
            _refresh_run(saved, refresh, parameters)
        runs[seed] = _saved_run(saved, {}, notebooks, parameters)
    import torch

    report = seed_variability(runs)
    report |= {"notebooks": notebooks, "torch": torch.__version__, "capability": torch.backends.cpu.get_cpu_capability(),
               "sds": SEED_SDS}
    for claim, boundary in boundary_claims(report).items():
        print(f"claim {claim:2d}: its verdict differs between training seeds: {boundary}")
    return report


def code_path_report(name: str, environment: dict, results: Path) -> dict:
    """One configuration's tiny claim records (``results``: a ``results/tiny`` folder) against the
    committed ones: per claim the largest deviation as a share of its tolerance, the problems, and
    the verdicts that differ."""
    sys.path.insert(0, str(ROOT))
    from codec.scorecard import load_claims

    committed = load_claims(ROOT / "book" / "results")
    fresh = {(record["claim"], "tiny"): record
             for record in (json.loads(p.read_text()) for p in sorted(results.glob("claim-*.json")))}
    claims = sorted(claim for claim, _ in fresh)
    problems, worst = compare_claims(committed, fresh, json.loads(SEED_FILE.read_text()), claims, skip={16}, boundary=DECLARED_BOUNDARY)
    return {"environment": environment, "worst_share_of_tolerance": worst, "problems": problems,
            "verdicts_differing": {claim: fresh[claim, "tiny"]["verdict"] for claim in claims
                                   if fresh[claim, "tiny"]["verdict"] != committed[claim, "tiny"]["verdict"]}}


def _commit() -> str:
    """The checked-out commit (short hash, with ``+changes`` when the work tree differs from it)."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def run_tests(names: list[str] | None, extra: list[str]) -> int:
    """The numerically sensitive tests once per configuration; each one's tiny claim values against
    their tolerances are added to tests/portability/code_paths.json."""
    import torch

    configs = configurations()
    failed = []
    report = json.loads(CHECK_FILE.read_text()) if CHECK_FILE.exists() else {"configurations": {}}
    report |= {"torch": torch.__version__, "native_capability": torch.backends.cpu.get_cpu_capability(),
               "cpu_flags": sorted(f for f in cpu_flags() if f.startswith(("avx", "sse", "fma")))}
    for name in names or configs:
        environment = configs[name]
        print(f"\n=== {name}: {environment}", flush=True)
        # nbval's notebooks keep their stores and SAEs in tests/nbval/runs; ones made under another
        # configuration would be read back instead of computed under this one
        shutil.rmtree(ROOT / "tests" / "nbval" / "runs", ignore_errors=True)
        basetemp = RUNS / f"pytest-{name}"
        shutil.rmtree(basetemp, ignore_errors=True)
        RUNS.mkdir(parents=True, exist_ok=True)  # pytest makes basetemp, not its parents
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp", str(basetemp), *SENSITIVE_TESTS, *extra]
        if subprocess.run(command, cwd=ROOT, env={**os.environ, **environment}).returncode != 0:
            failed.append(name)
        results = sorted(basetemp.glob("tiny-build*/site/src/book/results/tiny"))
        if results:
            report["configurations"][name] = code_path_report(name, environment, results[0]) | {"commit": _commit()}
            worst = report["configurations"][name]["worst_share_of_tolerance"]
            print(f"{name}: the largest deviation of a tiny claim value is {max(worst.values()):.2f} of its tolerance", flush=True)
            CHECK_FILE.parent.mkdir(parents=True, exist_ok=True)
            CHECK_FILE.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    print(f"\nportability: {len(names or configs) - len(failed)} of {len(names or configs)} configurations passed"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["seeds", "test"])
    parser.add_argument("--configs", type=lambda text: text.split(","),
                        help=f"test: only these configurations (here: {', '.join(configurations())})")
    parser.add_argument("--seeds", type=lambda text: [int(s) for s in text.split(",")], default=SEEDS,
                        help=f"seeds: the training seeds (default {','.join(map(str, SEEDS))})")
    parser.add_argument("--refresh", type=lambda text: text.split(","),
                        help="seeds: execute these notebooks again where a seed's run is saved already, keeping the others' claims")
    parser.add_argument("--notebooks", type=lambda text: text.split(","), default=TRAINING_NOTEBOOKS,
                        help=f"seeds: the notebooks executed per seed (default {','.join(TRAINING_NOTEBOOKS)}: those that train)")
    args, extra = parser.parse_known_args(argv)
    unknown = sorted(set(args.configs or []) - set(configurations()))
    if unknown:
        parser.error(f"--configs: {', '.join(unknown)} not available on this CPU; choose from {', '.join(configurations())}")
    if args.action == "seeds":
        if len(args.seeds) < 3:
            parser.error(f"--seeds: a variability needs at least 3 seeds, got {args.seeds}")
        if args.refresh and not set(args.refresh) <= set(args.notebooks):
            parser.error(f"--refresh: {sorted(set(args.refresh) - set(args.notebooks))} are not among --notebooks {args.notebooks}")
        report = measure_seeds(args.seeds, args.notebooks, args.refresh)
        SEED_FILE.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
        print(f"wrote {SEED_FILE.relative_to(ROOT)}")
        return 0
    return run_tests(args.configs, extra)


if __name__ == "__main__":
    raise SystemExit(main())
