"""The package's shape: data flows one way, and no module reaches for another's private names."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "fastrank"


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def _imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, str]]:
    """(module imported, name imported from it) for every fastrank import of ``name``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.append((submodule, "") if submodule in modules else (target, alias.name))
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
    return [(module, imported) for module, imported in found if module.split(".")[0] == "fastrank"]


def test_no_module_imports_a_private_name_from_another():
    modules = _modules()
    private = [
        f"{name} imports {imported} from {module}"
        for name, path in modules.items()
        for module, imported in _imports(name, path, modules)
        if imported.startswith("_") and not imported.startswith("__") and module != name
    ]
    assert private == []


def test_there_is_no_import_cycle():
    modules = _modules()
    graph = {
        name: {m for m, _ in _imports(name, path, modules) if m in modules} for name, path in modules.items()
    }
    # A package's __init__ re-exports its modules: importing a package is not a dependency cycle
    # for the modules it holds, so edges into a package from inside it are left out.
    graph = {name: {m for m in deps if not name.startswith(m + ".")} for name, deps in graph.items()}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(name) :], name]))
        if name in done:
            return
        for dependency in sorted(graph[name]):
            visit(dependency, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def _readme_layout() -> list[str]:
    """The entries of the README's Layout block, in its order: a top-level module
    (``fastrank.errors``) or a folder (``fastrank.inputs``), as module names."""
    block = (PACKAGE.parent / "README.md").read_text().split("## Layout", 1)[1].split("```", 2)[1]
    listed = []
    for line in block.splitlines():
        path = line.split()[0] if line.strip() else ""
        if path.startswith("fastrank/"):
            name = path.removesuffix("/").removesuffix(".py").removesuffix("/__init__")
            listed.append(name.replace("/", "."))
    return listed


def test_the_readme_layout_lists_every_folder_above_what_it_imports():
    """A module imports from its own folder and from the entries listed below its own."""
    modules = _modules()
    listed = _readme_layout()
    assert sorted(set(listed) - set(modules)) == []  # nothing listed that is not there

    def entry(name: str) -> str:
        while name not in listed:  # a folder's modules are listed by the folder's line
            assert name.count(".") > 1, f"{name}: not in the README's Layout"
            name = name.rpartition(".")[0]
        return name

    upward = []
    for name, path in modules.items():
        here = entry(name)
        for imported in {m for m, _ in _imports(name, path, modules) if m in modules and m != name}:
            there = entry(imported)
            if there != here and listed.index(there) < listed.index(here):
                upward.append(f"{name} imports {imported}, listed above it")
    assert upward == []


def test_the_layout_test_sees_the_package():
    modules = _modules()
    assert {
        "fastrank.api.evaluate",
        "fastrank.api.options",
        "fastrank.scoring.forward",
        "fastrank.kernels.topk",
    } <= (set(modules))
    imported = {m for m, _ in _imports("fastrank.api.evaluate", modules["fastrank.api.evaluate"], modules)}
    assert "fastrank.engines.protocol" in imported


def test_fastrank_shows_its_folders_with_few_modules_beside_them():
    top = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(top) <= 12, top
    folders = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    assert folders >= {
        "cli",
        "api",
        "compare",
        "engines",
        "inputs",
        "scoring",
        "metrics",
        "arrays",
        "kernels",
    }


PUBLIC_VERBS = {"evaluate", "evaluate_run", "compare", "compare_runs", "ranking_metrics", "__init__"}
"""The public verbs (and RankingMetrics' constructor), whose long keyword signatures stay as users
know them; every other function takes a few arguments and records."""


def test_no_function_takes_more_than_15_parameters_but_the_public_verbs():
    long = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name not in PUBLIC_VERBS:
                args = node.args
                count = len(args.posonlyargs) + len(args.args) + len(args.kwonlyargs)
                if count > 15:
                    long.append(f"{name}.{node.name}: {count}")
    assert long == []
