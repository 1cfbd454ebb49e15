"""The report's building blocks and the two renderers that turn them into Markdown and HTML.

Both files are rendered from one list of blocks, so they always say the same thing; the
HTML embeds its PNGs as base64 and needs no network.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass

__all__ = ["Heading", "Paragraph", "Table", "Figure", "Block", "render_markdown", "render_html"]


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    """Text; ``**bold**`` is the only markup, rendered in both formats."""

    text: str


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Figure:
    title: str
    stem: str  # the PNG's path without suffix, relative to the report
    png: bytes


Block = Heading | Paragraph | Table | Figure


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append("#" * block.level + " " + block.text)
        elif isinstance(block, Paragraph):
            out.append(block.text)
        elif isinstance(block, Table):
            out.append("| " + " | ".join(block.headers) + " |")
            out.append("|" + "---|" * len(block.headers))
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
        else:
            out.append(f"![{block.title}]({block.stem}.png)")
        out.append("")
    return "\n".join(out)


def _inline_md(text: str) -> str:
    escaped = html.escape(text)
    parts = escaped.split("**")
    return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))


def _anchor(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def render_html(blocks: list[Block], title: str) -> str:
    """A self-contained page: a table of contents after the title, PNGs inlined."""
    body: list[str] = []
    sections = [b.text for b in blocks if isinstance(b, Heading) and b.level == 2]
    toc = "".join(f"<li><a href='#{_anchor(t)}'>{html.escape(t)}</a></li>" for t in sections)
    for block in blocks:
        if isinstance(block, Heading):
            tag = f"h{block.level}"
            body.append(f"<{tag} id='{_anchor(block.text)}'>{html.escape(block.text)}</{tag}>")
            if block.level == 1 and toc:
                body.append(f"<nav><b>Contents</b><ol>{toc}</ol></nav>")
        elif isinstance(block, Paragraph):
            body.append(f"<p>{_inline_md(block.text)}</p>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{html.escape(h)}</th>" for h in block.headers)
            lines = "".join(
                "<tr>" + "".join(f"<td>{_inline_md(c)}</td>" for c in row) + "</tr>"
                for row in block.rows
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{lines}</tbody></table>")
        else:
            encoded = base64.b64encode(block.png).decode()
            title = html.escape(block.title)
            body.append(
                f"<figure><img alt='{title}' src='data:image/png;base64,{encoded}'>"
                f"<figcaption>{title}</figcaption></figure>"
            )
    style = (
        "body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;font-size:12px;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}"
        "th{background:#f3f3f3}img{max-width:100%}"
        "nav{background:#fafafa;border:1px solid #ddd;padding:.5em 1em;margin:1em 0}"
        "figure{margin:1.5em 0}figcaption{font-size:13px;color:#555}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title><style>{style}</style></head><body>{''.join(body)}</body></html>\n"
    )
