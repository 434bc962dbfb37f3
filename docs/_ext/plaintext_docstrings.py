"""Griffe extension for the API reference: attnflow's docstrings are plain text, not Markdown.

They are written to be read with `help()`: aligned parameter columns, indented continuation
lines, and inner products written `<x, y>`. Rendered as Markdown as they are, the columns would
be flowed into one paragraph and `<Q x_i, K x_j>` would be taken for an HTML tag. This extension
rewrites each docstring, before mkdocstrings renders it, paragraph by paragraph:

* a paragraph with column layout (a run of 2+ spaces inside a line, or continuation lines
  indented deeper than its first line, outside a bulleted list) becomes a ```text block, shown
  exactly as written;
* a paragraph indented by 4+ spaces everywhere stays a code block;
* any other paragraph stays Markdown (backtick code spans, bulleted lists), with `<`, `>` and
  `&` outside code spans escaped so that they show as written, and citations
  "docs/science.md §n" turned into links to that section of the science page.

Nothing under src/ is changed; the extension only affects the rendered site.
"""

from __future__ import annotations

import re

import griffe

_COLUMNS = re.compile(r"\S {2,}\S")
_BULLET = re.compile(r"^\s*(?:[*+-]|\d+[.)])\s")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# "docs/science.md §3" -> a link to that section of the science page.
# API pages are docs/api/<name>.md, so the link is ../science.md#sN.
_CITATION = re.compile(r"docs/science\.md §(\d)")


def _escape_text(text: str) -> str:
    """Escape &, <, > outside backtick code spans."""
    out, last = [], 0
    for match in _CODE_SPAN.finditer(text):
        out.append(_escape_plain(text[last:match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_escape_plain(text[last:]))
    return "".join(out)


def _escape_plain(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _CITATION.sub(lambda m: f"[docs/science.md §{m.group(1)}](../science.md#s{m.group(1)})", text)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_preformatted(lines: list[str]) -> bool:
    if any(_BULLET.match(line) for line in lines):
        return False
    first = _indent(lines[0])
    if any(_indent(line) > first for line in lines[1:]):
        return True
    return any(_COLUMNS.search(line.strip()) for line in lines)


def convert(text: str) -> str:
    """Plain-text docstring -> Markdown that shows it as written."""
    paragraphs: list[list[str]] = [[]]
    in_fence = False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            in_fence = not in_fence
        if not line.strip() and not in_fence:
            if paragraphs[-1]:
                paragraphs.append([])
            continue
        paragraphs[-1].append(line)
    blocks = []
    for lines in paragraphs:
        if not lines:
            continue
        if lines[0].strip().startswith("```"):
            blocks.append("\n".join(lines))
        elif all(_indent(line) >= 4 for line in lines):
            base = min(_indent(line) for line in lines)
            blocks.append("```python\n" + "\n".join(line[base:] for line in lines) + "\n```")
        elif _is_preformatted(lines):
            base = min(_indent(line) for line in lines)
            blocks.append("```text\n" + "\n".join(line[base:] for line in lines) + "\n```")
        else:
            blocks.append("\n".join(_escape_text(line) for line in lines))
    return "\n\n".join(blocks)


class PlainTextDocstrings(griffe.Extension):
    """Rewrite every docstring of the loaded package with `convert`."""

    def __init__(self) -> None:
        super().__init__()
        self._done: set[int] = set()

    def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader, **kwargs) -> None:
        if obj.is_alias or obj.docstring is None or id(obj.docstring) in self._done:
            return
        self._done.add(id(obj.docstring))
        obj.docstring.value = convert(obj.docstring.value)
