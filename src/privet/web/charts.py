"""Dashboard charts as inline SVG, drawn on the server: no chart library, no script, colours by attribute only
(a strict Content-Security-Policy blocks style attributes, not presentation attributes). Each chart names
itself for screen readers; the page puts the same figures in a table beside it."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from privet.requests.model import Request

BAR = "#0b57d0"
INK = "#1a1a1a"
GRID = "#b8bec6"
WIDTH = 380
LABEL_W = 140
ROW_H = 26
CLOSE_BUCKETS = ((7, "0–7 days"), (14, "8–14 days"), (30, "15–30 days"), (45, "31–45 days"), (90, "46–90 days"))
OVER = "over 90 days"


@dataclass(frozen=True)
class Series:
    title: str
    bars: tuple[tuple[str, int], ...]
    unit: str = "requests"

    @property
    def total(self) -> int:
        return sum(v for _, v in self.bars)


def _short(label: str, limit: int = 18) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def bar_chart(series: Series, chart_id: str) -> Markup:
    """Horizontal bars, one a row, the value at the end of each."""
    top = 8
    height = top * 2 + max(len(series.bars), 1) * ROW_H
    biggest = max((v for _, v in series.bars), default=0) or 1
    room = WIDTH - LABEL_W - 50
    desc = "; ".join(f"{label}: {value}" for label, value in series.bars) or "no data"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
           f'height="{height}" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" id="{chart_id}">',
           f'<title id="{chart_id}-t">{escape(series.title)}</title>',
           f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
           f'<line x1="{LABEL_W}" y1="{top - 4}" x2="{LABEL_W}" y2="{height - top + 4}" stroke="{GRID}"/>']  # fmt: skip
    if not series.bars:
        out.append(f'<text x="{LABEL_W + 8}" y="{top + 17}" font-size="14" fill="{INK}">No {series.unit} yet</text>')
    for i, (label, value) in enumerate(series.bars):
        y = top + i * ROW_H
        w = round(room * value / biggest, 1)
        out += [
            f'<text x="{LABEL_W - 8}" y="{y + 17}" font-size="14" text-anchor="end" fill="{INK}">'
            f"<title>{escape(label)}</title>{escape(_short(label))}</text>",
            f'<rect x="{LABEL_W}" y="{y + 4}" width="{w}" height="{ROW_H - 8}" fill="{BAR}" rx="2"/>',
            f'<text x="{LABEL_W + w + 6}" y="{y + 17}" font-size="14" fill="{INK}">{value}</text>',
        ]
    out.append("</svg>")
    return Markup("\n".join(out))


def by_type(requests: Iterable[Request]) -> Series:
    from privet.web.pages import right_name

    counts = Counter(right_name(r.kind.value) for r in requests)
    return Series("Requests by type", tuple(counts.most_common()))


def by_state(requests: Iterable[Request]) -> Series:
    counts = Counter(r.state.value.replace("_", " ") for r in requests)
    return Series("Requests by state", tuple(counts.most_common()))


def days_to_close(request: Request) -> int | None:
    answered = request.responded_at or request.closed_at
    return None if answered is None else max((answered.date() - request.received_at.date()).days, 0)


def time_to_close(requests: Iterable[Request]) -> Series:
    counts: Counter[str] = Counter()
    for r in requests:
        days = days_to_close(r)
        if days is not None:
            counts[next((label for limit, label in CLOSE_BUCKETS if days <= limit), OVER)] += 1
    order = [label for _, label in CLOSE_BUCKETS] + [OVER]
    return Series("Time to close", tuple((label, counts[label]) for label in order if counts[label]))


def by_month(requests: Sequence[Request], today: dt.date, months: int = 6) -> Series:
    """Requests received in each of the last `months` calendar months, oldest first."""
    keys: list[tuple[int, int]] = []
    year, month = today.year, today.month
    for _ in range(months):
        keys.insert(0, (year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    counts = Counter((r.received_at.year, r.received_at.month) for r in requests)
    bars = tuple((dt.date(y, m, 1).strftime("%b %Y"), counts[(y, m)]) for y, m in keys)
    return Series("Requests received per month", bars)
