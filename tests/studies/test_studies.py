"""The studies still start, and their index lists every one of them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STUDIES = sorted(p.stem for p in (ROOT / "studies").glob("*.py") if p.stem != "__init__")


def test_index_lists_every_study() -> None:
    index = (ROOT / "studies" / "README.md").read_text(encoding="utf-8")
    missing = [name for name in STUDIES if f"`{name}.py`" not in index]
    assert not missing, f"studies/README.md does not list {missing}"


@pytest.mark.parametrize("name", STUDIES)
def test_study_starts(name: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", f"studies.{name}", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"studies.{name}" in done.stdout
