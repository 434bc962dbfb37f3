"""The report of `attnflow reproduce`: `report.md`, `report.html` (figures and math embedded) and `summary.json`.

Takes any number of `Section`s in order. The Markdown references the PNG files next to it and
writes math between dollars (`$\\gamma_k$`, `$$...$$`); the HTML, converted by markdown-it-py
(CommonMark with tables, and dollar math by mdit-py-plugins), is self-contained: each figure inlined
as base64 with a numbered caption (its alt text), and the math typeset in the browser by the KaTeX
bundled with attnflow (script, style sheet and fonts inlined: no network needed). A provenance
block (attnflow version and commit, command, date, machine) opens both. `summary.json`
concatenates, key by key, the `summary` lists of all sections (the metastability experiments
fill "experiments"), and records the scale, each experiment's wall time and the provenance.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from pathlib import Path

from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

from .. import provenance
from . import Section

KATEX = Path(__file__).parent / "katex"
STYLE = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45}"
         "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}td,th{border:1px solid #bbb;padding:3px 7px}"
         "th{background:#eee}img{max-width:100%}code{background:#f4f4f4;padding:0 3px}"
         "figure{margin:1.5em 0}figcaption{font-size:0.9em;color:#333;margin-top:0.3em}"
         ".provenance{background:#f7f7f7;border:1px solid #ddd;padding:0.5em 1em;font-size:0.9em}")
# Typesets every element the dollarmath plugin marked (class "math inline" or "math block").
TYPESET = ("document.querySelectorAll('.math').forEach(function(e){katex.render(e.textContent,e,"
           "{displayMode:e.classList.contains('block'),throwOnError:false});});")


def _jsonable(value):
    """NaN and infinities become null so summary.json stays strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def percent_change(value: float, reference: float) -> str:
    """100 (value - reference) / reference as "+2.1%", "−13%" or "0%" (never "-0%"): two significant
    digits below 10%, whole percents above."""
    change = 100 * (value - reference) / reference
    if not math.isfinite(change):
        return "n/a"
    text = f"{change:+.2g}" if abs(change) < 10 else f"{change:+.0f}"
    if float(text) == 0:
        return "0%"
    return text.replace("-", "−") + "%"


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table").use(dollarmath_plugin, double_inline=True)


def markdown_to_html(markdown: str, out: Path) -> str:
    """The report's Markdown as HTML (markdown-it-py); each image becomes a numbered figure whose caption
    is its alt text, read from `out` and embedded as a base64 data URI."""
    parser = _parser()
    count = [0]

    def image(renderer, tokens, index, options, env):
        token = tokens[index]
        caption = parser.renderInline(token.content)
        path = out / token.attrGet("src")
        if not path.is_file():
            return f"<figure>[missing figure {html.escape(token.attrGet('src'))}]</figure>"
        count[0] += 1
        data = base64.b64encode(path.read_bytes()).decode()
        return (f'<figure><img alt="{html.escape(token.content)}" src="data:image/png;base64,{data}">'
                f"<figcaption><b>Figure {count[0]}.</b> {caption}</figcaption></figure>")

    parser.add_render_rule("image", image)
    page = parser.render(markdown)
    return re.sub(r"<p>(<figure>.*?</figure>)</p>", r"\1", page, flags=re.S)


def katex_assets() -> tuple[str, str]:
    """The bundled KaTeX (docs/assets/katex, MIT licence): its style sheet with the fonts inlined as data
    URIs, and its script."""
    def font(match):
        data = base64.b64encode((KATEX / "fonts" / match.group(1)).read_bytes()).decode()
        return f"url(data:font/woff2;base64,{data})"

    style = re.sub(r"url\(fonts/([\w-]+\.woff2)\)", font, (KATEX / "katex.min.css").read_text())
    return style, (KATEX / "katex.min.js").read_text()


def provenance_block(command: str) -> dict:
    """What made the report: attnflow version and commit, the command, the date (UTC) and the machine."""
    return {"attnflow": provenance.VERSION, "commit": provenance.commit(), "command": command,
            "date": provenance.now(), "machine": provenance.machine()}


def write_report(sections: list[tuple[str, Section, float]], out: Path, scale: str,
                 title: str = "attnflow reproduce") -> dict:
    """Write report.md, report.html and summary.json into `out` from (experiment name, Section, wall seconds)
    triples; returns the summary."""
    out = Path(out)
    made = provenance_block(provenance.current_command() or provenance.python_call(
        "attnflow.experiments.report.write_report", {"out": str(out), "scale": scale}))
    origin = "\n".join(f"| {key} | `{value}` |" for key, value in made.items())
    contents = "\n".join(f"- {section.title} (`{name}`, {seconds:.1f} s)" for name, section, seconds in sections)
    markdown = (f"# {title}\n\nScale: **{scale}**.\n\n| provenance | |\n|---|---|\n{origin}\n\n{contents}\n\n"
                + "\n\n".join(f"## {section.title}\n\n{section.markdown.strip()}\n" for _, section, _ in sections))
    (out / "report.md").write_text(markdown)
    style, script = katex_assets()
    body = markdown_to_html(markdown, out).replace("<table>\n<thead>\n<tr>\n<th>provenance</th>",
                                                   '<table class="provenance">\n<thead>\n<tr>\n<th>provenance</th>', 1)
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style><style>{style}</style><script>{script}</script></head>"
            f"<body>{body}<script>{TYPESET}</script></body></html>")
    (out / "report.html").write_text(page)
    summary: dict = {"scale": scale, "provenance": made,
                     "wall_time_s": {name: round(seconds, 2) for name, _, seconds in sections}}
    for _, section, _ in sections:
        for key, entries in section.summary.items():
            summary.setdefault(key, []).extend(entries)
    summary.setdefault("experiments", [])
    (out / "summary.json").write_text(json.dumps(_jsonable(summary), indent=1))
    return summary
