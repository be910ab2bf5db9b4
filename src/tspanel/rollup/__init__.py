"""The dashboard's rollup: aggregates instead of rows, computed where the data lives.

One definition (tspanel.rollup.spec, SQL transpiled per engine with sqlglot), three
engines (tspanel.rollup.engines: Polars, PostgreSQL, Spark). No Panel import.
"""

from tspanel.rollup.engines import Rollup, normalise, rollup_polars, rollup_postgres, rollup_spark
from tspanel.rollup.output import read_rollup, write_rollup, write_rollup_spark

__all__ = [
    "Rollup",
    "normalise",
    "read_rollup",
    "rollup_polars",
    "rollup_postgres",
    "rollup_spark",
    "write_rollup",
    "write_rollup_spark",
]
