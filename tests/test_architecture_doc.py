"""docs/architecture.md names every module of ganad_cli once, with what it owns: a module added,
moved or removed without its line there fails here."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def documented_modules() -> list[str]:
    """The module paths of the tree in docs/architecture.md (its first fenced block)."""
    tree = (REPO / "docs" / "architecture.md").read_text().split("```")[1]
    found: list[str] = []
    folders: list[str] = []
    for line in tree.splitlines():
        m = re.match(r"^((?:│   |    )*)(?:├── |└── )(\S+)\s*(.*)$", line)
        if not m:
            continue
        depth, name, owns = len(m.group(1)) // 4, m.group(2), m.group(3)
        folders = folders[:depth]
        if name.endswith("/"):
            folders.append(name.rstrip("/"))
            continue
        assert owns.strip(), f"{name}: no line saying what it owns"
        found.append("/".join(["ganad_cli", *folders, name]))
    return found


def test_the_tree_lists_every_module_once():
    listed = documented_modules()
    real = {str(p.relative_to(REPO)) for p in (REPO / "ganad_cli").rglob("*.py")}
    assert len(listed) == len(set(listed)), "a module is listed twice"
    assert sorted(real - set(listed)) == [], "modules missing from docs/architecture.md"
    assert sorted(set(listed) - real) == [], "docs/architecture.md lists modules that are gone"
