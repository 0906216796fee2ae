"""Charts drawn on the server as SVG: the same markup on a page, in a printed document (uptake.web.pdf, which
runs no JavaScript) and in a screen reader (each chart has a <title> and a <desc> saying what it shows, and
the page gives the same figures as a table beside it).

- :func:`deciles_chart`: OpenPrescribing's signature chart, an organisation's value each period (a solid
  line) over the national deciles of its level (dashed: the 10th and 90th percentiles; dotted: the 20th to
  40th and 60th to 80th; thick dashed: the median).
- :func:`spine`: one row of a Fingertips-style spine chart: the range of organisations (lightest), their 25th
  to 75th percentiles (darker), the benchmark's value (the vertical line at the centre) and the
  organisation's value (a marker coloured by its comparison with the benchmark); better to the right.

Colours are the NHS identity's; a comparison is never shown by colour alone (the shapes differ and the table
beside the chart says it in words).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from uptake.catalogue.schemas import Indicator, Polarity
from uptake.web.formatting import indicator_value, level_label, missing, period_label, scaled

BLUE, DARK_BLUE, LIGHT_BLUE, PALE_BLUE = "#005eb8", "#003087", "#41b6e6", "#9ccbe6"
GREY, MID_GREY, PALE_GREY, TEXT = "#425563", "#768692", "#e8edee", "#212b32"
RED, GREEN, AMBER, ORANGE = "#d5281b", "#007f3b", "#ffb81c", "#ed8b00"
#: the colour and marker shape of a comparison with the benchmark (the spine chart's and the tartan rug's)
COMPARISON_STYLE: dict[str, tuple[str, str]] = {
    "better": (GREEN, "circle"), "best": (GREEN, "circle"),
    "worse": (RED, "diamond"), "worst": (RED, "diamond"),
    "similar": (AMBER, "square"),
    "higher": (BLUE, "triangle-up"), "lower": (LIGHT_BLUE, "triangle-down"),
    "not compared": ("#ffffff", "circle"), "not eligible": ("#ffffff", "circle"),
}
DECILE_LINES = (10, 20, 30, 40, 50, 60, 70, 80, 90)
FONT = 'font-family="Arial, sans-serif"'


def _f(x: float) -> str:
    return f"{x:.1f}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (about ``count`` of them)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks, value = [], start
    while value <= high + step * 0.5 and len(ticks) < 50:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _tick_text(value: float, suffix: str) -> str:
    text = f"{value:,.2f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:,.0f}"
    return text + suffix


def _time_ticks(days: list[dt.date], indicator: Indicator, most: int = 6) -> list[dt.date]:
    if len(days) <= most:
        return days
    every = math.ceil(len(days) / most)
    januaries = [d for d in days if d.month == days[0].month]
    if len(januaries) >= 2 and len(januaries) <= most:
        return januaries
    return days[::every]


def deciles_chart(indicator: Indicator, org_name: str, level: str, rows: Sequence[dict], *,
                  chart_id: str = "deciles", width: int = 640, height: int = 300, benchmark: str = "England",
                  benchmark_line: str | None = None) -> Markup:
    """An organisation's value each period over the deciles of its level. ``rows``: one per period, with
    ``period``, ``p10`` ... ``p90`` (the deciles; None where not computed) and ``value`` (the organisation's;
    None where it has none). ``benchmark_line``: the label of a chosen benchmark whose value each period
    (``benchmark_value``) is drawn as a solid black line. Empty markup when there are no rows."""
    rows = sorted((r for r in rows if r.get("period") is not None), key=lambda r: r["period"])
    if not rows:
        return Markup("")
    left, right, top, bottom = 56, 12, 12, 70
    plot_w, plot_h = width - left - right, height - top - bottom
    days = [r["period"] for r in rows]
    values = [scaled(indicator, r.get(f"p{k}")) for r in rows for k in DECILE_LINES]
    values += [scaled(indicator, r.get("value")) for r in rows]
    values += [scaled(indicator, r.get("benchmark_value")) for r in rows] if benchmark_line else []
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return Markup("")
    low, high = min(finite), max(finite)
    if indicator.unit == "%":
        low, high = max(0.0, low - 2), min(100.0, high + 2) if high <= 100 else high
    ticks = nice_ticks(low, high)
    y0, y1 = (ticks[0], ticks[-1]) if len(ticks) >= 2 else (low - 1, high + 1)

    span = (days[-1] - days[0]).days or 1

    def x(day: dt.date) -> float:
        return left + (plot_w * ((day - days[0]).days / span) if len(days) > 1 else plot_w / 2)

    def y(value: float) -> float:
        return top + plot_h * (1 - (value - y0) / ((y1 - y0) or 1))

    def path(key: str) -> str:
        parts, pen = [], "M"
        for r in rows:
            v = scaled(indicator, r.get(key))
            if v is None or not math.isfinite(v):
                pen = "M"
                continue
            parts.append(f"{pen}{_f(x(r['period']))},{_f(y(v))}")
            pen = "L"
        return " ".join(parts)

    suffix = "%" if indicator.unit == "%" else ""
    latest = next((r for r in reversed(rows) if not missing(r.get("value"))), None)
    where = ""
    if latest is not None:
        above = sum(1 for k in DECILE_LINES if not missing(latest.get(f"p{k}")) and latest["value"] >= latest[f"p{k}"])
        where = (f" In {period_label(latest['period'], indicator)} its value, "
                 f"{indicator_value(indicator, latest['value'])}, was above {above} of the 9 decile lines.")
    has_bench = bool(benchmark_line) and any(not missing(r.get("benchmark_value")) for r in rows)
    levels = level_label(level, plural=True)
    title = f"Deciles chart: {indicator.title}, {org_name}"
    desc = (f"{org_name}'s value each period (solid red line) over the deciles of all {levels} in {benchmark} "
            f"(dashed blue: 10th and 90th percentiles; thick dashed: the median; dotted: the other deciles), "
            f"{period_label(days[0], indicator)} to {period_label(days[-1], indicator)}.{where} "
            + (f"The solid black line is the benchmark chosen, {benchmark_line}, each period. " if has_bench else "")
            + "The same figures are in the table of this chart.")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="uptake-svg" viewBox="0 0 {width} {height}" '
           f'width="100%" style="max-width:{width}px" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">',
           f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(desc)}</desc>',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    for t in ticks:
        ty = y(t)
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{_f(ty)}" y2="{_f(ty)}" stroke="{PALE_GREY}"/>')
        out.append(f'<text x="{left - 6}" y="{_f(ty + 4)}" text-anchor="end" font-size="11" {FONT} '
                   f'fill="{GREY}">{escape(_tick_text(t, suffix))}</text>')
    for day in _time_ticks(days, indicator):
        tx = x(day)
        label = period_label(day, indicator) if indicator.period.value == "year" else f"{day:%b %Y}"
        out.append(f'<line x1="{_f(tx)}" x2="{_f(tx)}" y1="{top + plot_h}" y2="{top + plot_h + 4}" stroke="{GREY}"/>')
        out.append(f'<text x="{_f(tx)}" y="{top + plot_h + 16}" text-anchor="middle" font-size="11" {FONT} '
                   f'fill="{GREY}">{escape(label)}</text>')
    out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="{GREY}"/>')
    single = len(rows) == 1
    for k in DECILE_LINES:
        d = path(f"p{k}")
        if not d:
            continue
        if single:  # one period: each decile a short level line either side of it
            v = scaled(indicator, rows[0].get(f"p{k}"))
            cx = x(rows[0]["period"])
            d = f"M{_f(cx - 40)},{_f(y(v))} L{_f(cx + 40)},{_f(y(v))}"
        if k == 50:
            style = f'stroke="{DARK_BLUE}" stroke-width="2" stroke-dasharray="7 4"'
        elif k in (10, 90):
            style = f'stroke="{BLUE}" stroke-width="1.2" stroke-dasharray="5 4"'
        else:
            style = f'stroke="{LIGHT_BLUE}" stroke-width="1" stroke-dasharray="2 3"'
        out.append(f'<path d="{d}" fill="none" {style}/>')
    theirs = path("benchmark_value") if has_bench else ""
    if theirs:
        out.append(f'<path d="{theirs}" fill="none" stroke="{TEXT}" stroke-width="2" stroke-linejoin="round"/>')
    mine = path("value")
    if mine:
        out.append(f'<path d="{mine}" fill="none" stroke="{RED}" stroke-width="2.5" stroke-linejoin="round"/>')
        if latest is not None:
            out.append(f'<circle cx="{_f(x(latest["period"]))}" cy="{_f(y(scaled(indicator, latest["value"])))}" '
                       f'r="3.5" fill="{RED}"/>')
    axis = f"{indicator.unit}" if indicator.unit else "value"
    out.append(f'<text x="12" y="{_f(top + plot_h / 2)}" transform="rotate(-90 12 {_f(top + plot_h / 2)})" '
               f'text-anchor="middle" font-size="11" {FONT} fill="{GREY}">{escape(axis)}</text>')
    legend_y = height - 34
    name = org_name if len(org_name) <= 34 else org_name[:33].rstrip() + "\u2026"
    items = [(RED, "", 2.5, name), (DARK_BLUE, "7 4", 2, "Median"),
             (BLUE, "5 4", 1.2, "10th and 90th percentiles"), (LIGHT_BLUE, "2 3", 1, "Other deciles")]
    if theirs:
        short = benchmark_line if len(benchmark_line) <= 40 else benchmark_line[:39].rstrip() + "\u2026"
        items.insert(1, (TEXT, "", 2, f"Benchmark: {short}"))
    lx = left
    for colour, dash, w, label in items:
        if lx + 32 + 5.6 * len(label) > width and lx > left:  # wrap to a second line
            lx, legend_y = left, legend_y + 16
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{lx}" x2="{lx + 22}" y1="{legend_y}" y2="{legend_y}" stroke="{colour}" '
                   f'stroke-width="{w}"{dash_attr}/>')
        out.append(f'<text x="{lx + 26}" y="{legend_y + 4}" font-size="11" {FONT} fill="{TEXT}">{escape(label)}</text>')
        lx += 36 + int(5.6 * len(label))
    out.append("</svg>")
    return Markup("".join(out))


def marker(comparison: str | None, cx: float, cy: float, size: float = 6.0) -> str:
    """The SVG marker of a comparison (colour and shape, so it does not rest on colour alone)."""
    colour, shape = COMPARISON_STYLE.get(comparison or "not compared", ("#ffffff", "circle"))
    stroke = f'stroke="{TEXT}" stroke-width="1"'
    if shape == "circle":
        return f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(size)}" fill="{colour}" {stroke}/>'
    if shape == "square":
        s = size * 0.9
        return f'<rect x="{_f(cx - s)}" y="{_f(cy - s)}" width="{_f(2 * s)}" height="{_f(2 * s)}" fill="{colour}" {stroke}/>'
    if shape == "diamond":
        s = size * 1.2
        return (f'<polygon points="{_f(cx)},{_f(cy - s)} {_f(cx + s)},{_f(cy)} {_f(cx)},{_f(cy + s)} '
                f'{_f(cx - s)},{_f(cy)}" fill="{colour}" {stroke}/>')
    s = size * 1.15
    if shape == "triangle-up":
        pts = f"{_f(cx)},{_f(cy - s)} {_f(cx + s)},{_f(cy + s * 0.8)} {_f(cx - s)},{_f(cy + s * 0.8)}"
    else:
        pts = f"{_f(cx)},{_f(cy + s)} {_f(cx + s)},{_f(cy - s * 0.8)} {_f(cx - s)},{_f(cy - s * 0.8)}"
    return f'<polygon points="{pts}" fill="{colour}" {stroke}/>'


def spine_position(indicator: Indicator, value: float | None, benchmark: float | None, reach: float) -> float | None:
    """Where ``value`` sits on a spine of width 1: the benchmark at 0.5, better to the right (higher to the
    right when the indicator has no polarity), ``reach`` (the largest distance of any organisation from the
    benchmark) at either end."""
    if missing(value) or missing(benchmark):
        return None
    sign = -1.0 if indicator.polarity == Polarity.LOW_IS_GOOD else 1.0
    if reach <= 0:
        return 0.5
    return min(1.0, max(0.0, 0.5 + 0.5 * sign * (float(value) - float(benchmark)) / reach))


def spine(indicator: Indicator, row: dict, *, width: int = 150, height: int = 22) -> Markup:
    """One spine-chart row (decorative: the table row it sits in gives every figure in words, so the SVG is
    hidden from screen readers). ``row``: ``value``, ``comparison``, ``benchmark_value``, ``lowest``, ``q25``,
    ``q75``, ``highest`` (of the organisations compared)."""
    bench, low, high = row.get("benchmark_value"), row.get("lowest"), row.get("highest")
    if missing(bench) or missing(low) or missing(high):
        return Markup("")
    reach = max(abs(float(high) - float(bench)), abs(float(low) - float(bench)))

    def px(value) -> float | None:
        pos = spine_position(indicator, value, bench, reach)
        return None if pos is None else 4 + pos * (width - 8)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="uptake-spine" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" aria-hidden="true" focusable="false">']
    a, b = sorted((px(low), px(high)))
    out.append(f'<rect x="{_f(a)}" y="{height / 2 - 6}" width="{_f(max(b - a, 1))}" height="12" fill="{PALE_BLUE}"/>')
    q25, q75 = px(row.get("q25")), px(row.get("q75"))
    if q25 is not None and q75 is not None:
        a, b = sorted((q25, q75))
        out.append(f'<rect x="{_f(a)}" y="{height / 2 - 6}" width="{_f(max(b - a, 1))}" height="12" fill="{BLUE}"/>')
    centre = px(bench)
    out.append(f'<line x1="{_f(centre)}" x2="{_f(centre)}" y1="1" y2="{height - 1}" stroke="{TEXT}" stroke-width="2"/>')
    mine = px(row.get("value"))
    if mine is not None:
        out.append(marker(row.get("comparison"), mine, height / 2, 5.5))
    out.append("</svg>")
    return Markup("".join(out))


def spine_key(benchmark: str = "England", *, width: int = 560) -> Markup:
    """The key under a spine chart (what the bars, the line and each marker mean)."""
    items = [("better", "Better"), ("similar", "Similar"), ("worse", "Worse"), ("higher", "Higher (no judgement)"),
             ("lower", "Lower (no judgement)"), ("not compared", "Not compared")]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="uptake-spine-key" viewBox="0 0 {width} 44" '
           f'width="100%" style="max-width:{width}px" role="img" aria-labelledby="spine-key-title">'
           '<title id="spine-key-title">Key to the spine chart: light bar, the range of organisations; dark bar, '
           f'their 25th to 75th percentiles; black line, {escape(benchmark)}; markers, this organisation compared with '
           'the benchmark: green circle better, amber square similar, red diamond worse, blue triangles higher '
           'or lower where the indicator has no better direction, white circle not compared</title>',
           f'<rect x="2" y="4" width="40" height="10" fill="{PALE_BLUE}"/>',
           f'<text x="46" y="13" font-size="10" {FONT} fill="{TEXT}">Range</text>',
           f'<rect x="88" y="4" width="40" height="10" fill="{BLUE}"/>',
           f'<text x="132" y="13" font-size="10" {FONT} fill="{TEXT}">25th to 75th percentile</text>',
           f'<line x1="262" x2="262" y1="2" y2="16" stroke="{TEXT}" stroke-width="2"/>',
           f'<text x="268" y="13" font-size="10" {FONT} fill="{TEXT}">{escape(benchmark)}</text>',
           f'<text x="420" y="13" font-size="10" {FONT} fill="{TEXT}">Better to the right</text>']
    lx = 8
    for comparison, label in items:
        out.append(marker(comparison, lx, 32, 5))
        out.append(f'<text x="{lx + 10}" y="36" font-size="10" {FONT} fill="{TEXT}">{escape(label)}</text>')
        lx += 18 + int(5.6 * len(label))
    out.append("</svg>")
    return Markup("".join(out))
