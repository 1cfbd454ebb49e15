"""The write-marks table on its own (no Milvus): slots, growth only, sharing between processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.config import PROJECT_ROOT
from shared.write_marks import MAX_HOLD_S, SLOTS, WriteMarks


def marks_in(directory: Path) -> WriteMarks:
    return WriteMarks(directory, milvus="http://127.0.0.1:19530", collection="docs")


def in_another_process(directory: Path, code: str) -> str:
    """Run ``code`` in a fresh interpreter with ``marks`` opened on ``directory``."""
    program = (
        "from pathlib import Path\n"
        "from shared.write_marks import WriteMarks\n"
        f"marks = WriteMarks(Path({str(directory)!r}), milvus='http://127.0.0.1:19530',"
        " collection='docs')\n" + code
    )
    return subprocess.run(
        [sys.executable, "-c", program],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()


def _mark(marks: WriteMarks, doc_ids: list[str], timestamp: int) -> None:
    """A write of ``doc_ids`` begun and acknowledged at ``timestamp``."""
    marks.finish(marks.begin(doc_ids, 60), timestamp)


def test_an_unmarked_id_reads_zero_and_a_mark_only_grows(tmp_path: Path) -> None:
    marks = marks_in(tmp_path)
    assert marks.of("never-written") == 0
    assert marks.latest() == 0
    _mark(marks, ["a", "b"], 500)
    _mark(marks, ["a"], 300)  # an older timestamp never lowers a mark
    assert (marks.of("a"), marks.of("b"), marks.latest()) == (500, 500, 500)
    _mark(marks, ["a", "a", "c"], 900)  # repeated ids in one batch
    assert (marks.of("a"), marks.of("b"), marks.of("c")) == (900, 500, 900)
    marks.mark_all(700)  # a delete by filter: every slot at least this
    assert (marks.of("a"), marks.of("b"), marks.of("never-written")) == (900, 700, 700)
    marks.close()


def test_marks_are_kept_per_milvus_and_collection(tmp_path: Path) -> None:
    ours = marks_in(tmp_path)
    other_collection = WriteMarks(tmp_path, milvus="http://127.0.0.1:19530", collection="b")
    other_milvus = WriteMarks(tmp_path, milvus="http://10.0.0.9:19530", collection="docs")
    assert len({ours.path, other_collection.path, other_milvus.path}) == 3
    _mark(ours, ["a"], 10)
    assert other_collection.of("a") == 0 and other_milvus.of("a") == 0


def test_the_slot_of_an_id_is_the_same_in_every_process(tmp_path: Path) -> None:
    ids = ["a", "doc-1", "ünï", "x" * 64]
    here = [WriteMarks.slot(doc_id) for doc_id in ids]
    assert all(0 <= slot < SLOTS for slot in here)
    # Python's hash() of a str differs between processes; the slot must not.
    there = in_another_process(tmp_path, f"print([WriteMarks.slot(i) for i in {ids!r}])")
    assert there == str(here)


def test_a_mark_written_by_one_process_is_read_by_another(tmp_path: Path) -> None:
    marks = marks_in(tmp_path)
    _mark(marks, ["from-here"], 1234)
    assert in_another_process(tmp_path, "print(marks.of('from-here'))") == "1234"
    in_another_process(tmp_path, "marks.finish(marks.begin(['from-there'], 60), 5678)")
    assert marks.of("from-there") == 5678
    assert marks.latest() == 5678
    marks.close()


def test_a_forked_child_opens_the_table_again_and_shares_it(tmp_path: Path) -> None:
    marks = marks_in(tmp_path)
    _mark(marks, ["before-fork"], 1)
    pid = os.fork()
    if pid == 0:  # the child: what a gunicorn worker forked from a loaded master does
        try:
            _mark(marks, ["from-child"], 42)
            os._exit(0 if marks.of("before-fork") == 1 else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert marks.of("from-child") == 42
    marks.close()


def test_a_write_in_flight_hides_its_mark_until_it_is_finished(tmp_path: Path) -> None:
    marks = marks_in(tmp_path)
    _mark(marks, ["a"], 100)
    first = marks.begin(["a", "a"], 60)  # one write; a repeated id counts once
    second = marks.begin(["a"], 60)  # another write of the same id, at the same time
    assert marks.of("a") is None and marks.latest() is None
    assert marks.of("b") == 0  # other slots are not held
    # Seen in flight by another process too (a worker reading while this one writes).
    assert in_another_process(tmp_path, "print(marks.of('a'))") == "None"
    marks.finish(first, 300)
    assert marks.of("a") is None, "the second write is still in flight"
    marks.finish(second, 200)  # finished out of order: the mark still only grows
    assert (marks.of("a"), marks.latest()) == (300, 300)
    marks.close()


def test_a_count_left_by_a_dead_writer_expires_and_is_reset(tmp_path: Path) -> None:
    marks = marks_in(tmp_path)
    marks.begin(["orphan"], 60)  # its process "died" before finishing
    assert marks.of("orphan") is None
    slot = WriteMarks.slot("orphan")
    with marks._locked() as slots:  # its hold has ended
        slots[2][slot] -= 61_000
    del slots  # a view of the mapping: it would keep the table from closing
    assert marks.of("orphan") == 0
    # The slot's next write resets the orphan's count, so finishing it clears the slot.
    index = marks.begin(["orphan"], 60)
    assert marks.of("orphan") is None
    marks.finish(index, 50)
    assert marks.of("orphan") == 50
    marks.close()


def test_a_hold_from_before_the_last_boot_is_stale(tmp_path: Path) -> None:
    # CLOCK_MONOTONIC restarts at boot: a deadline further ahead than any hold is old.
    marks = marks_in(tmp_path)
    marks.begin(["before-boot"], 60)
    slot = WriteMarks.slot("before-boot")
    with marks._locked() as slots:
        slots[2][slot] += int(MAX_HOLD_S * 1000) + 1_000
    del slots
    assert marks.of("before-boot") == 0
    with pytest.raises(ValueError, match="hold_s"):
        marks.begin(["x"], MAX_HOLD_S + 1)
    marks.close()


# In a mount namespace of its own (nothing outside sees the mount), on a filesystem too small
# for the table: opening and marking must fail with an error, never a SIGBUS.
FULL_DISK = """
import errno, sys
from pathlib import Path
from shared.write_marks import WriteMarks

marks = WriteMarks(Path(sys.argv[1]), milvus="http://127.0.0.1:1", collection="full")
try:
    marks.finish(marks.begin(["a"], hold_s=5.0), 42)
except OSError as exc:
    print("refused", errno.errorcode.get(exc.errno, exc.errno), flush=True)
else:
    print("marked", flush=True)
"""


def test_a_full_disk_is_an_error_at_open_not_a_crash(tmp_path: Path) -> None:
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    script = f'mount -t tmpfs -o size=64k tmpfs {tiny} && exec "{sys.executable}" -c "$0" {tiny}'
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, FULL_DISK],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])  # -7 would be SIGBUS
    assert done.stdout.split() == ["refused", "ENOSPC"], done.stdout


@pytest.mark.parametrize(
    "spelling",
    [
        "http://127.0.0.1:19530",
        "http://localhost:19530/",
        "HTTP://LOCALHOST:19530",
        "127.0.0.1:19530",
        "http://127.0.0.1",
    ],
)
def test_every_spelling_of_one_milvus_shares_one_table(tmp_path: Path, spelling: str) -> None:
    canonical = WriteMarks(tmp_path, milvus="http://127.0.0.1:19530", collection="c").path
    assert WriteMarks(tmp_path, milvus=spelling, collection="c").path == canonical


def test_another_milvus_or_port_has_a_table_of_its_own(tmp_path: Path) -> None:
    one = WriteMarks(tmp_path, milvus="http://127.0.0.1:19530", collection="c").path
    assert WriteMarks(tmp_path, milvus="http://127.0.0.1:19531", collection="c").path != one
    assert WriteMarks(tmp_path, milvus="http://10.0.0.1:19530", collection="c").path != one
