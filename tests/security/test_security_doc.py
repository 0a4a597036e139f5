"""docs/SECURITY.md names a test for each line of the threat model: every test it names
exists, so the document cannot go on citing proof that was renamed or removed."""

from __future__ import annotations

import ast
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOC = HERE.parents[1] / "docs" / "SECURITY.md"
#: ``test_x.py::test_name``, or ``::test_name`` for another test of the last file named.
REFERENCE = re.compile(r"`(test_\w+\.py)?::(test_\w+)`")


def cited() -> list[tuple[str, str]]:
    found, current = [], None
    for match in REFERENCE.finditer(DOC.read_text()):
        current = match.group(1) or current
        assert current is not None, f"{match.group(0)} names no file"
        found.append((current, match.group(2)))
    return found


def test_every_cited_test_exists():
    citations = cited()
    assert len(citations) > 40
    missing = []
    for filename, name in citations:
        tree = ast.parse((HERE / filename).read_text())
        names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        if name not in names:
            missing.append(f"{filename}::{name}")
    assert missing == []


def test_every_finding_module_is_cited():
    """Each regression module of the hardening is part of the threat model."""
    files = {filename for filename, _ in cited()}
    modules = {path.name for path in HERE.glob("test_*.py")} - {Path(__file__).name}
    assert modules - files == set()
