"""The rule-based summary: the same five sections as Claude's, from the same payload.

This is what a user without an API key sees, and the fallback whenever the API
fails, so it is deterministic and only states numbers the payload holds (the
number check passes on it by construction; the tests hold it to that).
"""

from __future__ import annotations

from collections.abc import Callable

from tspanel.summary.payload import CategoryChange, WeeklyPayload
from tspanel.summary.sections import MAX_RISKS, ClassifierHealth, SummarySections

NO_CATEGORY = "none"


def offline_sections(payload: WeeklyPayload) -> SummarySections:
    cat = category_to_watch(payload)
    return {
        "top_risks": top_risks(payload),
        "category_to_watch": {"category": cat["category"] if cat else NO_CATEGORY, "why": _category_why(cat)},
        "classifier_health": _classifier_health(payload),
        "staffing_recommendation": _staffing(payload),
        "key_metric_next_week": _key_metric(payload),
    }


def top_risks(payload: WeeklyPayload) -> list[str]:
    """The first 2-3 risks that apply, in a fixed order of urgency; volume and backlog fill in."""
    rules: list[Callable[[WeeklyPayload], str | None]] = [
        _classifier_risk("alert"),
        _attack_risk,
        _sla_risk(at_least=10.0),
        _staffing_risk,
        _classifier_risk("warning"),
        _growth_risk,
        _sla_risk(at_least=0.0),
    ]
    risks: list[str] = []
    for rule in rules:
        text = rule(payload)
        if text and text not in risks:
            risks.append(text)
    if len(risks) < 2:
        risks += [t for t in (_volume_line(payload), _backlog_line(payload)) if t not in risks]
    return risks[:MAX_RISKS]


def category_to_watch(payload: WeeklyPayload) -> CategoryChange | None:
    """The category with the largest rise in flags; if none rose, the largest category."""
    cats = payload["categories"]
    if not cats:
        return None
    rising = [c for c in cats if c["flags"] > c["previous_flags"]]
    if rising:
        return min(rising, key=lambda c: (-(c["flags"] - c["previous_flags"]), -c["flags"], c["category"]))
    return min(cats, key=lambda c: (-c["flags"], c["category"]))


# --- risks -------------------------------------------------------------------------------


def _classifier_risk(state: str) -> Callable[[WeeklyPayload], str | None]:
    def rule(payload: WeeklyPayload) -> str | None:
        c = payload["classifier"]
        if c["state"] != state:
            return None
        return f"Classifier in {state}: {_score_phrase(payload)}."

    return rule


def _attack_risk(payload: WeeklyPayload) -> str | None:
    attacks = payload["attacks"]
    if not attacks:
        return None
    worst = max(attacks, key=lambda a: (a["score"], a["date"]))
    where = f" in {worst['category']}" if worst["category"] else ""
    detail = f"on {worst['date']}{where}, with a detector score of {worst['score']:.2f}"
    if len(attacks) == 1:
        return f"1 suspected coordinated attack, {detail}."
    return f"{len(attacks)} suspected coordinated attacks; the strongest {detail}."


def _sla_risk(at_least: float) -> Callable[[WeeklyPayload], str | None]:
    def rule(payload: WeeklyPayload) -> str | None:
        sla = payload["sla"]
        rate = sla["breach_rate_pct"]
        if rate is None or rate <= 0 or rate < at_least:
            return None
        return (
            f"SLA breaches: {_pct(rate)} of {sla['eligible']:,} eligible cases ({sla['breaches']:,}) "
            f"were resolved later than {sla['sla_hours']} h."
        )

    return rule


def _staffing_risk(payload: WeeklyPayload) -> str | None:
    s = payload["staffing"]
    if s["reviewers_needed"] is None or s["reviewers_needed"] <= s["current_reviewers"]:
        return None
    return (
        f"Understaffed: {s['reviewers_needed']} reviewers are needed for next week's forecast "
        f"and {s['current_reviewers']} are on the roster."
    )


def _growth_risk(payload: WeeklyPayload) -> str | None:
    cat = category_to_watch(payload)
    if cat is None or cat["flags"] <= cat["previous_flags"]:
        return None
    return f"Rising category: {cat['category']} {_change_phrase(cat)}."


def _volume_line(payload: WeeklyPayload) -> str:
    t = payload["totals"]
    return f"Flag volume: {t['flags']:,} flags this week {_versus(t['flags'], t['previous_flags'], t['change_pct'])}."


def _backlog_line(payload: WeeklyPayload) -> str:
    q = payload["queue"]
    oldest = q["oldest_open_hours"]
    tail = f"; the oldest has waited {oldest:.1f} h" if oldest is not None else ""
    return f"Review queue: {q['backlog']:,} open cases{tail}."


# --- the other sections -----------------------------------------------------------------


def _category_why(cat: CategoryChange | None) -> str:
    if cat is None:
        return "No category data this week."
    if cat["flags"] > cat["previous_flags"]:
        return f"It {_change_phrase(cat)}, the largest increase of any category."
    return f"The largest category with {cat['flags']:,} flags; no category grew this week."


def _classifier_health(payload: WeeklyPayload) -> ClassifierHealth:
    c = payload["classifier"]
    state = c["state"]
    if state == "no data":
        return {
            "assessment": "No data: there were no classifier scores this week.",
            "action": "Check that classifier scores are being recorded.",
        }
    actions = {
        "healthy": "No action needed; keep watching the daily score.",
        "warning": "Review recent misses and check for input drift before the score crosses the threshold.",
        "alert": "Escalate to the ML owners: audit recent automated decisions and recalibrate or retrain.",
    }
    return {"assessment": f"{state.capitalize()}: {_score_phrase(payload)}.", "action": actions[state]}


def _staffing(payload: WeeklyPayload) -> str:
    s = payload["staffing"]
    needed, current = s["reviewers_needed"], s["current_reviewers"]
    arithmetic = s["arithmetic"].strip()
    if "expected_breach_pct_at_roster" in s:  # the queue re-simulation: its arithmetic says it all
        if needed is None:
            head = f"Not enough data to recommend a number of reviewers ({current} on the roster)."
        elif needed > current:
            extra = needed - current
            head = f"Add {extra} {_reviewers(extra)}: {needed} are needed against {current} today."
        else:
            head = f"The roster of {current} {_reviewers(current)} meets the target; {needed} would be the fewest."
        return f"{head} How: {arithmetic}" + ("" if arithmetic.endswith((".", "!", "?")) else ".")
    if needed is None:
        return f"Not enough data to recommend a number of reviewers ({current} on the roster)."
    basis = (
        f"the forecast of {s['forecast_cases_7d']:,.0f} cases over the next 7 days at "
        f"{_num(s['mean_capacity_per_day'])} cases per reviewer-day and "
        f"{s['target_utilisation'] * 100:.0f}% target utilisation"
    )
    if needed > current:
        head = f"Add {needed - current} {_reviewers(needed - current)}: {needed} are needed for {basis}, "
        head += f"against {current} today."
    elif needed < current:
        head = f"The roster of {current} {_reviewers(current)} covers {basis}; {needed} would suffice."
    else:
        head = f"Keep the current {current} {_reviewers(current)}: {needed} are needed for {basis}."
    return f"{head} Arithmetic: {arithmetic}" + ("" if arithmetic.endswith((".", "!", "?")) else ".")


def _key_metric(payload: WeeklyPayload) -> str:
    c, sla, s = payload["classifier"], payload["sla"], payload["staffing"]
    if c["state"] in ("alert", "warning"):
        name, value = ("rolling score", c["rolling_score"]) if c["rolling_score"] is not None else ("score", c["score"])
        now = f" (now {value:.3f})" if value is not None else ""
        goal = "recover above" if c["state"] == "alert" else "stay above"
        return (
            f"The classifier's {name}{now}: it should {goal} the alert threshold of {c['threshold']:.2f} "
            f"and move back toward the baseline of {c['baseline']:.2f}."
        )
    if payload["attacks"]:
        worst = max(payload["attacks"], key=lambda a: (a["score"], a["date"]))
        where = worst["category"] or "the attacked categories"
        return f"Flags in {where}, to see whether the coordinated activity of {worst['date']} continues."
    if sla["breach_rate_pct"] is not None and sla["breach_rate_pct"] > 0:
        return f"The SLA breach rate, now {_pct(sla['breach_rate_pct'])} of {sla['eligible']:,} eligible cases."
    if s["reviewers_needed"] is not None and s["reviewers_needed"] > s["current_reviewers"]:
        return f"The review backlog, now {payload['queue']['backlog']:,} open cases, while staffing is short."
    top = payload["top_category"]
    if top is not None:
        flags = next((c["flags"] for c in payload["categories"] if c["category"] == top), None)
        if flags is not None:
            return f"Weekly flags in {top}, the largest category ({flags:,} this week)."
    return f"Total weekly flags ({payload['totals']['flags']:,} this week)."


# --- phrasing ----------------------------------------------------------------------------


def _score_phrase(payload: WeeklyPayload) -> str:
    c = payload["classifier"]
    rolling, score = c["rolling_score"], c["score"]
    if rolling is not None:
        lead = f"rolling score {rolling:.3f}"
    elif score is not None:
        lead = f"score {score:.3f}"
    else:
        lead = "no score this week"
    return f"{lead} against a baseline of {c['baseline']:.2f} and an alert threshold of {c['threshold']:.2f}"


def _change_phrase(cat: CategoryChange) -> str:
    if cat["previous_flags"] == 0:
        return f"appeared this week with {cat['flags']:,} flags (none the week before)"
    diff = cat["flags"] - cat["previous_flags"]
    direction = "rose" if diff >= 0 else "fell"
    pct = f", {_signed_pct(cat['change_pct'])}" if cat["change_pct"] is not None else ""
    return f"{direction} from {cat['previous_flags']:,} to {cat['flags']:,} flags ({diff:+,}{pct})"


def _signed_pct(value: float) -> str:
    return f"{value:+.1f}%"


def _versus(current: int, previous: int, change_pct: float | None) -> str:
    if change_pct is None:
        return "(none the week before)" if previous == 0 else f"against {previous:,} the week before"
    word = "up" if change_pct >= 0 else "down"
    return f"against {previous:,} the week before ({word} {_pct(abs(change_pct))})"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def _num(value: float) -> str:
    """At most one decimal, none when it is zero: 100.0 -> "100", 45.55 -> "45.5"."""
    text = f"{value:,.1f}"
    return text[:-2] if text.endswith(".0") else text


def _reviewers(n: int) -> str:
    return "reviewer" if n == 1 else "reviewers"
