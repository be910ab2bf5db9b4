"""The charts' page theme is set by the server: the browser sends no theme changes back, and dark mode works.

panel-material-ui themes every Bokeh chart in the browser and BokehJS syncs each changed
property to the server (one message per model). The server now sends the light theme's
values itself (tspanel.ui.theme.PAGE_THEME_ATTRS), so on page open and on opening every
tab the browser must change none of the properties listed below. If a panel-material-ui
upgrade changes one of its values, this test names the property. Toggling dark mode must
still recolour the charts, and toggling back restore the light values.
"""

from __future__ import annotations

from typing import Any

from .dashboard import TAB_PLOTS, open_tab, wait_for

# Every chart property panel-material-ui's apply_bokeh_theme sets on an Axis, Grid, Title,
# Legend or figure (the Toolbar's stylesheet is appended on every call and cannot match).
THEMED = {
    "axis_line_color", "major_tick_line_color", "minor_tick_line_color", "axis_line_alpha",
    "major_tick_line_alpha", "minor_tick_line_alpha", "major_label_text_color", "major_label_text_font",
    "major_label_text_font_size", "major_label_text_font_style", "axis_label_text_color",
    "axis_label_text_font", "axis_label_text_font_size", "axis_label_text_font_style", "axis_label_standoff",
    "background_fill_color", "border_line_color", "border_line_alpha", "background_fill_alpha",
    "label_text_color", "label_text_font", "label_text_font_size", "label_text_font_style",
    "title_text_color", "title_text_font", "title_text_font_size", "title_text_font_style",
    "spacing", "label_standoff", "glyph_width", "glyph_height",
    "text_color", "text_font", "text_font_size", "text_font_style",
    "grid_line_color", "grid_line_alpha",
    "border_fill_color", "border_fill_alpha", "outline_line_color", "outline_line_alpha",
}  # fmt: skip

# Records the property changes the browser sends (Bokeh PATCH-DOC contents).
SENT_JS = """
(() => {
  const Native = window.WebSocket;
  window.__patched = [];
  window.WebSocket = function (...args) {
    const ws = new Native(...args);
    const send = ws.send.bind(ws);
    ws.send = (data) => {
      if (typeof data === "string" && data.includes('"events"')) {
        try {
          for (const e of JSON.parse(data).events || []) if (e.attr) window.__patched.push(e.attr);
        } catch (error) {}
      }
      return send(data);
    };
    return ws;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
})();
"""

AXIS_LABEL_COLOUR_JS = """
() => {
  const axes = [...Bokeh.documents[0].all_models].filter(m => m.type.endsWith("Axis"));
  return [...new Set(axes.map(a => a.major_label_text_color))];
}
"""


def test_the_browser_sends_no_theme_changes_and_dark_mode_recolours_the_charts(browser: Any, server: str) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 1100})
    context.add_init_script(SENT_JS)
    page = context.new_page()
    try:
        page.goto(server, timeout=120_000)
        page.wait_for_selector("[data-kpi]", timeout=90_000)
        for tab in TAB_PLOTS:  # every tab's charts are added, and themed, after the page opened
            open_tab(page, tab)
        page.wait_for_timeout(1000)
        patched = page.evaluate("() => window.__patched")
        assert patched, "the recorder saw no message (the browser always sends its size and settings)"
        assert sorted(set(patched) & THEMED) == []

        page.get_by_role("button", name="Toggle theme").click()
        wait_for(lambda: page.evaluate(AXIS_LABEL_COLOUR_JS) == ["rgba(255, 255, 255, 0.7)"], "dark axis labels")
        page.get_by_role("button", name="Toggle theme").click()
        wait_for(lambda: page.evaluate(AXIS_LABEL_COLOUR_JS) == ["rgba(0, 0, 0, 0.6)"], "light axis labels again")
    finally:
        context.close()


def test_themed_property_names_are_bokeh_properties() -> None:
    """The list above names real properties of the themed models (a typo would make the test pass)."""
    from bokeh.models import Axis, Grid, Legend, Plot, Title

    known = set()
    for model in (Axis, Grid, Legend, Plot, Title):
        known |= set(model.properties())
    assert sorted(THEMED - known) == []
