"""Who may import whom: the engine never loads iso/ (the ISO builder and the QEMU harness), and iso/
uses only the engine's leaf layer (installer.core), profiles and storage."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
EXAMPLE = TOP / "profiles" / "examples" / "sample.yaml"


def imports(path: Path) -> Iterator[tuple[str, str | None]]:
    """(imported module, enclosing function or None) for every import statement in the file."""
    tree = ast.parse(path.read_text(), str(path))

    def walk(node: ast.AST, function: str | None) -> Iterator[tuple[str, str | None]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                yield from ((alias.name, function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                yield child.module, function
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            yield from walk(child, inner)

    yield from walk(tree, None)


def top(module: str) -> str:
    return module.split(".")[0]


def test_validate_never_loads_the_qemu_harness() -> None:
    code = (
        "import sys\n"
        "from installer.cli import main\n"
        f"rc = main(['validate', {str(EXAMPLE)!r}])\n"
        "loaded = sorted(m for m in sys.modules if m == 'iso' or m.startswith(('iso.', 'sample'))\n"
        "                or 'qemu' in m or m.startswith('installer.vm'))\n"
        "print('RESULT', rc, loaded)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=TOP, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "RESULT 0 []", done.stdout


def test_the_engine_imports_iso_only_in_the_vm_command() -> None:
    found = [
        (str(path.relative_to(TOP)), module, function)
        for package in ("installer", "storage", "profiles", "ui")
        for path in sorted((TOP / package).rglob("*.py"))
        for module, function in imports(path)
        if top(module) in ("iso", "sample")
    ]
    assert found == [("installer/cli.py", "iso.vm.cli", "cmd_vm")]


def test_iso_uses_only_the_engines_leaf_layer() -> None:
    engine = [
        (str(path.relative_to(TOP)), module)
        for path in sorted((TOP / "iso").rglob("*.py"))
        for module, _ in imports(path)
        if top(module) in ("installer", "ui") and module.split(".")[:2] != ["installer", "core"]
    ]
    assert engine == []


def test_the_launcher_needs_nothing_but_the_standard_library() -> None:
    # It is copied into the live root alone (iso/customize.py LAUNCHER_FILES) and runs there as is.
    ours = {"installer", "iso", "profiles", "storage", "ui", "sample", "yaml"}
    assert not [m for m, _ in imports(TOP / "iso" / "launcher.py") if top(m) in ours]
