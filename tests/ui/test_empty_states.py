"""Empty tables say so the way an empty chart does: a centred, dashed-bordered note."""

from __future__ import annotations

from typing import Any

from .dashboard import opened, wait_for

EMPTY_STYLE_JS = """
(text) => {
  const find = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.tagName === 'DIV' && el.textContent === text && el.children.length === 0) return el;
      if (el.shadowRoot) { const hit = find(el.shadowRoot); if (hit) return hit; }
    }
    return null;
  };
  const el = find(document);
  if (!el) return null;
  const s = getComputedStyle(el);
  return {size: s.fontSize, border: s.borderTopStyle, align: s.textAlign};
}
"""


def test_empty_attack_tables_say_so_as_an_empty_chart_does(browser: Any, server: str) -> None:
    """Before the first attack (2026-09-23) there are no alerts and no known attacks; the tables'
    messages were unstyled body text (their class's rule was not in their panes' stylesheets)."""
    url = server + "?tab=attacks&start=2026-08-24&end=2026-09-10"
    with opened(browser, url, width=1440, height=1400) as (page, errors):
        for text in ("No alerts in the selected days at this threshold.", "No known attacks in the selected days."):
            style = wait_for(lambda text=text: page.evaluate(EMPTY_STYLE_JS, text), f"'{text}' shown", timeout=150)
            assert style == {"size": "13.5px", "border": "dashed", "align": "center"}, text
        assert errors == []
