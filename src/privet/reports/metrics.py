"""Request metrics for a calendar year, as 11 CCR § 7102(a) asks them, per request type and per jurisdiction.

For each type: requests received, complied with in whole or in part, denied (requests that failed identity
verification count as denied and are also shown on their own, § 7102(a)(2)), still pending, and the median and
mean number of calendar days from receipt to the response. Only requests received in the year count, wherever
they stand now.

An appealed request is counted by its first response (`response_state`, `responded_at`) and under appeals as
well. Requests recorded before privet kept the first response are counted under appeals only, without days.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from privet.law.vocabulary import Right
from privet.requests.model import Request, State

ALL = "all"  # the rows over every jurisdiction
UNSPECIFIED = "unspecified"  # requests whose jurisdiction is not known

Format = Literal["md", "csv", "json"]
FORMATS: tuple[Format, ...] = ("md", "csv", "json")

COLUMNS = (
    ("received", "Received"),
    ("complied", "Complied with (whole or part)"),
    ("complied_in_whole", "Complied in whole"),
    ("complied_in_part", "Complied in part"),
    ("denied", "Denied"),
    ("denied_unverified", "of which not verified"),
    ("pending", "Pending"),
    ("appeals_received", "Appeals received"),
    ("appeals_decided", "Appeals decided"),
    ("median_days", "Median days to respond"),
    ("mean_days", "Mean days to respond"),
)

_KIND_ORDER = {kind: i for i, kind in enumerate(Right)}


class MetricsError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Figures:
    received: int = 0
    complied_in_whole: int = 0
    complied_in_part: int = 0
    denied: int = 0  # including failed verification
    denied_unverified: int = 0
    pending: int = 0
    appeals_received: int = 0
    appeals_decided: int = 0
    median_days: float | None = None  # None when nothing was responded to with a known date
    mean_days: float | None = None

    @property
    def complied(self) -> int:
        return self.complied_in_whole + self.complied_in_part

    def as_dict(self) -> dict[str, int | float | None]:
        return {key: getattr(self, key) for key, _ in COLUMNS}


@dataclass(frozen=True, slots=True)
class Row:
    jurisdiction: str  # a jurisdiction code, ALL or UNSPECIFIED
    kind: Right
    figures: Figures


@dataclass(frozen=True, slots=True)
class Metrics:
    year: int
    rows: tuple[Row, ...]  # ALL first, then jurisdictions by code, UNSPECIFIED last; types in `Right` order

    def figures(self, kind: Right, jurisdiction: str = ALL) -> Figures:
        for row in self.rows:
            if row.kind is kind and row.jurisdiction == jurisdiction:
                return row.figures
        return Figures()

    def jurisdictions(self) -> list[str]:
        return list(dict.fromkeys(row.jurisdiction for row in self.rows))


@dataclass
class _Tally:
    received: int = 0
    whole: int = 0
    part: int = 0
    denied: int = 0
    unverified: int = 0
    pending: int = 0
    appealed: int = 0
    decided: int = 0
    days: list[int] = field(default_factory=list)

    def add(self, request: Request, days: int | None) -> None:
        self.received += 1
        state = request.state
        appealed = state in (State.APPEALED, State.APPEAL_DECIDED) or request.appeal_outcome is not None
        if appealed and request.response_state is not None:
            # The first answer is known: count it, and the appeal besides (a reversed appeal has the request
            # worked again, so its state is then in progress or fulfilled, its appeal decided).
            self.appealed += 1
            self.decided += state is State.APPEAL_DECIDED or request.appeal_outcome is not None
            state = request.response_state
        if state is State.FULFILLED:
            self.whole += 1
        elif state is State.PARTIALLY_FULFILLED:
            self.part += 1
        elif state in (State.DENIED, State.VERIFICATION_FAILED):
            self.denied += 1
            self.unverified += state is State.VERIFICATION_FAILED
        elif state in (State.APPEALED, State.APPEAL_DECIDED):
            self.appealed += 1
            self.decided += state is State.APPEAL_DECIDED
        else:
            self.pending += 1
        if days is not None:
            self.days.append(days)

    def figures(self) -> Figures:
        median = float(statistics.median(self.days)) if self.days else None
        mean = statistics.fmean(self.days) if self.days else None
        return Figures(self.received, self.whole, self.part, self.denied, self.unverified, self.pending,
                       self.appealed, self.decided, median, mean)  # fmt: skip


def request_metrics(
    requests: Iterable[Request], year: int, *, kinds: Iterable[Right] = (), tz: dt.tzinfo = dt.UTC
) -> Metrics:
    """The year's figures. `kinds` are listed even when none was received; `tz` decides calendar days and years."""
    listed = tuple(kinds)
    tallies: dict[tuple[str, Right], _Tally] = {(ALL, kind): _Tally() for kind in listed}
    for request in requests:
        received = request.received_at.astimezone(tz).date()
        if received.year != year:
            continue
        days = _days_to_respond(request, received, tz)
        jurisdiction = request.jurisdiction or UNSPECIFIED
        for key in ((ALL, request.kind), (jurisdiction, request.kind)):
            tallies.setdefault(key, _Tally()).add(request, days)
        for kind in listed:
            tallies.setdefault((jurisdiction, kind), _Tally())
    rows = [Row(where, kind, tally.figures()) for (where, kind), tally in tallies.items()]
    rows.sort(key=lambda row: (_jurisdiction_order(row.jurisdiction), _KIND_ORDER[row.kind]))
    return Metrics(year, tuple(rows))


def render_metrics(metrics: Metrics, fmt: Format) -> str:
    if fmt == "md":
        return _markdown(metrics)
    if fmt == "csv":
        return _csv(metrics)
    if fmt == "json":
        return _json(metrics)
    raise MetricsError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _days_to_respond(request: Request, received: dt.date, tz: dt.tzinfo) -> int | None:
    answered = request.responded_at
    if answered is None:
        closed = (State.FULFILLED, State.PARTIALLY_FULFILLED, State.DENIED, State.VERIFICATION_FAILED)
        answered = request.closed_at if request.state in closed else None
    if answered is None:
        return None
    days = (answered.astimezone(tz).date() - received).days
    if days < 0:
        raise MetricsError(f"request {request.request_id} was answered ({answered.isoformat()}) before it was "
                           f"received ({request.received_at.isoformat()}); correct its dates")  # fmt: skip
    return days


def _jurisdiction_order(code: str) -> tuple[int, str]:
    return (0, "") if code == ALL else (2, "") if code == UNSPECIFIED else (1, code)


def _number(value: int | float | None, empty: str) -> str:
    if value is None:
        return empty
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def _markdown(metrics: Metrics) -> str:
    lines = [f"# Request metrics for {metrics.year}", ""]
    if not metrics.rows:
        return "\n".join([*lines, f"No requests were received in {metrics.year}.", ""])
    lines += [
        f"Requests received from 1 January to 31 December {metrics.year} (11 CCR § 7102(a)). Requests that failed "
        "identity verification are counted as denied and also shown on their own. Days are calendar days from "
        "receipt to the response. Appealed requests count by their first response and under appeals.",
    ]
    for where in metrics.jurisdictions():
        title = {ALL: "All jurisdictions", UNSPECIFIED: "Jurisdiction not recorded"}.get(where, where)
        lines += ["", f"## {title}", ""]
        lines.append("| Request type | " + " | ".join(label for _, label in COLUMNS) + " |")
        lines.append("| --- |" + " ---: |" * len(COLUMNS))
        for row in metrics.rows:
            if row.jurisdiction == where:
                cells = [_number(value, "–") for value in _values(row.figures)]
                lines.append(f"| {row.kind.value} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _values(figures: Figures) -> list[int | float | None]:
    return list(figures.as_dict().values())


def _csv(metrics: Metrics) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["year", "jurisdiction", "request_type", *(key for key, _ in COLUMNS)])
    for row in metrics.rows:
        writer.writerow([metrics.year, row.jurisdiction, row.kind.value,
                         *(_number(value, "") for value in _values(row.figures))])  # fmt: skip
    return out.getvalue()


def _json(metrics: Metrics) -> str:
    rows = [
        {"jurisdiction": row.jurisdiction, "request_type": row.kind.value}
        | {key: _rounded(value) for key, value in row.figures.as_dict().items()}
        for row in metrics.rows
    ]
    return json.dumps({"year": metrics.year, "rows": rows}, indent=2, ensure_ascii=False) + "\n"


def _rounded(value: int | float | None) -> int | float | None:
    return round(value, 1) if isinstance(value, float) else value
