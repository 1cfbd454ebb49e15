"""What one Locust run is told: :class:`LoadConfig`, written as JSON by the runner and read by
the scenarios file when Locust imports it.

The hand-over is one environment variable, ``TWINBENCH_LOAD_CONFIG``, holding the path of
the JSON file. Not a custom command-line argument (Locust's
``events.init_command_line_parser``): Locust imports the scenarios file and collects its user
classes *before* it parses its command line, and the scenarios file makes its per-target
classes (``HealthUser0``, ``HealthUser1``, ...) from the configuration as it is imported, so
the configuration must be readable at import. The environment also reaches the worker
processes ``--processes N`` forks. Unset (``make locust-ui``, the workshop's labs, a plain
``locust -f bench/load/locustfile.py --host URL``), every field takes its default.

The file is checked as it is read: an unknown field, a value of the wrong type, a negative
rate or a pool file that is not there fails the import with a message naming the field.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from shared.config import PROJECT_ROOT

__all__ = [
    "CONFIG_ENV",
    "CONFIG_FILE",
    "DEFAULT_SAMPLES_DIR",
    "LoadConfig",
    "LoadConfigError",
    "load_config",
    "locust_environment",
]

CONFIG_ENV = "TWINBENCH_LOAD_CONFIG"
# The file's name in a step's raw-samples folder: kept with the samples it produced.
CONFIG_FILE = "load-config.json"
# Run by hand, the samples go under the project's (git-ignored) data directory.
DEFAULT_SAMPLES_DIR = PROJECT_ROOT / ".data" / "locust-samples"
# The fields that hold a rate or a span of seconds: numbers, never negative.
_AMOUNTS = ("rate", "user_rate", "run_s", "ingest_before_s", "ingest_after_s")


class LoadConfigError(ValueError):
    """A load configuration that cannot be used: says which field and why."""


@dataclass(frozen=True, kw_only=True)
class LoadConfig:
    """Everything the scenarios need beyond Locust's own options (users, host, run time).

    Each field's default is what a run by hand gets.
    """

    #: The request pool (``pool.json``). None: the pool the bench caches, built once per
    #: machine if it is not there yet.
    pool: Path | None = None
    #: Where this run's processes write their raw samples and timeline events.
    samples_dir: Path = DEFAULT_SAMPLES_DIR
    #: Requests/s this Locust process sends, shared by each class's users (open model).
    #: 0: the closed model, every user sends its next request as soon as it has an answer.
    rate: float = 0.0
    #: Prefix of every document id the run creates, so the runner can delete them after.
    run_id: str = "run"
    #: One user's share of the step's rate, and the run's length (s): together they size the
    #: documents a point-read user stores (enough to delete for the whole run). 0: none.
    user_rate: float = 0.0
    run_s: float = 0.0
    #: Rows in the upload scenarios' one upload, and how long (s) the searches run alone
    #: before it starts and after it ends.
    ingest_docs: int = 200
    ingest_before_s: float = 2.0
    ingest_after_s: float = 2.0
    #: Base URLs one run drives at once, each through its own copy of every scenario class.
    #: Empty: one target, Locust's ``--host``.
    targets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in _AMOUNTS:
            value = getattr(self, name)
            if not value >= 0:  # written so that NaN fails too
                raise LoadConfigError(f"{name} must be a number >= 0 (got {value!r})")
        if self.ingest_docs < 1:
            raise LoadConfigError(f"ingest_docs must be at least 1 (got {self.ingest_docs})")
        if not self.run_id or any(c in self.run_id for c in "/?# "):
            raise LoadConfigError(
                f"run_id must be non-empty, without '/', '?', '#' or spaces: it goes into "
                f"document ids and their URLs (got {self.run_id!r})"
            )
        for url in self.targets:
            if not url.startswith(("http://", "https://")):
                raise LoadConfigError(f"targets: {url!r} is not an http:// or https:// URL")
        if self.pool is not None and not self.pool.is_file():
            raise LoadConfigError(f"pool: no pool file at {self.pool}")

    def to_json(self) -> str:
        document = {
            **asdict(self),
            "pool": None if self.pool is None else str(self.pool),
            "samples_dir": str(self.samples_dir),
            "targets": list(self.targets),
        }
        return json.dumps(document, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LoadConfig:
        """The configuration ``text`` holds; a field left out takes its default."""
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LoadConfigError(f"not JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise LoadConfigError(f"expected a JSON object, got {type(raw).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise LoadConfigError(f"unknown fields {unknown}; known: {sorted(known)}")
        return cls(**{name: _field_value(name, value) for name, value in raw.items()})

    def write(self, directory: Path) -> Path:
        """Write this configuration into ``directory`` (as ``load-config.json``); its path."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / CONFIG_FILE
        path.write_text(self.to_json(), encoding="utf-8")
        return path


def _field_value(name: str, value: Any) -> Any:
    """One JSON value as its field's type, or an error that names the field."""

    def wrong(expected: str) -> LoadConfigError:
        return LoadConfigError(f"{name} must be {expected} (got {value!r})")

    # bool is an int to Python, never a count or a rate here.
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if name in _AMOUNTS:
        if not number:
            raise wrong("a number")
        return float(value)
    if name == "ingest_docs":
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong("a whole number")
        return value
    if name == "pool":
        if value is not None and not isinstance(value, str):
            raise wrong("a path or null")
        return None if value is None else Path(value)
    if name == "targets":
        if not isinstance(value, list) or not all(isinstance(url, str) for url in value):
            raise wrong("a list of URLs")
        return tuple(value)
    if not isinstance(value, str):  # samples_dir, run_id
        raise wrong("a string")
    return Path(value) if name == "samples_dir" else value


def load_config(environ: Mapping[str, str] = os.environ) -> LoadConfig:
    """The configuration ``TWINBENCH_LOAD_CONFIG`` points at; the defaults when it is unset."""
    location = environ.get(CONFIG_ENV, "")
    if not location:
        return LoadConfig()
    path = Path(location)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LoadConfigError(f"{CONFIG_ENV}={location}: cannot read it ({exc})") from None
    try:
        return LoadConfig.from_json(text)
    except LoadConfigError as exc:
        raise LoadConfigError(f"{CONFIG_ENV}={location}: {exc}") from None


def locust_environment(path: Path) -> dict[str, str]:
    """The environment entry that hands the configuration at ``path`` to a Locust process."""
    return {CONFIG_ENV: str(path)}
