"""The report of `attnflow reproduce`: `report.md`, `report.html` (figures embedded) and `summary.json`.

Takes any number of `Section`s in order. The Markdown references the PNG files next to it; the
HTML is self-contained (each figure inlined as base64). `summary.json` concatenates, key by key,
the `summary` lists of all sections (the metastability experiments fill "experiments"), and records
the scale and each experiment's wall time.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from pathlib import Path

from . import Section

STYLE = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45}"
         "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}td,th{border:1px solid #bbb;padding:3px 7px}"
         "th{background:#eee}img{max-width:100%}code{background:#f4f4f4;padding:0 3px}")


def _jsonable(value):
    """NaN and infinities become null so summary.json stays strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _inline(text: str) -> str:
    text = html.escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", text)


def markdown_to_html(markdown: str, out: Path) -> str:
    """The small Markdown subset the sections use (headings, paragraphs, pipe tables, images, lists,
    fenced code, `code`, **bold**) as HTML; images are read from `out` and embedded as base64 data URIs."""
    blocks, lines, i = [], markdown.splitlines(), 0
    while i < len(lines):
        line = lines[i].rstrip()
        image = re.fullmatch(r"!\[([^\]]*)\]\(([^)]+)\)", line.strip())
        if not line.strip():
            i += 1
        elif line.startswith("```"):
            i += 1
            code = []
            while i < len(lines) and not lines[i].startswith("```"):
                code.append(html.escape(lines[i]))
                i += 1
            blocks.append("<pre>" + "\n".join(code) + "</pre>")
            i += 1
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            blocks.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
            i += 1
        elif image:
            path = out / image.group(2)
            if path.is_file():
                data = base64.b64encode(path.read_bytes()).decode()
                blocks.append(f'<p><img alt="{html.escape(image.group(1))}" src="data:image/png;base64,{data}"></p>')
            else:
                blocks.append(f"<p>[missing figure {html.escape(image.group(2))}]</p>")
            i += 1
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                    rows.append(cells)
                i += 1
            head = "".join(f"<th>{_inline(c)}</th>" for c in rows[0])
            body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in rows[1:])
            blocks.append(f"<table><tr>{head}</tr>{body}</table>")
        elif re.match(r"[*-] ", line):
            items = []
            while i < len(lines) and re.match(r"[*-] ", lines[i]):
                items.append(f"<li>{_inline(lines[i][2:])}</li>")
                i += 1
            blocks.append("<ul>" + "".join(items) + "</ul>")
        else:
            paragraph = []
            while i < len(lines) and lines[i].strip() and not re.match(r"(#|\||[*-] |!\[|```)", lines[i]):
                paragraph.append(lines[i].strip())
                i += 1
            blocks.append(f"<p>{_inline(' '.join(paragraph))}</p>")
    return "\n".join(blocks)


def write_report(sections: list[tuple[str, Section, float]], out: Path, scale: str,
                 title: str = "attnflow reproduce") -> dict:
    """Write report.md, report.html and summary.json into `out` from (experiment name, Section, wall seconds)
    triples; returns the summary."""
    out = Path(out)
    contents = "\n".join(f"- {section.title} (`{name}`, {seconds:.1f} s)" for name, section, seconds in sections)
    markdown = f"# {title}\n\nScale: **{scale}**.\n\n{contents}\n\n" + "\n\n".join(
        f"## {section.title}\n\n{section.markdown.strip()}\n" for _, section, _ in sections)
    (out / "report.md").write_text(markdown)
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{markdown_to_html(markdown, out)}</body></html>")
    (out / "report.html").write_text(page)
    summary: dict = {"scale": scale, "wall_time_s": {name: round(seconds, 2) for name, _, seconds in sections}}
    for _, section, _ in sections:
        for key, entries in section.summary.items():
            summary.setdefault(key, []).extend(entries)
    summary.setdefault("experiments", [])
    (out / "summary.json").write_text(json.dumps(_jsonable(summary), indent=1))
    return summary
