"""Keeps the browser's address bar and history in step with the session's filters.

Panel's ``pn.state.location`` pushes a history entry when the query changes but does
not hear the back button; this tiny component does both: Python sets ``search``
and the browser pushes it as a new entry, and a back/forward (``popstate``) sends
the restored query to Python, which validates it and applies it to the view
(filters, open tab, detection method and threshold, KPI period).
"""

from __future__ import annotations

import param
from panel.custom import JSComponent


class UrlHistory(JSComponent):
    """The query string of the page ('?start=...'); '' when nothing is filtered."""

    search = param.String(default="", doc="window.location.search, kept in sync both ways")

    _esm = """
    export function render({ model, el }) {
      el.style.display = "none";
      const url = (search) => window.location.pathname + search + window.location.hash;
      // A URL with unknown or unordered values is replaced by its checked form, not added to history.
      if (window.location.search !== model.search) {
        window.history.replaceState(window.history.state, "", url(model.search));
      }
      model.on("search", () => {
        if (window.location.search !== model.search) {
          window.history.pushState({tspanel: true}, "", url(model.search));
        }
      });
      const onPop = () => { model.search = window.location.search; };
      window.addEventListener("popstate", onPop);
      model.on("remove", () => window.removeEventListener("popstate", onPop));
    }
    """
