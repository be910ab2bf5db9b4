"""Benchmark figures live between marker comments in docs/*.md, so a rerun rewrites only its own tables."""

from __future__ import annotations


def replace_block(text: str, name: str, body: str) -> str:
    """``text`` with what stands between ``<!-- name:begin -->`` and ``<!-- name:end -->`` replaced by ``body``.

    A document without the markers gets the block appended at its end.
    """
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if begin not in text or end not in text:
        return text.rstrip() + f"\n\n{begin}\n{body}{end}\n"
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{body}{end}{tail}"
