"""tspanel: a Trust & Safety operations dashboard built on Panel, hvPlot and Polars."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tspanel")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0+unknown"

__all__ = ["__version__"]
