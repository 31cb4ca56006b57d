"""Checks that a Markdown document is well-formed as GitHub reads it: CommonMark with GFM tables, parsed by
markdown-it-py, plus the rules a parser forgives silently (a table row with too many or too few cells, a
``<details>`` left open, raw HTML that came from data)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

ALLOWED_HTML = re.compile(r"</?(details|summary|code|br)>")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


@dataclass(frozen=True)
class Parsed:
    tokens: list[Token]
    html: str
    tables: int


def parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def well_formed(markdown: str) -> Parsed:
    md = parser()
    tokens = md.parse(markdown)
    html = md.renderer.render(tokens, md.options, {})

    # every raw table line is a row of a parsed table, with as many cells as its header
    raw_rows = 0
    header_cells: int | None = None
    for line in markdown.split("\n"):
        if not line.startswith("|"):
            header_cells = None
            continue
        cells = len(_UNESCAPED_PIPE.split(line.strip().strip("|").replace("\\\\", "")))
        if header_cells is None:
            header_cells = cells
        assert cells == header_cells, (
            f"a row with {cells} cells under a header of {header_cells}: {line[:200]}"
        )
        if not re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", line):
            raw_rows += 1
    parsed_rows = sum(1 for t in tokens if t.type == "tr_open")
    assert parsed_rows == raw_rows, f"{raw_rows} table lines but {parsed_rows} parsed table rows"

    # raw HTML only where the renderer writes it: <details>, <summary>, <code>, <br>, balanced
    depth = 0
    for t in tokens:
        pieces = [t, *(t.children or [])]
        for piece in pieces:
            if piece.type not in ("html_block", "html_inline"):
                continue
            for tag in re.findall(r"</?[A-Za-z][^>]*>", piece.content):
                assert ALLOWED_HTML.fullmatch(tag), f"unexpected HTML {tag!r}"
                if tag == "<details>":
                    depth += 1
                elif tag == "</details>":
                    depth -= 1
                    assert depth >= 0, "</details> without <details>"
    assert depth == 0, f"{depth} <details> left open"
    return Parsed(tokens, html, sum(1 for t in tokens if t.type == "table_open"))
