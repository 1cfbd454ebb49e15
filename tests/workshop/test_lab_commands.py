"""Lab commands that read files the labs' other commands write, run here on such files.

Lab 8's one-liner reads the exact samples the scenarios file writes: it runs on samples
written by the bench's own writer, where the scenarios file puts them by default.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bench.load.config import DEFAULT_SAMPLES_DIR
from bench.load.samples import SampleWriter
from bench.stats import percentile

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LAB8 = PROJECT_ROOT / "docs" / "workshop" / "lab8-locust-ui.md"


def _one_liner(page: Path, marker: str) -> str:
    lines = [line for line in page.read_text().splitlines() if marker in line]
    assert len(lines) == 1, f"{page.name}: expected one line with {marker!r}"
    return lines[0]


def test_lab8_reads_the_samples_where_the_scenarios_file_writes_them(tmp_path: Path) -> None:
    line = _one_liner(LAB8, "from bench.stats import percentile")
    relative = DEFAULT_SAMPLES_DIR.relative_to(PROJECT_ROOT)
    assert f'"{relative}/samples-*.csv"' in line, "the page reads another folder"
    latencies = [3.25, 1.5, 2.0, 9.75, 4.0]
    writer = SampleWriter(tmp_path / relative)
    for n, latency in enumerate(latencies):
        writer.add(1_000.0 + n, latency, 0.0, "/health", True)
    writer.close()
    command = line.replace(".venv/bin/python", f'PYTHONPATH="{PROJECT_ROOT}" "{sys.executable}"')
    done = subprocess.run(
        ["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r"(\d+) requests; p50 ([\d.]+) ms; p95 ([\d.]+) ms", done.stdout)
    assert found, done.stdout
    ordered = sorted(latencies)
    assert int(found.group(1)) == len(latencies)
    assert float(found.group(2)) == percentile(ordered, 50)
    assert float(found.group(3)) == percentile(ordered, 95)
