"""`tspanel bench`: how fast and how big the dashboard is on this machine, against pandas and DuckDB.

`run_bench` measures load, full and filtered refreshes, peak memory and the bytes sent to
the browser; `pandas_impl` and `duckdb_impl` compute the same outputs as
`Dashboard.refresh()` so their times are a fair yardstick. pandas and DuckDB are optional
(`pip install 'tspanel[bench]'`); they are imported only when compared.
"""

from tspanel.bench.harness import ENGINES, INSTALL_HINT, BenchConfig, missing_engines, run_bench

__all__ = ["ENGINES", "INSTALL_HINT", "BenchConfig", "missing_engines", "run_bench"]
