"""Reading uploads: JSONL and CSV rows with their line numbers, and unreadable files."""

from __future__ import annotations

import pytest

from shared.errors import IngestError
from shared.ingest import ParsedRow, parse_json_list, parse_upload


def test_jsonl_rows_keep_their_line_numbers() -> None:
    data = b'{"text": "one"}\n\n   \n{"text": "two", "tags": ["a"]}\n'
    assert parse_upload(data, "rows.jsonl") == [
        ParsedRow(1, {"text": "one"}),
        ParsedRow(4, {"text": "two", "tags": ["a"]}),
    ]


def test_jsonl_lines_that_are_not_objects_are_reported_not_fatal() -> None:
    data = b'{"text": "ok"}\n{broken\n[1, 2]\n"just a string"\n{"text": "also ok"}'
    rows = parse_upload(data, "rows.jsonl")
    assert rows == [
        ParsedRow(1, {"text": "ok"}),
        ParsedRow(2, None, "not valid JSON (Expecting property name enclosed in double quotes)"),
        ParsedRow(3, None, "each line must be a JSON object"),
        ParsedRow(4, None, "each line must be a JSON object"),
        ParsedRow(5, {"text": "also ok"}),
    ]


def test_csv_rows_count_lines_from_the_header() -> None:
    data = b"id,title,text,tags\na,,first text,x|y\nb,Bee,second text,\n"
    assert parse_upload(data, "rows.csv") == [
        ParsedRow(2, {"id": "a", "text": "first text", "tags": "x|y"}),
        ParsedRow(3, {"id": "b", "title": "Bee", "text": "second text"}),
    ]


def test_csv_row_with_surplus_cells_is_reported() -> None:
    data = b"text,title\nfine,t\ntoo,many,cells\n"
    assert parse_upload(data, "rows.csv") == [
        ParsedRow(2, {"text": "fine", "title": "t"}),
        ParsedRow(3, None, "more cells than header columns"),
    ]


def test_csv_quoted_cells_may_hold_commas_and_newlines() -> None:
    data = b'text,tags\n"one, two\nthree",a\nlast,b\n'
    assert parse_upload(data, "data.csv") == [
        ParsedRow(3, {"text": "one, two\nthree", "tags": "a"}),
        ParsedRow(4, {"text": "last", "tags": "b"}),
    ]


def test_utf8_byte_order_mark_is_ignored() -> None:
    data = "\ufefftext\nbonjour café\n".encode()
    assert parse_upload(data, "rows.csv") == [ParsedRow(2, {"text": "bonjour café"})]


@pytest.mark.parametrize(
    ("filename", "data", "kind"),
    [
        ("rows.ndjson", b'{"text": "x"}\n', "jsonl"),
        ("ROWS.JSON", b'{"text": "x"}\n', "jsonl"),
        ("rows.csv", b"text\nx\n", "csv"),
        (None, b'  {"text": "x"}\n', "jsonl"),
        ("upload.bin", b"text\nx\n", "csv"),
    ],
)
def test_format_comes_from_the_file_name_or_the_first_character(
    filename: str | None, data: bytes, kind: str
) -> None:
    rows = parse_upload(data, filename)
    line = 1 if kind == "jsonl" else 2
    assert rows == [ParsedRow(line, {"text": "x"})]


def test_bad_utf8_is_refused_with_the_byte_offset() -> None:
    with pytest.raises(IngestError) as raised:
        parse_upload(b'{"text": "ok"}\n{"text": "\xff"}\n', "rows.jsonl")
    assert str(raised.value) == ("the file is not valid UTF-8 (byte 25); upload UTF-8 JSONL or CSV")


@pytest.mark.parametrize("data", [b"", b"  \n\t\n"])
def test_empty_file_is_refused(data: bytes) -> None:
    with pytest.raises(IngestError, match="the file is empty"):
        parse_upload(data, "rows.csv")


def test_csv_without_a_text_column_is_refused() -> None:
    with pytest.raises(IngestError) as raised:
        parse_upload(b"title,body\nt,b\n", "rows.csv")
    assert str(raised.value) == (
        "the CSV header must name a 'text' column (found ['title', 'body']); optional "
        "columns: id, title, tags (separated by '|')"
    )


def test_json_list_rows_are_numbered_from_one() -> None:
    assert parse_json_list([{"text": "a"}, 7, None, {"text": "b"}]) == [
        ParsedRow(1, {"text": "a"}),
        ParsedRow(2, None, "each document must be a JSON object"),
        ParsedRow(3, None, "each document must be a JSON object"),
        ParsedRow(4, {"text": "b"}),
    ]
