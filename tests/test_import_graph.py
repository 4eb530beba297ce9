"""The import graph of ``src/tempoforge``: no cycles, and every edge points down the stage order.

The graph is read from the source with ``ast`` (nothing is imported). An edge ``a -> b`` is any import of
``b`` by ``a``: module level or inside a function (a lazy import still makes ``a`` depend on ``b``),
absolute or relative, ``from pkg import submodule`` counting as an edge to the submodule; a string literal
that names one of our modules (``"tempoforge.train.recipes.temple"`` in a table that ``importlib`` loads)
counts too. Imports under ``if TYPE_CHECKING:`` are left out (they never run).

Layers, bottom to top; a unit is a package under ``tempoforge/`` or a top-level module::

    core     tempoforge/__init__, errors, records, timecode, config, presets   (import no other layer)
    io  ->  world  ->  curate | eval  ->  models  ->  synth  ->  train  ->  study | plan  ->  demo
    cli      cli.py (loads every stage's ``commands`` module)

A unit may import units of lower layers only; units that share a layer (curate and eval, study and plan)
do not import each other; modules of ``core`` may import each other. No module-level cycle anywhere, inside
a package included (a lazy import closing a loop is still a loop).
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterable
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

LAYERS: list[tuple[str, ...]] = [
    # core: what every stage may import; cli_parts and lazy import nothing of ours, timestamps only the core
    ("tempoforge", "errors", "records", "timecode", "config", "presets", "timestamps", "cli_parts", "lazy"),
    ("io",),
    ("world",),
    ("curate", "eval"),
    ("models",),
    ("synth",),
    ("train",),
    ("study", "plan"),
    ("demo",),
    ("cli",),
]
CORE = LAYERS[0]

# ------------------------------------------------------------------------------------------- the graph
def module_files(src: Path, package: str = "tempoforge") -> dict[str, tuple[Path, bool]]:
    """``{dotted module name: (file, is a package __init__)}`` for every module of ``package`` under ``src``."""
    out: dict[str, tuple[Path, bool]] = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return out


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """Ids of every node under an ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``) block."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else ""
            if name == "TYPE_CHECKING":
                out.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return out


def _imported(node: ast.AST, here: str, is_pkg: bool, modules: Iterable[str]) -> list[str]:
    """The modules of ours that ``node`` (an import, or a string naming a module) makes ``here`` depend on."""
    known = set(modules)
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in known]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = (here if is_pkg else here.rpartition(".")[0]).split(".")
            base = base[:len(base) - (node.level - 1)]
            mod = ".".join(base + ([node.module] if node.module else []))
        else:
            mod = node.module or ""
        out = []
        for alias in node.names:
            sub = f"{mod}.{alias.name}"
            if sub in known:
                out.append(sub)  # ``from pkg import submodule``
            elif mod in known:
                out.append(mod)
        return out
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and "." in node.value and node.value in known:
        return [node.value]  # a module loaded by name (``importlib.import_module``)
    return []


def import_graph(src: Path, package: str = "tempoforge") -> dict[str, set[str]]:
    """``{module: modules of ours it imports}`` for every module of ``package`` (see the module docstring)."""
    files = module_files(src, package)
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, (path, is_pkg) in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        skip = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) not in skip:
                graph[mod].update(t for t in _imported(node, mod, is_pkg, files) if t != mod)
    return graph


def unit(module: str) -> str:
    """The layered unit of a module: its package under ``tempoforge/``, or the top-level module's name."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = itertools.count()

    def visit(v: str) -> None:
        index[v] = low[v] = next(counter)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def layering_violations(graph: dict[str, set[str]], layers: list[tuple[str, ...]]) -> list[str]:
    """Every edge that does not point to a lower layer (core modules may import each other)."""
    rank = {u: i for i, names in enumerate(layers) for u in names}
    out = []
    for a in sorted(graph):
        for b in sorted(graph[a]):
            ua, ub = unit(a), unit(b)
            if ua == ub or (ua in layers[0] and ub in layers[0]):
                continue
            if rank[ub] >= rank[ua]:
                kind = "sideways (same layer)" if rank[ub] == rank[ua] else "upward"
                out.append(f"{a} -> {b}: {kind}, {ua} (layer {rank[ua]}) imports {ub} (layer {rank[ub]})")
    return out


def _graph() -> dict[str, set[str]]:
    return import_graph(SRC)


# ------------------------------------------------------------------------------------------- the rules
def test_every_unit_has_a_layer() -> None:
    placed = {u for names in LAYERS for u in names}
    units = {unit(m) for m in import_graph(SRC)}
    assert units - placed == set(), "a new package or top-level module: add it to LAYERS (and CONTRIBUTING.md)"
    assert placed - units == set(), "LAYERS names a unit that no longer exists"


def test_no_import_cycles() -> None:
    assert cycles(_graph()) == []


def test_every_edge_points_down_the_stage_order() -> None:
    assert layering_violations(_graph(), LAYERS) == []


def test_models_import_nothing_from_training() -> None:
    """The back-edges issue 22 removed: frames and log-probs are the models stage's, not training's."""
    graph = import_graph(SRC)
    assert {(a, b) for a in graph for b in graph[a] if unit(a) == "models" and unit(b) == "train"} == set()
    assert "tempoforge.models.video" in graph["tempoforge.models.predict"]
    assert "tempoforge.models.video" in graph["tempoforge.train.data"]
    assert "tempoforge.models.logps" in graph["tempoforge.models.evidence"]


def test_curation_runners_do_not_import_the_pipeline() -> None:
    graph = import_graph(SRC)
    runners = [m for m in graph if m.startswith("tempoforge.curate.runners")]
    assert len(runners) == 4
    assert all("tempoforge.curate.pipeline" not in graph[m] for m in runners)
    assert "tempoforge.curate.runners.local" in graph["tempoforge.curate.pipeline"]


# ------------------------------------------------------------------------------------------- the reader
def _package(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / "pkg" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_reader_sees_every_kind_of_import(tmp_path: Path) -> None:
    src = _package(tmp_path, {
        "__init__.py": "",
        "low/__init__.py": "from .base import thing\n",
        "low/base.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.high import x\nthing = 1\n",
        "low/other.py": "from . import base\n",
        "high/__init__.py": "",
        "high/mod.py": ("import pkg.low.base\nfrom ..low import other\n"
                        "def f():\n    from pkg.low.other import y\n    return y\n"
                        "TABLE = {'a': 'pkg.low.base', 'b': 'not a module', 'c': 'pkg'}\n"),
    })
    graph = import_graph(src, "pkg")
    assert graph["pkg.low"] == {"pkg.low.base"}  # relative ``from .base import name``
    assert graph["pkg.low.base"] == set()  # TYPE_CHECKING-only imports are left out
    assert graph["pkg.low.other"] == {"pkg.low.base"}  # ``from . import submodule``: the submodule
    # absolute, relative two levels up, inside a function, and a module named by a string ("pkg" alone is
    # a word, not a dotted module name)
    assert graph["pkg.high.mod"] == {"pkg.low.base", "pkg.low.other"}


def test_checks_find_a_planted_cycle_and_upward_edge(tmp_path: Path) -> None:
    src = _package(tmp_path, {
        "__init__.py": "",
        "low/__init__.py": "",
        "low/a.py": "def f():\n    from pkg.low import b\n",  # lazy import closes the loop
        "low/b.py": "from pkg.low.a import f\nfrom pkg.high import c\n",
        "high/__init__.py": "",
        "high/c.py": "import pkg.low.a\n",
    })
    graph = import_graph(src, "pkg")
    assert cycles(graph) == [["pkg.high.c", "pkg.low.a", "pkg.low.b"]]
    assert layering_violations(graph, [("pkg",), ("low",), ("high",)]) == [
        "pkg.low.b -> pkg.high.c: upward, low (layer 1) imports high (layer 2)"]
    assert layering_violations(graph, [("pkg",), ("low", "high")]) == [
        "pkg.high.c -> pkg.low.a: sideways (same layer), high (layer 1) imports low (layer 1)",
        "pkg.low.b -> pkg.high.c: sideways (same layer), low (layer 1) imports high (layer 1)"]
