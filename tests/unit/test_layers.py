"""The import contract: layers only import downwards (import-linter), and no module takes part in a cycle.

The layers are declared once, in pyproject.toml's [tool.importlinter]; `make lint` runs `lint-imports` too,
so a front end reaching past the API, the engine loading the QEMU harness, or the leaf layer importing
anything of ours fails the build.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("installer", "storage", "profiles", "ui", "iso", "sample")
EXAMPLE = ROOT / "profiles" / "examples" / "sample.yaml"


def import_cycles(graph: grimp.ImportGraph, modules: Iterable[str]) -> list[list[str]]:
    """Every strongly connected set of more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(start: str) -> None:
        # Iterative, so a long import chain cannot hit Python's recursion limit.
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))

    for module in sorted(modules):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_through_others() -> None:
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False, cache_dir=None)
    cycles = import_cycles(graph, graph.modules)
    assert not cycles, "import cycles (break each by moving the shared part down a layer):\n" + "\n".join(
        " <-> ".join(group) for group in cycles)


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for name in ("a", "b", "c", "d"):
        graph.add_module(name)
    graph.add_import(importer="a", imported="b")
    graph.add_import(importer="b", imported="c")
    graph.add_import(importer="c", imported="a")
    graph.add_import(importer="c", imported="d")
    assert import_cycles(graph, graph.modules) == [["a", "b", "c"]]


def test_the_layers_contract_is_kept() -> None:
    done = subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:]


def test_tests_import_only_the_shared_support() -> None:
    """A test module imports fixtures and helpers from tests/support, never from another test module."""
    tests = ROOT / "tests"
    wrong = []
    for path in sorted(tests.rglob("*.py")):
        if path.is_relative_to(tests / "support"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            if node.module.startswith("tests.") and not node.module.startswith("tests.support"):
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}: from {node.module} import ...")
    assert not wrong, "move what these share into tests/support:\n" + "\n".join(wrong)


def test_validate_never_loads_the_qemu_harness() -> None:
    code = (
        "import sys\n"
        "from installer.cli import main\n"
        f"rc = main(['validate', {str(EXAMPLE)!r}])\n"
        "loaded = sorted(m for m in sys.modules if m == 'iso' or m.startswith(('iso.', 'sample'))\n"
        "                or 'qemu' in m or m.startswith('installer.vm'))\n"
        "print('RESULT', rc, loaded)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "RESULT 0 []", done.stdout


def test_the_launcher_needs_nothing_but_the_standard_library() -> None:
    # It runs on the live system's python before anything else: of ours, only two leaf modules it shares
    # with the installer (the machine's identity, a file's SHA-256), themselves standard library only.
    graph = grimp.build_graph(*PACKAGES, "yaml", include_external_packages=True, cache_dir=None)
    ours = {"installer", "iso", "profiles", "storage", "ui", "sample", "yaml"}
    shared = {"installer.core.machine", "installer.core.digest"}
    imported = graph.find_modules_directly_imported_by("iso.launcher")
    assert {m for m in imported if m.split(".")[0] in ours} == shared
    for module in shared:
        assert not [m for m in graph.find_modules_directly_imported_by(module) if m.split(".")[0] in ours]
