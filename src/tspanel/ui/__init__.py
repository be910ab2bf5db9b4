"""The dashboard's views: Panel, HoloViews and Bokeh code only.

Views read the small frames the domain models (tspanel.models) compute and write
user selections back into the session's shared Filters; they never filter raw rows,
so the browser only ever receives aggregates.
"""
