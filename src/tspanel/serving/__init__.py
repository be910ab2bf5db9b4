"""What `tspanel serve` adds around Panel's server: request checks, limits, revocable logins, workers.

Panel builds the Tornado application and HTTP server; the modules here harden that pair after
it is built (``install`` functions take the Bokeh ``Server``), so the app and UI code stay free
of serving concerns. docs/security.md says what each one promises.
"""
