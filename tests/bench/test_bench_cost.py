"""Cost per request: a server's CPU over a window, read from its account and interpolated."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from bench.run.accounting import CpuAccount, CpuSeries


def _series(points: list[tuple[float, float]]) -> CpuSeries:
    """A series with the given (time, CPU seconds) samples, as the sampler would keep them."""
    series = CpuSeries.__new__(CpuSeries)
    series.samples = list(points)
    return series


def test_cpu_between_two_instants_is_interpolated() -> None:
    series = _series([(10.0, 1.0), (11.0, 1.5), (12.0, 1.5), (13.0, 2.5)])
    assert series.at(10.5) == pytest.approx(1.25)
    assert series.between(10.5, 12.5) == pytest.approx(2.0 - 1.25)


def test_cpu_outside_the_samples_is_not_measured() -> None:
    series = _series([(10.0, 1.0), (11.0, 1.5)])
    assert math.isnan(series.between(9.0, 10.5))
    assert math.isnan(series.between(10.5, 11.5))


def test_an_account_counts_the_cpu_of_the_process_it_holds() -> None:
    spin = "import sys, time\nsys.stdin.readline()\nwhile time.process_time() < 0.5: pass"
    child = subprocess.Popen([sys.executable, "-c", spin], stdin=subprocess.PIPE, text=True)
    account = CpuAccount(f"test-{child.pid}", child.pid)
    try:
        account.add_tree()
        before = account.read_s()
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
        # cpuacct keeps counting after the process exits; the process-tree fallback cannot.
        if account.path is None:
            spent = 0.0
            while child.poll() is None:
                spent = account.read_s() - before
        else:
            child.wait(30)
            spent = account.read_s() - before
        assert spent >= 0.45, (account.method, spent)
    finally:
        child.kill()
        child.wait()
        account.remove()
    assert account.path is None or not account.path.exists()
