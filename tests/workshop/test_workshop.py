"""The workshop kit keeps its word: each lab page shows the very lines the check runs.

``make workshop-check`` runs every lab against live twins (a quarter of an hour: outside this
suite, like the benchmarks); here, what can be proved without it: every lab has a page and
a check, each command of a lab stands verbatim in a bash block of its page, the settings a
command needs are shown on that page, and the README's first screen links the workshop.
"""

from __future__ import annotations

import re

import pytest

from shared.config import PROJECT_ROOT, Settings
from workshop.checks import CHECKS
from workshop.lab_runs import asgi_costs, seconds_of, threads_of
from workshop.labs import LABS, Lab, units
from workshop.room import lab_environment

BASH_BLOCK = re.compile(r"```bash\n(.*?)```", re.S)


def _bash_lines(lab: Lab) -> set[str]:
    page = (PROJECT_ROOT / lab.page).read_text()
    return {line.strip() for block in BASH_BLOCK.findall(page) for line in block.splitlines()}


def test_every_lab_has_a_page_and_a_check_in_order() -> None:
    assert [lab.number for lab in LABS] == list(range(1, len(LABS) + 1))
    assert list(CHECKS) == [unit for _, unit in units([])]
    index = (PROJECT_ROOT / "docs" / "workshop" / "README.md").read_text()
    for lab in LABS:
        assert (PROJECT_ROOT / lab.page).is_file(), lab.page
        assert f"({lab.slug}.md)" in index, f"the index does not link {lab.page}"


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.slug)
def test_each_command_of_the_check_stands_on_its_page(lab: Lab) -> None:
    lines = _bash_lines(lab)
    page = (PROJECT_ROOT / lab.page).read_text()
    for command in lab.commands:
        assert command.line in lines, f"{lab.page} lacks the line the check runs: {command.line}"
        for name, value in command.server:
            shown = f"taskset -c {value}" if name == "PINNED" else f"{name}={value}"
            assert shown in page, f"{lab.page} does not say how to start the twin: {shown}"
    for unit in lab.parts or (str(lab.number),):
        assert f"make workshop-check LAB={unit}" in page, unit


def test_a_lab_or_one_part_of_it_can_be_chosen() -> None:
    assert [unit for _, unit in units(["6"])] == ["6a", "6b", "6c", "6d", "6e", "6f"]
    assert [unit for _, unit in units(["6c", "4"])] == ["6c", "4"]
    with pytest.raises(KeyError, match="no part"):
        units(["4b"])
    with pytest.raises(KeyError, match="no lab"):
        units(["x"])


def test_the_switches_a_lab_sets_are_settings_or_known_to_python() -> None:
    fields = {f"TWINBENCH_{name.upper()}" for name in Settings.model_fields}
    for lab in LABS:
        for command in lab.commands:
            for name, _ in command.server:
                assert name in fields or name in ("PYTHONASYNCIODEBUG", "PINNED"), name


def test_the_readme_links_the_workshop_on_its_first_screen() -> None:
    first_screen = "\n".join((PROJECT_ROOT / "README.md").read_text().splitlines()[:40])
    assert "docs/workshop/README.md" in first_screen


def test_the_checks_read_what_the_commands_print() -> None:
    assert seconds_of('{"job_id": "j1", "status_url": "/ingest/j1"} 0.012 s') == (
        {"job_id": "j1", "status_url": "/ingest/j1"},
        0.012,
    )
    assert threads_of("Threads:\t47\n") == 47
    printed = (
        "GET /health through the FastAPI twin, in process, median of 5 rounds\n"
        "as built:         88.1 us per request  (x1.00)\n"
        "sync handlers:   201.0 us per request  (x2.28)\n"
        "sync dependency: 140.2 us per request  (x1.59)\n"
    )
    assert asgi_costs(printed) == {
        "as built": 88.1,
        "sync handlers": 201.0,
        "sync dependency": 140.2,
    }


def test_the_labs_listen_on_loopback_only() -> None:
    pages = [(PROJECT_ROOT / lab.page).read_text() for lab in LABS]
    for text in pages:
        for block in BASH_BLOCK.findall(text):
            assert "0.0.0.0" not in block
            for host in re.findall(r"https?://([^:/\s]+)", block):
                assert host == "127.0.0.1", host
    room = (PROJECT_ROOT / "workshop" / "room.py").read_text()
    assert 'TWINBENCH_HOST="127.0.0.1"' in room, "the check's twins must be told loopback"


def test_the_labs_twins_encode_each_search_alone_unless_a_lab_turns_batching_on() -> None:
    assert lab_environment()["TWINBENCH_SEARCH_BATCHING"] == "0"
    assert lab_environment(TWINBENCH_SEARCH_BATCHING="1")["TWINBENCH_SEARCH_BATCHING"] == "1"
