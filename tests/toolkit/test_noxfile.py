"""The noxfile runs under whatever Python nox was installed with (pipx, uv tool, a venv), so it
imports nothing but nox and the standard library; the toolkit runs inside each session's venv."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

NOXFILE = Path(__file__).resolve().parents[2] / "noxfile.py"


def test_noxfile_imports_only_nox_and_the_standard_library() -> None:
    tree = ast.parse(NOXFILE.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    foreign = sorted(imported - {"nox", "__future__"} - set(sys.stdlib_module_names))
    assert foreign == [], f"noxfile.py imports {foreign}; run them in a session's venv instead"
