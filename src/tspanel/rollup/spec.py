"""The dashboard's rollup, defined once as SQL and transpiled per engine with sqlglot.

Two tables, both additive over every key so a model can filter and re-aggregate them:

- ``facts``: flags grouped by day x category x region x severity x action x reviewer
  (human-review cases only) x score bin (0.01) x resolution-hours bin (1 h, capped) x
  open day x resolved day, with a count and the sums the models need.
- ``signals``: per day x category, what the attack detector needs that the facts cannot
  hold because it is not additive: distinct accounts, the day's top-5 content, target and
  account counts, young accounts and the hourly profile (regional counts are in ``facts``).

The text is written in sqlglot's neutral dialect; integer sums are cast to BIGINT
(PostgreSQL sums a BIGINT into NUMERIC). The one construct the engines spell
differently without a common sqlglot form (seconds since the epoch, fractional) is the
``EPOCH_SECONDS(x)`` placeholder, rewritten per engine in :func:`transpile`.
"""

from __future__ import annotations

from collections.abc import Collection

import sqlglot
from sqlglot import exp

from tspanel.detect.signals import TOP_K, YOUNG_ACCOUNT_DAYS
from tspanel.schema import SLA_HOURS

SCORE_BINS = 100  # ml_score bin = floor(score * 100), 1.0 falls in bin 99: bins of 0.01
HOURS_BIN_CAP = 72  # resolution bins of 1 h; 72 holds "72 h or more" (the histogram's last bin)
ENGINES: tuple[str, ...] = ("polars", "postgres", "spark")
# Polars' SQL follows PostgreSQL's; sqlglot has no Polars dialect.
DIALECTS = {"polars": "postgres", "postgres": "postgres", "spark": "spark"}

FACT_KEYS: tuple[str, ...] = (
    "day",
    "category",
    "region",
    "severity",
    "action",
    "reviewer_id",
    "score_bin",
    "hours_bin",
    "open_day",
    "resolved_day",
)
FACT_MEASURES: tuple[str, ...] = (
    "n",
    "score_sum",
    "score_sq_sum",
    "hours_n",
    "hours_sum",
    "over_sla",
    "coordinated",
    "appealed",
    "overturned",
)
HOURS = tuple(f"h{h:02d}" for h in range(24))
SIGNAL_KEYS: tuple[str, ...] = ("day", "category")
SIGNAL_MEASURES: tuple[str, ...] = (
    "n",
    "accounts",
    "age_known",
    "young",
    "content_known",
    "content_top",
    "target_known",
    "target_top",
    "account_known",
    "account_top",
    *HOURS,
)

# The flag columns the rollup reads, with the neutral SQL type a missing one is given.
SOURCE_COLUMNS: dict[str, str] = {
    "date": "DATE",
    "category": "VARCHAR",
    "region": "VARCHAR",
    "severity": "VARCHAR",
    "action": "VARCHAR",
    "reviewer_id": "VARCHAR",
    "ml_score": "DOUBLE",
    "resolution_hrs": "DOUBLE",
    "created_at": "TIMESTAMP",
    "resolved_at": "TIMESTAMP",
    "coordinated_flag": "BOOLEAN",
    "appealed": "BOOLEAN",
    "appeal_overturned": "BOOLEAN",
    "account_id": "VARCHAR",
    "account_age_days": "INT",
    "content_hash": "VARCHAR",
    "target_id": "VARCHAR",
}


def _source(columns: Collection[str], table: str) -> str:
    """The flags with every column the rollup reads; absent optional ones are typed NULLs."""
    items = []
    for name, sql_type in SOURCE_COLUMNS.items():
        if name in columns:
            value = f"CAST({name} AS VARCHAR)" if sql_type == "VARCHAR" else name
        else:
            value = f"CAST(NULL AS {sql_type})"
        items.append(f"{value} AS {name}")
    return f"SELECT {', '.join(items)} FROM {table}"


def facts_sql(columns: Collection[str], table: str = "flags") -> str:
    """The fact rollup in the neutral dialect.

    Resolution hours follow tspanel.schema.resolution_hours (resolution_hrs, else
    resolved_at - created_at); the resolved day follows tspanel.models.timing.resolved
    (resolved_at, else opened + resolution_hrs), as days since 1970-01-01.
    """
    opened = "COALESCE(EPOCH_SECONDS(created_at), EPOCH_SECONDS(CAST(date AS TIMESTAMP)))"
    return f"""
WITH src AS ({_source(columns, table)}),
prepared AS (
  SELECT
    date AS day, category, region, severity, action,
    CASE WHEN action = 'human_review' THEN reviewer_id END AS reviewer_id,
    ml_score,
    COALESCE(resolution_hrs, (EPOCH_SECONDS(resolved_at) - EPOCH_SECONDS(created_at)) / 3600.0) AS hours,
    COALESCE(CAST(created_at AS DATE), date) AS open_day,
    CAST(FLOOR(COALESCE(EPOCH_SECONDS(resolved_at), {opened} + resolution_hrs * 3600.0) / 86400.0) AS INT)
      AS resolved_day,
    coordinated_flag, appealed, appeal_overturned
  FROM src
),
binned AS (
  SELECT *,
    LEAST(CAST(FLOOR(ml_score * {SCORE_BINS}) AS INT), {SCORE_BINS - 1}) AS score_bin,
    CASE WHEN hours IS NOT NULL THEN LEAST(CAST(FLOOR(hours) AS INT), {HOURS_BIN_CAP}) END AS hours_bin
  FROM prepared
)
SELECT
  {", ".join(FACT_KEYS)},
  COUNT(*) AS n,
  SUM(ml_score) AS score_sum,
  SUM(ml_score * ml_score) AS score_sq_sum,
  COUNT(hours) AS hours_n,
  SUM(hours) AS hours_sum,
  SUM(CASE WHEN hours > {SLA_HOURS} THEN 1 ELSE 0 END) AS over_sla,
  SUM(CAST(coordinated_flag AS INT)) AS coordinated,
  SUM(CAST(appealed AS INT)) AS appealed,
  SUM(CAST(appealed AND appeal_overturned AS INT)) AS overturned
FROM binned
GROUP BY {", ".join(FACT_KEYS)}
"""


def _top(column: str, alias: str) -> str:
    """Per (day, category): flags with a value of ``column`` and those on its TOP_K most common values."""
    return f"""{alias}_counts AS (
  SELECT date AS day, category, {column} AS value, COUNT(*) AS k
  FROM src WHERE {column} IS NOT NULL GROUP BY date, category, {column}
),
{alias}_ranked AS (
  SELECT day, category, k, ROW_NUMBER() OVER (PARTITION BY day, category ORDER BY k DESC) AS rank_
  FROM {alias}_counts
),
{alias} AS (
  SELECT day, category, CAST(SUM(k) AS BIGINT) AS {alias}_known,
    CAST(SUM(CASE WHEN rank_ <= {TOP_K} THEN k ELSE 0 END) AS BIGINT) AS {alias}_top
  FROM {alias}_ranked GROUP BY day, category
)"""


def signals_sql(columns: Collection[str], table: str = "flags") -> str:
    """The detection-signal rollup (day x category) in the neutral dialect."""
    hours = ",\n    ".join(
        f"SUM(CASE WHEN EXTRACT(HOUR FROM created_at) = {h} THEN 1 ELSE 0 END) AS {name}"
        for h, name in enumerate(HOURS)
    )
    tops = [("content_hash", "content"), ("target_id", "target"), ("account_id", "account")]
    top_ctes = ",\n".join(_top(column, alias) for column, alias in tops)
    top_cols = ", ".join(
        f"COALESCE({a}.{a}_known, 0) AS {a}_known, COALESCE({a}.{a}_top, 0) AS {a}_top" for _, a in tops
    )
    joins = "\n".join(f"LEFT JOIN {a} ON {a}.day = base.day AND {a}.category = base.category" for _, a in tops)
    return f"""
WITH src AS ({_source(columns, table)}),
base AS (
  SELECT
    date AS day, category,
    COUNT(*) AS n,
    COUNT(DISTINCT account_id) AS accounts,
    COUNT(account_age_days) AS age_known,
    SUM(CASE WHEN account_age_days < {YOUNG_ACCOUNT_DAYS} THEN 1 ELSE 0 END) AS young,
    {hours}
  FROM src GROUP BY date, category
),
{top_ctes}
SELECT base.day, base.category, base.n, base.accounts, base.age_known, base.young, {top_cols},
  {", ".join(f"base.{h}" for h in HOURS)}
FROM base
{joins}
"""


def _epoch(engine: str, node: exp.Expression) -> exp.Expression:
    """Fractional seconds since 1970-01-01 UTC, as each engine spells it."""
    if engine == "spark":  # Spark: a timestamp cast to DOUBLE (UNIX_TIMESTAMP would drop the microseconds)
        return exp.cast(exp.cast(node, "TIMESTAMP"), "DOUBLE")
    return exp.Extract(this=exp.var("EPOCH"), expression=node)


def transpile(sql: str, engine: str) -> str:
    """The neutral SQL in ``engine``'s dialect (ENGINES)."""
    if engine not in DIALECTS:
        raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    tree = sqlglot.parse_one(sql)

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and node.name.upper() == "EPOCH_SECONDS":
            return _epoch(engine, node.expressions[0])
        return node

    return tree.transform(rewrite).sql(dialect=DIALECTS[engine])
