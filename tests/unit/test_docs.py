"""The guide stays a guide: the README is short, and every relative link in the README and
the docs resolves to a file of the repository (and a heading, where it names one)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from leadbridge.paths import REPO_ROOT

pytestmark = pytest.mark.unit

README_MAX_LINES = 200
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
DOCUMENTS = [
    REPO_ROOT / "README.md",
    REPO_ROOT / "dbt_project" / "README.md",
    *sorted((REPO_ROOT / "docs").rglob("*.md")),
    *sorted((REPO_ROOT / "benchmarks").glob("*.md")),
]


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {
        _anchor(line.lstrip("#")) for line in path.read_text().splitlines() if line.startswith("#")
    }


def _broken(document: Path) -> list[str]:
    broken = []
    for target in LINK.findall(document.read_text()):
        if re.match(r"[a-z]+:", target):  # http(s), mailto: not ours to check offline
            continue
        path_part, _, anchor = target.partition("#")
        path = (document.parent / path_part).resolve() if path_part else document
        if not path.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and path.is_file() and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(f"{target} (no such heading)")
    return broken


def test_the_readme_is_a_guide_of_at_most_200_lines() -> None:
    lines = (REPO_ROOT / "README.md").read_text().count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines: move depth to docs/"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_relative_link_resolves(document: Path) -> None:
    assert _broken(document) == []


def test_a_broken_link_is_reported(tmp_path: Path) -> None:
    (tmp_path / "there.md").write_text("# A heading\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](there.md) [ok](there.md#a-heading) [web](https://example.com)\n"
        "[gone](missing.md) [bad anchor](there.md#nowhere)\n"
    )
    assert _broken(page) == ["missing.md (no such file)", "there.md#nowhere (no such heading)"]
