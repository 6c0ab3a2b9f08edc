"""The package's import graph: one way, no cycles, no module reaching into another's private names.

Read from the source with ``ast`` (every import, also those inside functions), so a lazy import
that closes a cycle counts as one.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "codec"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def known_modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module named by a ``from ... import`` statement."""
    if node.level == 0:
        return node.module or ""
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_edges(modules: dict[str, Path]):
    """(importer, imported module, names) for every import of a codec module."""
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "codec":
                        yield name, alias.name, []
            elif isinstance(node, ast.ImportFrom):
                target = resolve(name, path.name == "__init__.py", node)
                if target.split(".")[0] != "codec":
                    continue
                for alias in node.names:
                    submodule = f"{target}.{alias.name}"
                    if submodule in modules:  # ``from . import data`` imports the module codec.data
                        yield name, submodule, []
                    else:
                        yield name, target, [alias.name]


def graph(modules) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for importer, imported, _names in import_edges(modules):
        # a package's __init__ importing its own submodules is how a package exposes them
        if importer != imported and not (modules[importer].name == "__init__.py" and imported.startswith(importer + ".")):
            edges[importer].add(imported)
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_import_graph_of_codec_has_no_cycle():
    cycle = find_cycle(graph(known_modules()))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_no_module_imports_another_modules_private_names():
    modules = known_modules()
    private = [f"{importer} imports {name} from {imported}" for importer, imported, names in import_edges(modules)
               for name in names if name.startswith("_") and not name.endswith("__") and imported != importer]
    assert private == []


def test_the_checks_can_fail():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    node = ast.parse("from ..data import x").body[0]
    assert resolve("codec.models.shapes", False, node) == "codec.data"
    assert resolve("codec.models", True, ast.parse("from .base import y").body[0]) == "codec.models.base"


PUBLIC_SUBMODULES = ["attribution", "checks", "classes", "control", "data", "experiment", "heads", "hooks", "models", "modes", "page", "plots",
                     "presets", "reduce", "retina", "sae", "scorecard", "stats", "store", "targets", "tokens", "visualize"]


def test_every_module_the_readme_lists_is_a_public_submodule():
    import re

    import codec

    table = (ROOT / "README.md").read_text().split("## What is in the package")[1].split("\n\n")[2]
    listed = {name for name in re.findall(r"`codec\.([a-z_]+)`", table) if not callable(getattr(codec, name, None))}  # not codec.contributions
    assert len(listed) > 15 and listed <= set(PUBLIC_SUBMODULES), f"README lists {sorted(listed - set(PUBLIC_SUBMODULES))} too"


def test_import_codec_exposes_every_public_submodule():
    # a fresh interpreter: in this one, other tests have imported the submodules already
    code = "import codec; print(','.join(n for n in %r if not hasattr(codec, n)))" % PUBLIC_SUBMODULES
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "", f"import codec does not expose: {completed.stdout.strip()}"


def test_import_codec_does_not_import_the_plotting_stack_until_asked():
    code = ("import sys, codec; print('matplotlib' in sys.modules, 'seaborn' in sys.modules); "
            "codec.plots; print('seaborn' in sys.modules)")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["False", "False", "True"]


# Modules past about 400 lines that still hold one concept, or are still to be split (a new one
# past the limit fails here: split it into a package by concept, as codec.control was).
LONG_MODULES = {"codec.attribution": 820, "codec.data": 730}


def test_modules_stay_small_enough_to_hold_one_concept():
    too_long = {name: len(path.read_text().splitlines()) for name, path in known_modules().items()
                if len(path.read_text().splitlines()) > LONG_MODULES.get(name, 430)}
    assert too_long == {}, f"modules past their line limit: {too_long}; split them by concept"
