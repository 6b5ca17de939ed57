"""The README's "Where to start reading" map names real files and real functions.

A newcomer follows that table first; a renamed function or a moved module must fail
here, not leave them opening a file that no longer says what the map promised.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SECTION = "## Where to start reading"
ENTRY = re.compile(r"`(service/[\w/]+\.py)::(\w+)`")
PACKAGE = re.compile(r"^`(\w+)`$")


def _rows() -> list[list[str]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no {SECTION!r} section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("|")
    ]
    return [row for row in rows[2:] if len(row) == 3]  # past the header and its rule


def _defined(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_the_map_has_the_traces_a_newcomer_follows() -> None:
    traces = [row[0] for row in _rows()]
    for wanted in ("send a reminder", "inbound SMS", "safety alert", "REDCap"):
        assert any(wanted in trace for trace in traces), f"no row about {wanted!r}"


@pytest.mark.parametrize("row", _rows(), ids=lambda row: row[0][:40])
def test_each_row_names_existing_modules_functions_and_one_package(row: list[str]) -> None:
    trace, package, entries = row
    match = PACKAGE.match(package)
    assert match, f"{trace}: 'stays in' must name one package, not {package!r}"
    assert (REPO / "service" / "actions" / match.group(1) / "__init__.py").is_file(), package
    named = ENTRY.findall(entries)
    assert named, f"{trace}: no `file::function` entry"
    for file, name in named:
        path = REPO / file
        assert path.is_file(), f"{trace}: {file} does not exist"
        assert name in _defined(path), f"{trace}: {file} defines no {name}"
    in_package = [f for f, _ in named if f.startswith(f"service/actions/{match.group(1)}/")]
    assert in_package, f"{trace}: no step in the package it says it stays in"
