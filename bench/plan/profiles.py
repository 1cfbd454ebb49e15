"""What a benchmark run measures: the scenarios and the profiles (quick, full, soak).

A profile is data: which scenarios, at which concurrency, how long, how many repeats. The
planner (``bench.plan.steps``) turns it into steps. Steps are grouped so each answers one
question:

* ``compare`` — repeated, interleaved between configurations (ABAB, the order reversed on
  every other repeat), the basis of every ratio and verdict;
* ``sweep`` — closed-model throughput against concurrency, once per point;
* ``open`` — fixed-rate runs below, near and above the measured saturation, with latency
  counted from the intended send time (coordinated omission);
* ``single`` — write, mixed and ingest-under-load, once per twin on its usual server (the
  ingest job beside searches ``ingest_repeats`` times, interleaved between the twins).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

__all__ = ["SCENARIOS", "UPLOADS", "MemorySampling", "Profile", "PROFILES", "narrow"]

# What each step samples of a server's memory ("off": nothing).
MemorySampling = Literal["pss", "rss", "off"]

# Scenario name -> the Locust user classes that play it (bench/load/locustfile.py).
SCENARIOS: dict[str, list[str]] = {
    "health": ["HealthUser"],
    "echo": ["EchoUser"],
    "search_vector": ["SearchVectorUser"],
    "search_text": ["SearchTextUser"],
    "write": ["WriteUser"],
    "mixed": ["MixedUser"],
    "point_reads": ["PointReadUser"],
    "ingest_under_load": ["IngestSearchUser", "IngestJobUser"],
    "ingest_blocking_under_load": ["IngestSearchUser", "BatchUploadUser"],
}
# Scenarios whose run is an upload beside fixed-rate searches, ended after the upload.
UPLOADS = ("ingest_under_load", "ingest_blocking_under_load")


@dataclass(frozen=True)
class Profile:
    name: str
    repeats: int
    duration_s: float
    warmup_s: float
    compare: dict[str, int]  # scenario -> users
    compare_repeats: dict[str, int] = field(default_factory=dict)  # fewer for some scenarios
    # Compared at a fixed rate (requests/s) instead of at saturation: the cost measurements.
    compare_rates: dict[str, float] = field(default_factory=dict)
    step_durations: dict[str, float] = field(
        default_factory=dict
    )  # per scenario, if not duration_s
    # Per scenario, if not warmup_s: a step whose users set up data first needs longer.
    step_warmups: dict[str, float] = field(default_factory=dict)
    sweep: dict[str, list[int]] = field(default_factory=dict)
    # Per sweep point (users), if not warmup_s: at 64 users a text search waits about a
    # second in the queue, so the first answers come after a one-second warm-up would end.
    sweep_warmups: dict[int, float] = field(default_factory=dict)
    open_fractions: tuple[float, ...] = ()
    singles: dict[str, int] = field(default_factory=dict)
    # An upload step runs until a few seconds after its upload ends, at most this long.
    ingest_duration_s: float = 45.0
    ingest_rate: float = 10.0  # the searchers' fixed rate beside an upload (requests/s)
    # The ingest job beside searches (the Async claim's evidence): how many times per twin,
    # interleaved between the twins; its rows and the searches' seconds alone before it
    # (0: the planner's defaults, bench.plan.budget.UPLOAD_ROWS and UPLOAD_LEAD_S). The
    # blocking upload runs once, with the same rows and lead.
    ingest_repeats: int = 1
    ingest_rows: int = 0
    ingest_lead_s: float = 0.0
    # Singles run at a fixed rate (requests/s) instead of at saturation.
    single_rates: dict[str, float] = field(default_factory=dict)
    extra_servers: bool = False  # the full matrix: sync, gevent, gunicorn+uvicorn, N workers
    # The server memory sampled in every step. RSS by default: reading a tree's PSS walks
    # every mapping, work the sampler adds to the machine while the server is measured
    # (docs/method.md keeps what was measured of it). The soak needs PSS (it counts a page a
    # forked worker shares with its master once) and measures memory, not CPU.
    memory: MemorySampling = "rss"
    # Text search with micro-batching off and on, at these concurrencies (closed model),
    # each twin on its usual server, and the Flask twin at each of batching_flask_threads.
    batching_users: tuple[int, ...] = ()
    batching_flask_threads: tuple[int, ...] = (4, 64)
    # Per concurrency, if not duration_s / warmup_s: at 64 users a search takes about 2 s,
    # so a 3 s window holds one or two per user; at one user the p50 needs more samples.
    batching_durations: dict[int, float] = field(default_factory=dict)
    batching_warmups: dict[int, float] = field(default_factory=dict)
    # Uploads run once beside fixed-rate searches (ingest_rate) on each configuration of
    # the batching comparison: what an ingest job does to batched searches and naive ones.
    batching_uploads: tuple[str, ...] = ()
    # The runtime comparison: text search through each twin on its usual server, told each
    # of these model runtimes (TWINBENCH_EMBED_BACKEND), against the same twin on the run's
    # default runtime, naive at runtime_users["naive"] and batched at
    # runtime_users["batched"], interleaved with the batching steps (each runtime's run
    # right beside its default-runtime partner).
    runtimes: tuple[str, ...] = ()
    runtime_users: dict[str, tuple[int, ...]] = field(default_factory=dict)
    cpu_quota: float | None = None  # cores per server when the command line says "auto"
    # Compared scenarios whose one-worker configurations run at the same time, those on
    # their usual servers in one step and those on the shared server in another, each at
    # the full rate, and are read each from its own CPU account: drift of the machine
    # then falls on every side of a ratio alike: /health cost pairs measured one after the
    # other spread several times wider than pairs measured at once (a pair-noise probe,
    # since retired; its figures are in docs/method.md).
    together: tuple[str, ...] = ()
    same_server_scenarios: tuple[str, ...] = ("health", "echo", "search_text")


PROFILES: dict[str, Profile] = {
    # Budgeted for < 15 minutes on a fresh 2-core machine: at most 11 of load
    # (bench.plan.budget.plan_s, checked by tests/bench/test_bench_plan.py), 1.5 of
    # start-up, 2.5-3.5 of embedding the corpus the first time. /health is compared by CPU per
    # request at 300 requests/s, far below every configuration's saturation and the load
    # generator's ceiling, so the raw and framework floors are measured as well as the
    # twins: the six one-worker configurations on their usual servers at once, then the
    # six on the shared server (``together``), five repeats, so its ratios have 94 %
    # intervals. Echo and text search at saturation, one
    # configuration at a time, three repeats: the report labels their intervals "range of
    # 3 runs" (75 % coverage) and calls those ratios indicative. `write` is left to `mixed`
    # (which writes too), `search_vector` to the full profile; the smoke test runs both.
    "quick": Profile(
        name="quick",
        repeats=5,
        duration_s=3,
        warmup_s=1,
        compare={"health": 8, "search_text": 8, "echo": 16},
        compare_repeats={"search_text": 3, "echo": 3},
        compare_rates={"health": 300.0},
        together=("health",),
        # Point reads: 20 s at 25 req/s gives the GETs of stored documents about 270
        # samples (a p95 needs 200), and the deletes, the GETs of missing ids and the GETs
        # right after a write (two in thirteen each) about 75 each (a p50). A p99 needs
        # 1,000, which the 30 s this step once ran did not give either: the 10 s went to
        # the curves and the repeated ingest job.
        step_durations={"health": 4.0, "point_reads": 20.0},
        # Point reads: each user first stores its short documents in one batch (61 each,
        # a second or two for four users on the 0.5-core quota), and a read of a document
        # written in the last half second waits for Milvus's time tick: the window starts
        # after both.
        step_warmups={"point_reads": 5.0},
        # No open-model steps: the curves show latency against load; the full profile
        # keeps the fixed-rate runs below and above saturation (30 s of this budget).
        # Point reads first: after `mixed`'s writes Milvus flushes and compacts on the
        # servers' core for a while, which is not what a point read costs.
        singles={
            "point_reads": 4,
            "mixed": 8,
            # Eight users: the upload's one and seven searchers sharing the 25 req/s, so a
            # search that waits behind the job for a second does not hold back the sends.
            # The blocking upload is left to the full profile: no verdict reads it, and its
            # 240 rows would take a minute of this budget.
            "ingest_under_load": 8,
        },
        single_rates={"point_reads": 25.0},
        ingest_duration_s=60,
        # Curves: throughput and latency against closed users, each twin on its usual
        # server; /echo's 16-user point is the compared steps' (same users, same servers).
        # At 64 users a text search queues about a second: a longer warm-up.
        sweep={"echo": [1, 4, 16, 64], "search_text": [1, 4, 16, 64]},
        sweep_warmups={64: 2.0},
        # The Async claim's evidence: the ingest job beside searches at 25 req/s (about half
        # of what a twin serves on its half-core quota with the ONNX runtime), three repeats
        # per twin, interleaved. 9 s alone before the job gives about 225 searches, and 240
        # rows hold the job for 10-16 s (about 15 rows/s beside the searches, see
        # bench.plan.budget), 250-400 searches: each repeat's phases carry a p95 (200
        # searches), each phase 600 and more over the three repeats.
        ingest_rate=25.0,
        ingest_repeats=3,
        ingest_rows=240,
        ingest_lead_s=9.0,
    ),
    "full": Profile(
        name="full",
        repeats=5,
        duration_s=10,
        warmup_s=2,
        compare={"health": 16, "echo": 64, "search_vector": 32, "search_text": 16},
        # 300 req/s each, as in the quick profile: six configurations at once stay well
        # inside one Locust process (32-45 % of its core in the quick profile, measured).
        compare_rates={"health": 300.0},
        together=("health",),
        sweep={"health": [1, 4, 16, 256], "search_text": [1, 4, 64]},
        open_fractions=(0.5, 0.9, 1.2),
        singles={"write": 16, "mixed": 16, "ingest_under_load": 8, "ingest_blocking_under_load": 8},
        ingest_duration_s=90,
        extra_servers=True,
        batching_users=(1, 16, 64),
        same_server_scenarios=("health", "echo", "search_vector", "search_text"),
    ),
    # Micro-batching: does gathering the searches in flight into one model call pay, and who
    # can hold enough requests waiting to form a batch? And the runtime comparison: each
    # twin on torch against the default runtime, naive at 1 and 16 users (the p50 at one
    # user, the throughput at saturation), batched at 64. On one core per server (quota
    # 1.0), five interleaved repeats: five pairs give each ratio a 94 % interval where three
    # gave 75 %. About 21 minutes of load (`python -m bench plan --profile batching`) and
    # one or two of start-up: 23 in all.
    "batching": Profile(
        name="batching",
        repeats=5,
        duration_s=3,
        warmup_s=1,
        compare={},
        batching_users=(1, 16, 64),
        # At one user the p50 needs samples. At 64 users a search waits its turn: about
        # 0.6 s naive on the default runtime and 0.4 s batched on torch (64 users over the
        # roughly 100 and 160 searches/s a twin serves so on one core), so 6 s after 2 s of
        # warm-up holds ten or more per user.
        batching_durations={1: 6.0, 64: 6.0},
        batching_warmups={64: 2.0},
        runtimes=("torch",),
        runtime_users={"naive": (1, 16), "batched": (64,)},
        # Searches at 20 req/s beside an ingest job of 80 rows: the batcher runs the job's
        # chunks between search batches (searches first), the naive path beside them.
        batching_uploads=("ingest_under_load",),
        ingest_rate=20.0,
        same_server_scenarios=(),
        cpu_quota=1.0,
    ),
    # The soak's warm-up is a minute: memory is judged after the allocator and the model's
    # working buffers have reached their steady size (a 60 s soak still grew during its
    # first half), so growth after it means a leak, not start-up.
    "soak": Profile(
        name="soak",
        repeats=1,
        duration_s=600,
        warmup_s=60,
        compare={"mixed": 16},
        singles={"ingest_under_load": 8},
        ingest_duration_s=120,
        same_server_scenarios=(),
        memory="pss",
    ),
}


def narrow(
    profile: Profile,
    *,
    scenarios: tuple[str, ...] | None = None,
    duration_s: float | None = None,
    repeats: int | None = None,
) -> Profile:
    """The profile with the command line's overrides: fewer scenarios, other lengths."""
    if duration_s:
        profile = replace(
            profile,
            duration_s=duration_s,
            ingest_duration_s=max(duration_s, profile.ingest_duration_s),
            step_durations={},
            batching_durations={},
        )
    if repeats:
        profile = replace(profile, repeats=repeats, compare_repeats={})
    if scenarios:
        keep = set(scenarios)
        unknown = keep - set(SCENARIOS)
        if unknown:
            raise ValueError(f"unknown scenarios {sorted(unknown)}; choose from {list(SCENARIOS)}")
        profile = replace(
            profile,
            compare={k: v for k, v in profile.compare.items() if k in keep},
            sweep={k: v for k, v in profile.sweep.items() if k in keep},
            singles={k: v for k, v in profile.singles.items() if k in keep},
            open_fractions=profile.open_fractions if "search_text" in keep else (),
            batching_uploads=tuple(u for u in profile.batching_uploads if u in keep),
            together=tuple(s for s in profile.together if s in keep),
            compare_repeats={k: v for k, v in profile.compare_repeats.items() if k in keep},
        )
    return profile
