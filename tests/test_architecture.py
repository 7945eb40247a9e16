"""The package's shape: no import cycles in model/, small report modules, products that never name a model,
and `python -m model models` listing the registries."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

from model import classical, models
from model.cli import main

PACKAGE = Path(__file__).resolve().parents[1] / "model"
# Modules that orchestrate or render and must ask the registry instead of naming a model.
PRODUCTS = (
    "fit.py",
    "evaluate.py",
    "importance.py",
    "validate.py",
    "sbc.py",
    "figures.py",
    "bench",
    "claims.py",
    "literature.py",
    "report",
)
REPORT_MAX_LINES = 500


def module_name(path: Path) -> str:
    """Dotted module name of a file under model/ (a package's __init__ is the package)."""
    parts = ["model", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the model modules it imports anywhere in its source (function-level imports included)."""
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from model import atomic` imports the module model.atomic; `from model.x import f` model.x.
                targets = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
            for t in targets:
                while t and t not in files:
                    t = t.rpartition(".")[0]
                if t and t != name and t != "model":
                    edges.add(t)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first = last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node], _ = 1, stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_import_graph_of_model_has_no_cycle():
    graph = import_graph()
    assert "model.fit" in graph["model.cli"] or "model.fit" in set().union(*graph.values())
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    """The check above can fail: a two-module loop is reported."""
    assert find_cycle({"a": {"b"}, "b": {"a"}, "c": set()}) == ["a", "b", "a"]


def test_no_report_module_is_over_500_lines():
    for path in (PACKAGE / "report").glob("*.py"):
        n = len(path.read_text(encoding="utf-8").splitlines())
        assert n <= REPORT_MAX_LINES, f"{path.name}: {n} lines"


def test_products_never_name_a_registered_model():
    names = [*models.REGISTRY, *classical.ESTIMATORS]
    for entry in PRODUCTS:
        paths = sorted((PACKAGE / entry).glob("*.py")) if (PACKAGE / entry).is_dir() else [PACKAGE / entry]
        for path in paths:
            text = path.read_text(encoding="utf-8")
            for name in names:
                hits = [m.start() for m in re.finditer(rf"[\"']{name}[\"']", text)]
                legacy = "LEGACY_MAIN_MODEL" in text and name == "vote_share_latent" and len(hits) == 1
                assert not hits or legacy, f"{path.name} names the model {name!r}"


def test_models_command_lists_every_registered_model_and_estimator_one_line_each(capsys):
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    names = [*models.REGISTRY, *classical.ESTIMATORS]
    assert [line.split()[0] for line in lines] == names
    main_lines = [line for line in lines if "(main)" in line]
    assert len(main_lines) == 1 and main_lines[0].startswith(models.main_name())


def make_fit_dry_run(*extra: str) -> str:
    """The commands `make fit` would run (make -n), with extra variables."""
    cmd = ["make", "-n", "-o", ".venv/.installed", "fit", *extra]
    return subprocess.run(cmd, cwd=PACKAGE.parent, capture_output=True, text=True, check=True).stdout


def test_make_fit_passes_a_models_subset_and_fits_all_by_default():
    assert "--models head_to_head vote_share_plugin" in make_fit_dry_run("MODELS=head_to_head vote_share_plugin")
    assert "--models" not in make_fit_dry_run()


def test_make_fit_passes_skipped_steps_and_iterate_fits_only_the_main_model_without_them():
    assert "--skip loco forecast" in make_fit_dry_run("SKIP=loco forecast")
    assert "--skip" not in make_fit_dry_run()
    cmd = ["make", "-n", "-o", ".venv/.installed", "iterate", "PRIORS=mine.toml"]
    out = subprocess.run(cmd, cwd=PACKAGE.parent, capture_output=True, text=True, check=True).stdout
    assert "--models main" in out and "--skip loco forecast sweep" in out and "--priors mine.toml" in out
