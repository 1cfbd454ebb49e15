"""The runtime comparison's plan: each twin's usual configuration told torch, naive and
batched, each run right beside its default-runtime partner, within the batching profile's
time budget."""

from __future__ import annotations

from bench.plan.budget import estimate_s
from bench.plan.profiles import PROFILES
from bench.plan.steps import batching_steps, plan_configs
from bench.plan.topology import EMBED_BACKEND, TWINS, on_runtime, runtime_of, spec_for

PROFILE = PROFILES["batching"]
FLASK, FASTAPI = "flask/gunicorn-gthread/1wx4t", "fastapi/uvicorn/1wx4t"


def test_a_runtime_variant_changes_only_the_runtime_setting() -> None:
    batched = spec_for("fastapi", "uvicorn", variant="batched", app_env=(("X", "1"),))
    told = on_runtime(batched, "torch")
    assert told.label == FASTAPI + "+batched+torch"
    assert told.app_env == (("X", "1"), (EMBED_BACKEND, "torch"))
    assert runtime_of(told) == "torch" and runtime_of(batched) is None
    assert on_runtime(spec_for("flask", "gunicorn-gthread"), "torch").label == FLASK + "+torch"


def test_each_twin_runs_on_torch_naive_and_batched_at_its_usual_threads_only() -> None:
    told = {p.label for p in plan_configs(PROFILE, TWINS, 1) if p.spec and runtime_of(p.spec)}
    assert told == {
        FLASK + "+torch",
        FLASK + "+batched+torch",
        FASTAPI + "+torch",
        FASTAPI + "+batched+torch",
    }


def test_each_torch_run_sits_right_beside_its_default_runtime_partner() -> None:
    steps = batching_steps(PROFILE, plan_configs(PROFILE, TWINS, 1))
    for repeat in range(PROFILE.repeats):
        for users in PROFILE.batching_users:
            order = [
                s.config
                for s in steps
                if s.group == "batching" and s.repeat == repeat and s.users == users
            ]
            for index, label in enumerate(order):
                if not label.endswith("+torch"):
                    continue
                neighbours = order[max(index - 1, 0) : index + 2]
                assert label.removesuffix("+torch") in neighbours, (repeat, users, order)


def test_torch_runs_only_at_the_comparison_loads_and_never_beside_an_upload() -> None:
    steps = batching_steps(PROFILE, plan_configs(PROFILE, TWINS, 1))
    loads = {(s.config, s.users) for s in steps if s.group == "batching" and "+torch" in s.config}
    assert loads == {
        (twin + kind, users)
        for twin in (FLASK, FASTAPI)
        for kind, users in (("+torch", 1), ("+torch", 16), ("+batched+torch", 64))
    }
    runs = [s for s in steps if (s.config, s.users) == (FASTAPI + "+torch", 1)]
    assert sorted(s.repeat for s in runs) == list(range(PROFILE.repeats)) == list(range(5))
    assert not [s for s in steps if s.group == "batching-upload" and "+torch" in s.config]


def test_the_batching_profile_keeps_within_25_minutes() -> None:
    configs = plan_configs(PROFILE, TWINS, 1)
    load_s = estimate_s(batching_steps(PROFILE, configs))
    # Start-up: every model loads at once while Milvus checks the corpus (a minute or two).
    assert load_s / 60 + 2 <= 25, load_s / 60
