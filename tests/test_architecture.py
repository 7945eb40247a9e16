"""The package's shape: folders as layers, no import cycles in model/, small modules, products that never name a model,
and `python -m model models` listing the registries."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

from model import models
from model.cli import main
from model.models import classical

PACKAGE = Path(__file__).resolve().parents[1] / "model"
# Modules that orchestrate or render and must ask the registry instead of naming a model.
PRODUCTS = ("fit.py", "inference/importance.py", "evaluation", "outputs", "tools")
MODULE_MAX_LINES = 500
# The folders of model/ from the bottom up (the layers of docs/ARCHITECTURE.md): a module imports only from its own
# folder or a lower rank. inference and models share a rank and never import each other; tools (the bench) may
# import anything and nothing imports it. The top-level modules are priors, fit, cli and __main__.
LAYERS = {
    "infra": 0,
    "dataset": 1,
    "priors": 2,
    "inference": 3,
    "models": 3,
    "evaluation": 4,
    "outputs": 5,
    "fit": 6,
    "cli": 7,
    "__main__": 8,
    "tools": 9,
}


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


def layer_of(module: str) -> str:
    """The folder (or top-level module) of model/ a dotted module name sits in."""
    return module.split(".")[1]


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """Imports that go up the layers, or sideways between two folders of the same rank."""
    bad = []
    for module, targets in graph.items():
        if module == "model":
            continue
        for target in targets:
            a, b = layer_of(module), layer_of(target)
            if LAYERS[b] > LAYERS[a] or (LAYERS[b] == LAYERS[a] and a != b):
                bad.append(f"{module} ({a}) imports {target} ({b})")
    return sorted(bad)


def test_every_module_sits_in_a_known_layer():
    assert {layer_of(m) for m in import_graph() if m != "model"} <= set(LAYERS)


def test_no_module_imports_up_the_layers_or_across_a_rank():
    assert layer_violations(import_graph()) == []


def test_the_layer_check_finds_an_upward_and_a_sideways_import():
    """The check above can fail: dataset importing evaluation, and models importing inference, are reported."""
    graph = {"model.dataset.raw": {"model.evaluation.skill"}, "model.models.base": {"model.inference.sampling"}}
    assert len(layer_violations(graph)) == 2
    assert layer_violations({"model.fit": {"model.outputs.figures", "model.infra.atomic"}}) == []


def test_each_folder_states_its_rule_in_its_init():
    for folder in ("infra", "dataset", "inference", "models", "evaluation", "outputs", "tools"):
        doc = ast.get_docstring(ast.parse((PACKAGE / folder / "__init__.py").read_text(encoding="utf-8")))
        assert doc and len(doc.splitlines()[0]) > 20, folder


def test_no_module_is_over_500_lines():
    for path in PACKAGE.rglob("*.py"):
        n = len(path.read_text(encoding="utf-8").splitlines())
        assert n <= MODULE_MAX_LINES, f"{path.relative_to(PACKAGE)}: {n} lines"


def test_products_never_name_a_registered_model():
    names = [*models.REGISTRY, *classical.ESTIMATORS]
    for entry in PRODUCTS:
        paths = sorted((PACKAGE / entry).rglob("*.py")) if (PACKAGE / entry).is_dir() else [PACKAGE / entry]
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
