"""The report as Markdown or HTML, with every text escaped and unverified numbers marked.

The summary text comes from a model that read third-party strings, and the header
repeats payload strings, so nothing is ever emitted as markup: HTML goes through
html.escape, Markdown through md_escape, which backslash-escapes everything that
could start a link, an image, raw HTML, emphasis or a block.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Literal

from tspanel.summary.numbers import NumberChecker
from tspanel.summary.report import Report
from tspanel.vocab import dataset_label

Format = Literal["md", "html"]
FORMATS: tuple[str, ...] = ("md", "html")

TITLE = "Weekly Trust & Safety summary"
UNVERIFIED_TITLE = "not found in the week's data"

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~!&])")
_MD_BLOCK_START = re.compile(r"^([-+=]|\d+[.)])(?=\s|$)")


def md_escape(text: str) -> str:
    """`text` as literal Markdown on one line: specials escaped, block starts defused."""
    return _md_line(_md_specials(" ".join(text.split())))


def _md_specials(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_line(text: str) -> str:
    """Defuse what would start a list item or heading when `text` opens a line or list item."""
    return _MD_BLOCK_START.sub(lambda m: m.group(1)[:-1] + "\\" + m.group(1)[-1], text)


def render(report: Report, fmt: Format = "md") -> str:
    if fmt == "md":
        return render_markdown(report)
    if fmt == "html":
        return render_html(report)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def render_markdown(report: Report) -> str:
    checker = NumberChecker(report.payload)
    s = report.sections

    def text(value: str) -> str:
        return _md_line(_marked(value, checker, _md_specials, lambda n: f"**{n} (unverified)**"))

    week = report.payload["week"]
    lines = [
        f"# {TITLE}: {md_escape(dataset_label(report.payload['dataset']))}",
        "",
        f"Week {week['start']} to {week['end']}, compared with {week['previous_start']} to {week['previous_end']}.",
        "",
        f"_{md_escape(_source_line(report))}_",
    ]
    if report.notice:
        lines += ["", f"> **Note:** {md_escape(report.notice)}"]
    lines += ["", "## Top risks", ""]
    lines += [f"- {text(risk)}" for risk in s["top_risks"]]
    cat = s["category_to_watch"]
    health = s["classifier_health"]
    lines += [
        "",
        "## Category to watch",
        "",
        f"- **Category:** {text(cat['category'])}",
        f"- **Why:** {text(cat['why'])}",
        "",
        "## Classifier health",
        "",
        f"- **Assessment:** {text(health['assessment'])}",
        f"- **Action:** {text(health['action'])}",
        "",
        "## Staffing recommendation",
        "",
        text(s["staffing_recommendation"]),
        "",
        "## Key metric for next week",
        "",
        text(s["key_metric_next_week"]),
        "",
        "## Number check",
        "",
        md_escape(_number_line(report)),
        "",
    ]
    return "\n".join(lines)


def render_html(report: Report, *, standalone: bool = True) -> str:
    """A whole HTML document, or with `standalone=False` a <div> to embed (e.g. in a Panel pane)."""
    checker = NumberChecker(report.payload)
    s = report.sections
    esc = html.escape

    def text(value: str) -> str:
        return _marked(value, checker, esc, lambda n: f'<mark class="unverified" title="{UNVERIFIED_TITLE}">{n}</mark>')

    week = report.payload["week"]
    cat, health = s["category_to_watch"], s["classifier_health"]
    parts = [
        f'<div class="tspanel-summary" data-source="{report.source}">',
        f"<h1>{esc(TITLE)}: {esc(dataset_label(report.payload['dataset']))}</h1>",
        f'<p class="week">Week {esc(week["start"])} to {esc(week["end"])}, compared with '
        f"{esc(week['previous_start'])} to {esc(week['previous_end'])}.</p>",
        f'<p class="source"><em>{esc(_source_line(report))}</em></p>',
    ]
    if report.notice:
        parts.append(f'<p class="fallback" role="status"><strong>Note:</strong> {esc(report.notice)}</p>')
    parts += [
        "<h2>Top risks</h2>",
        "<ul>" + "".join(f"<li>{text(risk)}</li>" for risk in s["top_risks"]) + "</ul>",
        "<h2>Category to watch</h2>",
        f"<ul><li><strong>Category:</strong> {text(cat['category'])}</li>"
        f"<li><strong>Why:</strong> {text(cat['why'])}</li></ul>",
        "<h2>Classifier health</h2>",
        f"<ul><li><strong>Assessment:</strong> {text(health['assessment'])}</li>"
        f"<li><strong>Action:</strong> {text(health['action'])}</li></ul>",
        "<h2>Staffing recommendation</h2>",
        f"<p>{text(s['staffing_recommendation'])}</p>",
        "<h2>Key metric for next week</h2>",
        f"<p>{text(s['key_metric_next_week'])}</p>",
        "<h2>Number check</h2>",
        f'<p class="number-check">{esc(_number_line(report))}</p>',
        "</div>",
    ]
    body = "\n".join(parts)
    if not standalone:
        return body + "\n"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{esc(TITLE)}: {esc(dataset_label(report.payload['dataset']))} ({esc(week['start'])})</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;line-height:1.5}"
    "mark.unverified{background:#ffe08a;border-bottom:2px dotted #b45309}"
    ".fallback{background:#fff4e5;border-left:4px solid #f59e0b;padding:.5rem .75rem}"
    ".source,.week{color:#555}"
)


def _source_line(report: Report) -> str:
    if report.source == "claude":
        return f"Written by Claude ({report.model}) from the week's metrics; its numbers are checked against them."
    return "Offline summary: generated by rules from the week's metrics, without the Claude API."


def _number_line(report: Report) -> str:
    check = report.numbers
    if check.unmatched:
        n = len(check.unmatched)
        noun = "number matches" if n == 1 else "numbers match"
        return (
            f"{n} {noun} nothing in the week's data and {'is' if n == 1 else 'are'} marked unverified: "
            f"{', '.join(check.unmatched)}."
        )
    if check.checked == 0:
        return "The summary cites no numbers."
    return f"All {check.checked} numbers in the summary match the week's data."


def _marked(value: str, checker: NumberChecker, escape: Callable[[str], str], mark: Callable[[str], str]) -> str:
    """`value` escaped piece by piece, with the numbers the payload does not back wrapped by `mark`."""
    value = " ".join(value.split())
    out: list[str] = []
    pos = 0
    for m in checker.mentions(value):
        if m.matched:
            continue
        out += [escape(value[pos : m.start]), mark(escape(value[m.start : m.end].strip()))]
        pos = m.end
    out.append(escape(value[pos:]))
    return "".join(out)
