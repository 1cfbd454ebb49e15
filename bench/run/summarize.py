"""Turn one step's raw samples into a :class:`RunResult`: window, percentiles, validity, cost.

The measured window starts one warm-up after the first request. Latencies are taken to whole
microseconds first, and the run keeps them (``RunResult.latency_us``, written beside the
results) at that resolution, so every percentile can be recomputed from them exactly.
Latency percentiles are over the requests that *started* in the window; throughput counts
the successful responses that *completed* in it (so a saturated open-model run cannot report
the rate it merely offered); the server's cost per request is its CPU during the window,
less its idle baseline, over the responses completed in the window.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.load.samples import Samples
from bench.plan.profiles import UPLOADS
from bench.results import RunResult, Step
from bench.run.calibration import CEILING_SHARE
from bench.stats import (
    Histogram,
    correct_open_model,
    percentile,
    summarize_latencies,
    to_whole_us,
)

__all__ = [
    "summarize_run",
    "GENERATOR_CPU_LIMIT",
    "DISTURBED_CORES",
    "LATE_SEND_MS",
    "CDF_POINTS",
    "TIMELINE_BIN_S",
]

GENERATOR_CPU_LIMIT = 0.80
# A step during which processes that are not ours used more than this is disturbed.
DISTURBED_CORES = 0.10
# An open-model request sent this much behind its intended time counts as a late send.
LATE_SEND_MS = 10.0
CDF_POINTS = 200
TIMELINE_BIN_S = 0.5


def _cdf(latencies: np.ndarray[Any, np.dtype[np.float64]]) -> list[float]:
    if len(latencies) == 0:
        return []
    ordered = np.sort(latencies)
    # At q = 0.5 %, 1 %, ..., 100 %, by the one percentile definition used everywhere.
    steps = range(1, CDF_POINTS + 1)
    return [round(percentile(ordered, q * 100 / CDF_POINTS), 4) for q in steps]


def _timeline(samples: Samples, begin: float) -> list[dict[str, float]]:
    if len(samples) == 0:
        return []
    bins = ((samples.start - begin) // TIMELINE_BIN_S).astype(int)
    out = []
    for b in range(int(bins.max()) + 1):
        values = samples.latency_ms[bins == b]
        if len(values):
            out.append(
                {
                    "t": round(b * TIMELINE_BIN_S, 2),
                    "count": int(len(values)),
                    "p50": percentile(np.sort(values), 50),
                    "p99": percentile(np.sort(values), 99),
                }
            )
    return out


def summarize_run(
    step: Step,
    samples: Samples,
    *,
    run_id: str,
    generator_cpu: float,
    server_cpu_between: Callable[[float, float], float],
    server_idle_cores: float,
    foreign_cores: float,
    idle_servers_cpu_s: float,
    events: list[dict[str, Any]],
    notes: list[str],
    generator_ceiling_rps: float = math.nan,
) -> RunResult:
    """Keep the samples that started inside [first + warm-up, first + warm-up + duration)."""
    reasons: list[str] = []
    upload = step.scenario in UPLOADS
    samples = Samples(
        samples.start,
        to_whole_us(samples.latency_ms),
        to_whole_us(samples.delay_ms),
        samples.ok,
        samples.names,
    )
    job_ended = any(e["event"] == "job_end" for e in events)
    if upload:
        # Searches and the upload's own requests (job polls, the batch) are separate series:
        # the figures are the searches'.
        samples = samples.select(np.array([n == "/search" for n in samples.names], dtype=bool))
    if len(samples) == 0:
        begin = 0.0
        window = samples
        reasons.append("no requests completed")
    else:
        first = float(samples.start[0])
        begin = first + step.warmup_s
        window = samples.window(begin, begin + step.duration_s)
    measured_s = step.duration_s
    if len(samples) and not len(window):
        reasons.append("no request started inside the measured window")
    if len(window):
        # A window cut short (the run ended early) must not inflate the rate.
        covered = float(window.start[-1] - begin)
        if covered < step.duration_s - 1.0:  # the run stopped early: rate over what ran
            measured_s = max(covered, 1e-3)
        if upload and job_ended:
            pass  # an upload's run ends on purpose a few seconds after its upload
        # Locust on a busy machine sometimes starts late: a window shortened a little is
        # still a fair measurement (the rate is over what was covered); a stub is not.
        elif measured_s < 0.6 * step.duration_s:
            reasons.append(f"samples cover only {measured_s:.1f} s of {step.duration_s:.0f} s")
        elif measured_s < step.duration_s:
            notes = [*notes, f"measured window shortened to {measured_s:.1f} s"]
    if upload and not job_ended:
        reasons.append(f"the upload did not finish within the step's {step.duration_s:.0f} s")
    end = begin + measured_s
    finished = samples.start + samples.latency_ms / 1000
    done_in_window = (finished >= begin) & (finished < end)
    completed = int((done_in_window & samples.ok).sum())
    in_flight = int(((samples.start < end) & (finished >= end)).sum())
    failures = int((~window.ok).sum())
    ok_latency = window.latency_ms[window.ok]
    corrected = None
    late = 0
    # What the percentiles below are computed from, kept at the same resolution.
    kept: dict[str, Histogram] = {}
    if step.rate > 0:
        corrected_ms = to_whole_us(correct_open_model(window.latency_ms, window.delay_ms))
        corrected = summarize_latencies(corrected_ms[window.ok])
        kept["corrected"] = Histogram.of(corrected_ms[window.ok])
        late = int((window.delay_ms > LATE_SEND_MS).sum())
    # The calibration exists to saturate the generator: its own limit does not apply to it.
    calibrating = step.group == "calibration"
    if not calibrating and not math.isnan(generator_cpu) and generator_cpu > GENERATOR_CPU_LIMIT:
        reasons.append(
            f"load generator at {generator_cpu:.0%} of a core (limit "
            f"{GENERATOR_CPU_LIMIT:.0%}): this run measured the generator"
        )
    if not step.rate and not calibrating and len(window):
        if completed / measured_s > CEILING_SHARE * generator_ceiling_rps:
            reasons.append(
                f"load generator: {completed / measured_s:,.0f} req/s is within "
                f"{1 - CEILING_SHARE:.0%} of its measured ceiling "
                f"({generator_ceiling_rps:,.0f} req/s): this run measured the generator"
            )
    if len(window) and failures > 0.01 * len(window):
        reasons.append(f"{failures} of {len(window)} requests failed")
    if foreign_cores > DISTURBED_CORES:
        reasons.append(
            f"disturbed: other processes used {foreign_cores:.2f} cores during the step "
            f"(limit {DISTURBED_CORES:.2f})"
        )
    answered = int(done_in_window.sum())
    window_cpu_s = server_cpu_between(begin, end) - server_idle_cores * measured_s
    shown_events = [{**e, "t": round(float(e["t"]) - begin, 3)} for e in events]
    by_name = _by_name(window, kept)
    phases = _phases(samples, begin, end, events, kept) if upload else {}
    return RunResult(
        step=step,
        run_id=run_id,
        started_at=begin,
        requests=len(window),
        failures=failures,
        throughput_rps=completed / measured_s if len(window) else 0.0,
        latency=summarize_latencies(ok_latency),
        latency_corrected=corrected,
        generator_cpu=generator_cpu,
        idle_servers_cpu_s=idle_servers_cpu_s,
        valid=not reasons,
        invalid_reasons=reasons,
        failures_by_name=dict(
            Counter(n for n, ok in zip(window.names, window.ok, strict=True) if not ok)
        ),
        by_name=dict(Counter(window.names)),
        cdf_ms=_cdf(ok_latency),
        timeline=_timeline(samples, begin),
        events=shown_events,
        notes=notes,
        completed=completed,
        in_flight_at_end=in_flight,
        late_sends=late,
        server_cpu_us_per_request=window_cpu_s * 1e6 / answered if answered else math.nan,
        server_idle_cores=server_idle_cores,
        foreign_cores=foreign_cores,
        latency_by_name=by_name,
        phases=phases,
        job=_job(events) if upload else {},
        latency_us=kept,
    )


def _by_name(window: Samples, kept: dict[str, Histogram]) -> dict[str, dict[str, float]]:
    """Per request name (e.g. GET and DELETE of one document): n, p50, p95, p99 of the
    successful requests that started in the window; their latencies go into ``kept``
    (``name:<name>``: together, every successful request of the window)."""
    out = {}
    for name in sorted(set(window.names)):
        chosen = np.array([n == name for n in window.names], dtype=bool) & window.ok
        latencies = np.sort(window.latency_ms[chosen])
        if len(latencies):
            kept[f"name:{name}"] = Histogram.of(latencies)
            out[name] = {
                "n": int(len(latencies)),
                "p50": percentile(latencies, 50),
                "p95": percentile(latencies, 95),
                "p99": percentile(latencies, 99),
            }
    return out


def _job(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The upload as its events tell it: what, how many rows, how it ended, how fast."""
    start = next((e for e in events if e["event"] == "job_start"), None)
    end = next((e for e in events if e["event"] == "job_end"), None)
    if start is None:
        return {"status": "not started"}
    if end is None:
        return {"kind": start.get("kind"), "rows": start.get("rows"), "status": "not finished"}
    seconds = float(end["t"]) - float(start["t"])
    rows = int(end.get("processed") or 0)
    return {
        "kind": start.get("kind"),
        "rows": start.get("rows"),
        "status": end.get("status"),
        "processed": rows,
        "failed": end.get("failed"),
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds, 2) if seconds > 0 else math.nan,
    }


def _phases(
    searches: Samples,
    begin: float,
    end: float,
    events: list[dict[str, Any]],
    kept: dict[str, Histogram],
) -> dict[str, dict[str, float]]:
    """Search latency and throughput before, during and after the upload; each phase's
    latencies go into ``kept`` (``phase:<name>``)."""
    start = next((float(e["t"]) for e in events if e["event"] == "job_start"), math.nan)
    stop = next((float(e["t"]) for e in events if e["event"] == "job_end"), end)
    if math.isnan(start):
        return {}
    finished = searches.start + searches.latency_ms / 1000
    out = {}
    for name, (a, b) in {
        "before": (begin, start),
        "during": (start, stop),
        "after": (stop, end),
    }.items():
        started = (searches.start >= a) & (searches.start < b) & searches.ok
        latencies = np.sort(searches.latency_ms[started])
        kept[f"phase:{name}"] = Histogram.of(latencies)
        done = int(((finished >= a) & (finished < b) & searches.ok).sum())
        out[name] = {
            "n": int(len(latencies)),
            "seconds": round(max(b - a, 0.0), 3),
            "p50": percentile(latencies, 50) if len(latencies) else math.nan,
            "p95": percentile(latencies, 95) if len(latencies) else math.nan,
            "p99": percentile(latencies, 99) if len(latencies) else math.nan,
            "rps": done / (b - a) if b > a else math.nan,
        }
    return out
