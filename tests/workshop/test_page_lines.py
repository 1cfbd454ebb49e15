"""Every line in a bash block of a workshop page runs somewhere: in `make workshop-check`,
in a test, or as a make target whose recipe is checked here.

A line a participant types and nothing runs is how lab 8 broke (it read a folder the
samples had left). Each line falls in one of the kinds below; a line of no kind fails.
"""

from __future__ import annotations

import errno
import re
import subprocess
from pathlib import Path

from shared.config import PROJECT_ROOT, Settings
from workshop.labs import LABS, units
from workshop.room import lab_environment

PAGES = sorted((PROJECT_ROOT / "docs" / "workshop").glob("*.md"))
BASH_BLOCK = re.compile(r"```bash\n(.*?)```", re.S)
SERVE = re.compile(r"^((?:[A-Z_]+=\S+ )*)(?:taskset -c (\d+) )?make serve-(flask|fastapi)$")
MAKE = re.compile(r"^make (workshop|workshop-check|workshop-kit|milvus-up)(?: (.*))?$")
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# The kit's proof: the page's set-up of the namespace, then a make line.
OFFLINE = re.compile(r"^unshare -rn sh -c '(ip link set lo up && )(make .*)'$")
# Lines proved by other tests, by a phrase only they contain.
TESTED_ELSEWHERE = {
    "from bench.stats import percentile": "test_lab_commands.py runs lab 8's one-liner",
}


def _page_lines() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for block in BASH_BLOCK.findall(page.read_text()):
            for raw in block.splitlines():
                line = raw.split("  #", 1)[0].strip()  # a trailing comment, as bash reads it
                if line and not line.startswith("#"):
                    found.append((page.name, line))
    return found


def _checked_lines() -> dict[str, list[dict[str, str]]]:
    """Each line the checks run, with the server settings of each use."""
    checked: dict[str, list[dict[str, str]]] = {}
    for lab in LABS:
        for command in lab.commands:
            checked.setdefault(command.line, []).append(dict(command.server))
    return checked


def _server_settings_used(page: str) -> list[dict[str, str]]:
    lab = next(lab for lab in LABS if lab.page.endswith(page))
    return [dict(command.server) for command in lab.commands]


def _makefile_recipe(target: str) -> str:
    text = (PROJECT_ROOT / "Makefile").read_text()
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n|#.*\n)*)", text, re.M)
    assert match, f"the Makefile has no target {target}"
    return match.group(1)


def _serve_line_runs_as_the_check_starts_twins(page: str, line: str) -> None:
    match = SERVE.match(line)
    assert match
    settings_text, pinned, app = match.groups()
    # The check starts a twin as `python -m shared.serve APP` (workshop/room.py).
    assert f"-m shared.serve {app}" in _makefile_recipe(f"serve-{app}")
    settings = dict(pair.split("=", 1) for pair in settings_text.split())
    if pinned:
        settings["PINNED"] = pinned
    if settings:
        used = _server_settings_used(page)
        assert any(all(server.get(k) == v for k, v in settings.items()) for server in used), (
            f"{page}: no check starts the twin as `{line}`"
        )


def _make_line_is_a_working_target(line: str) -> None:
    match = MAKE.match(line)
    assert match
    target, args = match.groups()
    for lab in re.findall(r"LAB=(\S+)", args or ""):
        assert units([lab]), lab
    done = subprocess.run(  # a dry run: the recipe is printed, nothing runs
        ["make", "-n", target, *(args or "").split()],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def _export_names_the_twins_ports(line: str) -> None:
    done = subprocess.run(
        ["bash", "-c", f'{line}\necho "$FLASK $FASTAPI"'],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    settings = Settings()
    assert done.stdout.split() == [
        f"http://127.0.0.1:{settings.flask_port}",
        f"http://127.0.0.1:{settings.fastapi_port}",
    ]


def _export_is_how_the_check_starts_twins(line: str) -> None:
    """A setting the page has the twins' terminals export: the check's twins get it too."""
    done = subprocess.run(
        ["bash", "-c", f"{line}\nenv"], capture_output=True, text=True, timeout=10, check=True
    )
    name, value = line.removeprefix("export ").split("=", 1)
    assert f"{name}={value}" in done.stdout.splitlines()
    assert lab_environment()[name] == value, f"the check starts twins without {line}"


def _mkdir_runs(line: str, tmp_path: Path) -> None:
    subprocess.run(["bash", "-c", line], cwd=tmp_path, check=True, timeout=10)
    assert (tmp_path / line.split()[-1]).is_dir()


def _cpu_torch_line_matches_the_lock_and_the_kit(line: str) -> None:
    """It needs the network, so it is not run here; it must pin the lock's torch, from the
    index the kit's recipe uses."""
    lock = (PROJECT_ROOT / "requirements.lock").read_text()
    pinned = re.search(r"^torch==(\S+)$", lock, re.M)
    assert pinned and f"torch=={pinned.group(1)}" in line
    recipe = _makefile_recipe("workshop-kit")
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    default = re.search(r"^TORCH_SOURCE \?= (.+)$", makefile, re.M)
    assert "$(TORCH_SOURCE)" in recipe and default and CPU_INDEX in default.group(1)


def _offline_line_cuts_the_network_but_not_loopback(line: str) -> None:
    """The kit's proof runs a make line with no network: the make line must be a working
    target, and the namespace must reach loopback (Milvus, the twins) and nothing else."""
    match = OFFLINE.match(line)
    assert match
    set_up, make_line = match.groups()
    _make_line_is_a_working_target(make_line)
    probe = (
        "import socket\n"
        "server = socket.create_server(('127.0.0.1', 0))\n"
        "socket.create_connection(server.getsockname(), timeout=2).close()\n"
        "try:\n"
        "    socket.create_connection(('192.0.2.1', 80), timeout=2)\n"
        "except OSError as exc:\n"
        "    print('outside:', exc.errno)\n"
    )
    # The page's own set-up, with the probe where the make line stood.
    inner = f'{set_up}python3 -c "{probe}"'
    done = subprocess.run(
        ["unshare", "-rn", "sh", "-c", inner], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    # No route at all, at once: not a timeout, which a machine with a network also gives.
    assert done.stdout.split() == ["outside:", str(errno.ENETUNREACH)], done.stdout


def test_every_line_on_every_page_runs_somewhere(tmp_path: Path) -> None:
    checked = _checked_lines()
    unaccounted = []
    for page, line in _page_lines():
        if line in checked:
            continue  # make workshop-check runs it
        if any(phrase in line for phrase in TESTED_ELSEWHERE):
            continue
        if SERVE.match(line):
            _serve_line_runs_as_the_check_starts_twins(page, line)
        elif MAKE.match(line):
            _make_line_is_a_working_target(line)
        elif line.startswith("export FLASK="):
            _export_names_the_twins_ports(line)
        elif line.startswith("export TWINBENCH_"):
            _export_is_how_the_check_starts_twins(line)
        elif CPU_INDEX in line:
            _cpu_torch_line_matches_the_lock_and_the_kit(line)
        elif OFFLINE.match(line):
            _offline_line_cuts_the_network_but_not_loopback(line)
        elif line.startswith("mkdir -p "):
            _mkdir_runs(line, tmp_path)
        else:
            unaccounted.append(f"{page}: {line}")
    assert not unaccounted, "lines nothing runs:\n" + "\n".join(unaccounted)


def test_the_pages_have_lines_of_every_kind() -> None:
    """The kinds above are not dead: each matches a line on some page."""
    lines = [line for _, line in _page_lines()]
    assert any(SERVE.match(line) for line in lines)
    assert any(MAKE.match(line) for line in lines)
    assert any(line.startswith("export FLASK=") for line in lines)
    assert any(line.startswith("export TWINBENCH_") for line in lines)
    assert any(line in _checked_lines() for line in lines)
