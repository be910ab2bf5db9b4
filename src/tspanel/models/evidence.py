"""Evidence of coordination for one category over a few days, each item with the number that makes it suspicious.

An analyst opening an alert asks *who* made the spike: a few accounts filing many flags,
one piece of content or one target shared by many accounts, accounts created days ago,
a burst within the day, one region. Each item compares the selection with the same
category's previous BASELINE_DAYS days (never with ground-truth columns):

- counts of sharing (accounts on one content hash or target, flags by one account) are
  compared per day with the baseline days' busiest value, taken at its 90th percentile
  so that an earlier attack inside the baseline does not become "normal";
- shares (young accounts, the busiest hour, a region) are scored as a robust z against
  the baseline days' median and MAD, floored at binomial noise, like the detector's
  signals (tspanel.detect.signals).

No Panel import; the CLI (`tspanel detect --explain`) and the dashboard show the same items.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl

from tspanel.errors import TspanelError

BASELINE_DAYS = 28
MIN_BASELINE_DAYS = 7
NORMAL_QUANTILE = 0.9  # the baseline's "usual maximum": robust to a few earlier attack days
SHARING_FACTOR = 2.0  # suspicious: at least this many times the usual maximum ...
MIN_SHARED_ACCOUNTS = 20  # ... and at least this many accounts on one hash or target
MIN_REPEAT_FLAGS = 4  # an account filing fewer flags a day is never suspicious
MIN_REPEAT_ACCOUNTS = 3  # suspicious: at least this many accounts above the usual maximum
Z_THRESHOLD = 4.0  # shares: robust z above this (the detector's default threshold)
MIN_SHARE_FLAGS = 30  # a share of fewer flags is never suspicious (2 of 2 flags from one region is not news)
YOUNG_ACCOUNT_DAYS = 30
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-1 days", 0, 2),
    ("2-7 days", 2, 8),
    ("8-29 days", 8, 30),
    ("30-364 days", 30, 365),
    ("1 year or more", 365, None),
)
TOP_N = 10
MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class EvidenceItem:
    """One piece of evidence: what was measured, against what, and whether it is out of the ordinary."""

    kind: str  # accounts | content | targets | account_age | hours | regions
    statement: str  # one sentence with the numbers
    suspicious: bool
    value: float | None  # the number that is (or is not) suspicious
    normal: float | None  # what the category usually shows
    rows: list[dict[str, Any]] = field(default_factory=list)  # the top accounts, hashes, buckets, hours...


@dataclass(frozen=True)
class Evidence:
    """Every item for one category and a range of days."""

    category: str
    start: dt.date
    end: dt.date
    flags: int
    baseline_days: int
    items: tuple[EvidenceItem, ...]

    @property
    def suspicious(self) -> tuple[EvidenceItem, ...]:
        return tuple(i for i in self.items if i.suspicious)

    def item(self, kind: str) -> EvidenceItem | None:
        return next((i for i in self.items if i.kind == kind), None)

    @property
    def baseline(self) -> str:
        """What the selection is compared with, in words: ``baseline_days`` counts only the days
        that had flags, so "the previous 5 days" would misstate a 28-day window."""
        return f"the category's previous {BASELINE_DAYS} days ({self.baseline_days} with flags)"

    @property
    def why_empty(self) -> str | None:
        """Why there are no items, when there are none: no flags, or none of the columns they read."""
        if self.items:
            return None
        if self.flags == 0:
            return "no flags in this selection: nothing to compare"
        return (
            "this dataset has none of the columns the evidence reads (account_id, account_age_days, "
            "content_hash, target_id, created_at, region; docs/data.md)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "flags": self.flags,
            "baseline_days": self.baseline_days,
            "suspicious": [i.kind for i in self.suspicious],
            "items": [_plain(asdict(i)) for i in self.items],
        }


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _quantile(values: list[float]) -> float | None:
    return float(np.quantile(values, NORMAL_QUANTILE, method="higher")) if values else None


def robust_z(value: float, past: list[float], n: int) -> float | None:
    """z of a share of ``n`` flags against past daily shares (median, MAD), floored at binomial noise."""
    if len(past) < MIN_BASELINE_DAYS or n == 0:
        return None
    centre = float(np.median(past))
    spread = MAD_TO_SD * float(np.median(np.abs(np.array(past) - centre)))
    p = min(max(centre, 0.5 / n), 1 - 0.5 / n)
    return (value - centre) / max(spread, math.sqrt(p * (1 - p) / n))


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


class _Window:
    """The category's flags over the baseline and the selection, collected once."""

    def __init__(self, flags: pl.DataFrame, start: dt.date, end: dt.date) -> None:
        self.flags = flags
        self.start, self.end = start, end
        self.selected = flags.filter(pl.col("date").is_between(start, end))
        self.baseline = flags.filter(pl.col("date") < start)
        self.days = self.baseline["date"].unique().sort().to_list()

    def has(self, column: str) -> bool:
        return column in self.flags.columns

    def enough(self) -> bool:
        return len(self.days) >= MIN_BASELINE_DAYS


def explain(
    dataset: Any,
    start: dt.date,
    end: dt.date,
    category: str,
    *,
    regions: list[str] | None = None,
) -> Evidence:
    """The evidence for ``category`` on days ``start``..``end`` (inclusive) of a tspanel.source.Dataset."""
    if category not in dataset.categories:
        raise TspanelError(f"unknown category {category!r}; choose from {', '.join(dataset.categories)}")
    if end < start:
        raise TspanelError(f"the range ends ({end}) before it starts ({start})")
    if start > dataset.last_day or end < dataset.first_day:
        raise TspanelError(f"{start}..{end} is outside the data ({dataset.first_day} to {dataset.last_day})")
    wanted = [
        c
        for c in ("date", "created_at", "region", "account_id", "account_age_days", "content_hash", "target_id")
        if c in dataset.columns
    ]
    first = start - dt.timedelta(days=BASELINE_DAYS)
    if getattr(dataset, "weight", None) is not None:  # a rollup: the rows are in its source, if anywhere
        from tspanel.models.flags_query import window_rows

        wanted = ["date", "created_at", "region", "account_id", "account_age_days", "content_hash", "target_id"]
        frame = window_rows(dataset, first, end, category, regions, wanted)
    else:
        query = dataset.flags.filter(pl.col("date").is_between(first, end) & (pl.col("category") == category))
        if regions:
            query = query.filter(pl.col("region").is_in(regions))
        frame = query.select(wanted).with_columns([pl.col(c).cast(pl.String) for c in ("region",) if c in wanted])
        frame = frame.collect()
    window = _Window(frame, start, end)
    items: list[EvidenceItem] = []
    if window.selected.height == 0:  # nothing to explain: no items rather than items about nothing
        return Evidence(category, start, end, 0, len(window.days), ())
    if window.has("account_id"):
        items.append(_accounts(window))
    for kind, column in (("content", "content_hash"), ("targets", "target_id")):
        if window.has(column) and window.has("account_id"):
            items.append(_shared(window, kind, column))
    if window.has("account_age_days"):
        items.append(_ages(window))
    if window.has("created_at"):
        items.append(_hours(window))
    if window.has("region") and not regions:
        items.append(_regions(window))
    return Evidence(category, start, end, window.selected.height, len(window.days), tuple(items))


def _daily_peak(frame: pl.DataFrame, keys: list[str], value: pl.Expr) -> pl.DataFrame:
    """Per day: the largest ``value`` over groups of ``keys``."""
    per = frame.group_by(["date", *keys]).agg(value.alias("v"))
    return per.group_by("date").agg(pl.col("v").max())


def _accounts(w: _Window) -> EvidenceItem:
    sel = w.selected.filter(pl.col("account_id").is_not_null())
    age = [pl.col("account_age_days").min().alias("age_days")] if w.has("account_age_days") else []
    top = (
        sel.group_by("account_id")
        .agg(pl.len().alias("flags"), pl.col("date").n_unique().alias("days"), *age)
        .sort(["flags", "account_id"], descending=[True, False])
        .head(TOP_N)
    )
    daily = sel.group_by("date", "account_id").agg(pl.len().alias("k"))
    base = _daily_peak(w.baseline.filter(pl.col("account_id").is_not_null()), ["account_id"], pl.len())
    normal = _quantile(base["v"].to_list())
    peak = int(daily["k"].max() or 0)
    if normal is None or not w.enough():
        return EvidenceItem(
            "accounts",
            f"top account filed {peak} flags on one day; too little history to compare",
            False,
            peak,
            None,
            top.to_dicts(),
        )
    above = max(SHARING_FACTOR * normal, MIN_REPEAT_FLAGS)
    over = daily.filter(pl.col("k") >= above)["account_id"].n_unique()
    suspicious = over >= MIN_REPEAT_ACCOUNTS
    lead = top.row(0, named=True) if top.height else None
    who = (
        f" (top: {lead['account_id']}, {lead['flags']} flag{'s' if lead['flags'] != 1 else ''}"
        + (f", {lead['age_days']} days old)" if "age_days" in top.columns else ")")
        if lead
        else ""
    )
    statement = (
        f"{over} account{'s' if over != 1 else ''} filed {above:g} or more flags on one day{who}; "
        f"usually no account files more than {normal:g} a day"
    )
    return EvidenceItem("accounts", statement, suspicious, float(over), normal, top.to_dicts())


def _shared(w: _Window, kind: str, column: str) -> EvidenceItem:
    noun = "content hash" if kind == "content" else "target"
    sel = w.selected.filter(pl.col(column).is_not_null())
    young = (
        [(pl.col("account_age_days") < YOUNG_ACCOUNT_DAYS).mean().alias("young_share")]
        if w.has("account_age_days")
        else []
    )
    top = (
        sel.group_by(column)
        .agg(pl.len().alias("flags"), pl.col("account_id").n_unique().alias("accounts"), *young)
        .sort(["accounts", "flags", column], descending=[True, True, False])
        .head(TOP_N)
    )
    daily = sel.group_by("date", column).agg(pl.col("account_id").n_unique().alias("k"))
    base = _daily_peak(w.baseline.filter(pl.col(column).is_not_null()), [column], pl.col("account_id").n_unique())
    normal = _quantile(base["v"].to_list())
    peak = int(daily["k"].max() or 0)
    lead = top.row(0, named=True) if top.height else None
    said = (
        f"one {noun} ({lead[column]}) on {lead['flags']} flags from {lead['accounts']} accounts"
        if lead
        else f"no {'content hashes' if kind == 'content' else 'targets'}"
    )
    if normal is None or not w.enough():
        return EvidenceItem(kind, f"{said}; too little history to compare", False, peak, None, top.to_dicts())
    threshold = max(SHARING_FACTOR * normal, MIN_SHARED_ACCOUNTS)
    suspicious = peak >= threshold
    shared = daily.filter(pl.col("k") >= threshold)[column].n_unique() if suspicious else 0
    plural = "content hashes" if kind == "content" else "targets"
    more = f"; {shared} {plural} shared that widely" if shared > 1 else ""
    statement = (
        f"{said}, {peak} accounts on its busiest day{more}; usually at most {normal:g} accounts share a {noun} a day"
    )
    return EvidenceItem(kind, statement, suspicious, float(peak), normal, top.to_dicts())


def _share_item(
    kind: str, value: float, n: int, past: list[float], describe: str, rows: list[dict[str, Any]]
) -> EvidenceItem:
    z = robust_z(value, past, n)
    normal = float(np.median(past)) if past else None
    if z is None:
        return EvidenceItem(
            kind, f"{_pct(value)} {describe}; too little history to compare", False, value, normal, rows
        )
    suspicious = z > Z_THRESHOLD and n >= MIN_SHARE_FLAGS
    statement = f"{_pct(value)} {describe}; usually {_pct(normal)} (robust z {z:.1f})"
    return EvidenceItem(kind, statement, suspicious, value, normal, rows)


def _ages(w: _Window) -> EvidenceItem:
    def buckets(frame: pl.DataFrame) -> dict[str, float]:
        ages = frame["account_age_days"].drop_nulls()
        n = max(len(ages), 1)
        return {
            label: float(((ages >= lo) & (ages < hi if hi is not None else True)).sum()) / n
            for label, lo, hi in AGE_BUCKETS
        }

    sel_b, base_b = buckets(w.selected), buckets(w.baseline)
    rows = [{"age": label, "share": sel_b[label], "usual_share": base_b[label]} for label, _, _ in AGE_BUCKETS]
    young = (pl.col("account_age_days") < YOUNG_ACCOUNT_DAYS).mean()
    value = w.selected.select(young).item() or 0.0
    past = w.baseline.group_by("date").agg(young.alias("s"))["s"].drop_nulls().to_list()
    n = w.selected["account_age_days"].drop_nulls().len()
    return _share_item(
        "account_age", value, n, past, f"of flags from accounts under {YOUNG_ACCOUNT_DAYS} days old", rows
    )


def _hours(w: _Window) -> EvidenceItem:
    hour = pl.col("created_at").dt.hour().alias("hour")
    timed = pl.col("created_at").is_not_null()  # the contract allows empty cells: no hour to count
    selected, baseline = w.selected.filter(timed), w.baseline.filter(timed)

    def profile(frame: pl.DataFrame) -> dict[int, float]:
        counts = frame.group_by(hour).agg(pl.len().alias("k"))
        total = max(int(counts["k"].sum()), 1)
        return {h: 0.0 for h in range(24)} | {int(r["hour"]): r["k"] / total for r in counts.iter_rows(named=True)}

    sel_p = profile(selected)
    base_p = profile(baseline)
    rows = [{"hour": h, "share": sel_p[h], "usual_share": base_p[h]} for h in range(24)]
    busiest = (
        selected.group_by("date", hour)
        .agg(pl.len().alias("k"))
        .with_columns((pl.col("k") / pl.col("k").sum().over("date")).alias("s"))
        .sort(["s", "date", "hour"], descending=[True, False, False])  # ties: the earliest day and hour
    )
    past = (
        baseline.group_by("date", hour)
        .agg(pl.len().alias("k"))
        .with_columns((pl.col("k") / pl.col("k").sum().over("date")).alias("s"))
        .group_by("date")
        .agg(pl.col("s").max())["s"]
        .to_list()
    )
    if busiest.height == 0:
        return EvidenceItem("hours", "no flags with a time of day", False, None, None, rows)
    top = busiest.row(0, named=True)
    n = int(selected.filter(pl.col("date") == top["date"]).height)
    describe = f"of {top['date']}'s flags in its busiest hour ({top['hour']:02d}:00 UTC)"
    return _share_item("hours", top["s"], n, past, describe, rows)


def _regions(w: _Window) -> EvidenceItem:
    n = w.selected.filter(pl.col("region").is_not_null()).height
    sel = w.selected.group_by("region").agg((pl.len() / max(n, 1)).alias("share"))
    # Shares among flags with a region, on the selected days and in the baseline alike.
    located = w.baseline.filter(pl.col("region").is_not_null())
    base = (
        located.group_by("date", "region")
        .agg(pl.len().alias("k"))
        .with_columns((pl.col("k") / pl.col("k").sum().over("date")).alias("s"))
    )
    rows, best = [], None
    regions = sorted(set(sel["region"].drop_nulls().to_list()) | set(base["region"].drop_nulls().to_list()))
    shares = dict(zip(sel["region"].to_list(), sel["share"].to_list(), strict=True))
    for region in regions:
        past = base.filter(pl.col("region") == region)["s"].to_list()
        past += [0.0] * (located["date"].n_unique() - len(past))  # days without a flag from the region
        value = shares.get(region, 0.0)
        z = robust_z(value, past, n)
        usual = float(np.median(past)) if past else None
        rows.append({"region": region, "share": value, "usual_share": usual, "robust_z": z})
        if z is not None and (best is None or z > best[2]):
            best = (region, value, z, past)
    if best is None:
        return EvidenceItem("regions", "too little history to compare the region split", False, None, None, rows)
    region, value, _, past = best
    return _share_item("regions", value, n, past, f"of flags from {region}", rows)
