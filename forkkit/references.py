"""Where tests name patches: the `fixed_by(...)` marks of the behaviour suite.

A test that names a patch the series does not have would silently stop proving anything in
the negative control, so check-patches reports each such reference in one line. Marks are
read statically (ast): a string literal, or a module-level string constant defined in any
file of the suite (as tests/behaviour/constants.py does). A mark built from a variable at run
time is not followed; the constants it draws from are checked where they are marked directly.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

MARK = "fixed_by"


@dataclass(frozen=True)
class Reference:
    file: Path
    line: int
    stem: str  # the patch file name without ".patch"


def patch_references(tests_dir: Path) -> list[Reference]:
    trees = {
        path: ast.parse(path.read_text(), str(path)) for path in sorted(tests_dir.rglob("*.py"))
    }
    constants = {
        name: value for tree in trees.values() for name, value in _string_constants(tree).items()
    }
    found = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _is_mark(node.func) and node.args:
                stem = _resolve(node.args[0], constants)
                if stem is not None:
                    found.append(Reference(path, node.lineno, stem))
    return found


def _string_constants(tree: ast.Module) -> dict[str, str]:
    found = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value.value
    return found


def _is_mark(func: ast.expr) -> bool:
    return (isinstance(func, ast.Attribute) and func.attr == MARK) or (
        isinstance(func, ast.Name) and func.id == MARK
    )


def _resolve(arg: ast.expr, constants: dict[str, str]) -> str | None:
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.Name):
        return constants.get(arg.id)  # not a module constant: a variable, resolved at run time
    return None
