"""The development-cost count: every twin module is in the table, and counted as it says.

The count sorts each module into a category by an explicit table (bench/run/devcost.py), so
moving code between files changes the report's "Development cost" figures only where the
table says. A file added to a twin and left out of the table would be counted as ``other``
without anyone choosing it: the first test fails until the table lists it.
"""

from __future__ import annotations

from pathlib import Path

from bench.run.devcost import (
    CATEGORIES,
    RULES,
    TWIN_FILES,
    count_app,
    count_devcost,
    format_devcost,
    unlisted_files,
)
from shared.config import PROJECT_ROOT


def test_every_module_of_each_twin_is_in_the_table() -> None:
    assert unlisted_files() == {"flask": [], "fastapi": []}


def test_every_file_in_the_table_exists() -> None:
    missing = [
        f"{app}_app/{name}"
        for app, files in TWIN_FILES.items()
        for name in files
        if not (PROJECT_ROOT / f"{app}_app" / name).is_file()
    ]
    assert missing == []


def test_the_table_uses_only_the_report_categories() -> None:
    used = {category for files in TWIN_FILES.values() for category in files.values()}
    assert used <= set(CATEGORIES)


def test_the_rules_name_every_file_with_its_category() -> None:
    for app, files in TWIN_FILES.items():
        table = RULES.split(f"{app}: ", 1)[1].split(";", 1)[0].removesuffix(")")
        stated = sorted(table.split(", "))
        assert stated == sorted(
            f"{category} " + " ".join(name for name, c in files.items() if c == category)
            for category in set(files.values())
        ), app


def test_the_count_follows_the_table(tmp_path: Path) -> None:
    (tmp_path / "views.py").write_text(
        '"""A docstring: never counted."""\n'
        "\n"
        "# a comment: never counted\n"
        "def view() -> dict[str, int]:\n"
        '    """Nor this one."""\n'
        "    return {\n"
        '        "a": 1,\n'
        "    }\n",
        encoding="utf-8",
    )
    (tmp_path / "new.py").write_text("x = 1\ny = 2\n", encoding="utf-8")
    cost = count_app(tmp_path, {"views.py": "validation"})
    assert cost.by_file == {"new.py": 2, "views.py": 4}
    assert cost.by_category == {"validation": 4, "other": 2}
    assert cost.contract_code == 4
    # A file the table leaves out is named where the table is printed.
    printed = format_devcost({"flask": cost})
    assert "not in the table, counted as other: flask new.py" in printed


def test_the_twins_contract_code_is_counted() -> None:
    cost = count_devcost()
    flask, fastapi = cost["flask"], cost["fastapi"]
    # What each table entry names is counted in that category, nowhere else.
    for app, files in TWIN_FILES.items():
        by_category: dict[str, int] = {}
        for name, category in files.items():
            by_category[category] = by_category.get(category, 0) + cost[app].by_file[name]
        assert cost[app].by_category == by_category, app
    # The hand-written OpenAPI document is the Flask twin's alone.
    assert flask.lines("docs") > 0 and fastapi.lines("docs") == 0
    assert "not in the table" not in format_devcost(cost)
