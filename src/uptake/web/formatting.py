"""How numbers, dates and categories are written on pages (one place, so every page agrees)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from uptake.catalogue.schemas import Indicator, Period, Polarity

COMPARISON_LABELS = {
    "better": "Better than England",
    "worse": "Worse than England",
    "similar": "Similar to England",
    "best": "Better than England (99.8%)",
    "worst": "Worse than England (99.8%)",
    "higher": "Higher than England",
    "lower": "Lower than England",
    "not compared": "Not compared",
    "not eligible": "Not eligible: does not provide the service",
}
COMPARISON_COLOURS = {
    "better": "green",
    "best": "green",
    "worse": "red",
    "worst": "red",
    "similar": "grey",
    "higher": "blue",
    "lower": "blue",
}
BAND_LABELS = {
    "within 95%": "Within the 95% limits",
    "between 95% and 99.8%": "Between the 95% and 99.8% limits",
    "beyond 99.8%": "Beyond the 99.8% limits",
    "not compared": "Not compared",
}


def band_label(band: str | None, side: str | None) -> str:
    text = BAND_LABELS.get(band or "", band or "-")
    if side in ("high", "low") and band not in ("within 95%", "not compared"):
        text += f" ({side})"
    return text
VARIATION_LABELS = {
    "common-cause": "Common cause variation",
    "improvement-high": "Special cause improvement (high)",
    "improvement-low": "Special cause improvement (low)",
    "concern-high": "Special cause concern (high)",
    "concern-low": "Special cause concern (low)",
    "neutral-high": "Special cause variation (high, no judgement)",
    "neutral-low": "Special cause variation (low, no judgement)",
}
#: What an SPC chart plots (result_spc_series.basis), said on the organisation page's SPC section.
SPC_BASIS_TEXT = {
    "value": "Charted on its values over the whole series.",
    "difference from England": (
        "Charted on its difference from England: each month its value minus England's, so the national spread "
        "of this innovation (an S-curve that would make nearly every point a special cause) is taken out and "
        "the chart shows where this organisation moved differently from England. New limits start each April, "
        "as Making Data Count advises for monitoring; a jump between years shows as a step in the mean."
    ),
}


def spc_basis_text(basis: str | None) -> str:
    """The sentence that says what an SPC chart plots, from its stored basis ('' when unknown)."""
    return SPC_BASIS_TEXT.get(basis or "", "")


ASSURANCE_LABELS = {
    "consistently-pass": "Consistently meets the target",
    "consistently-fail": "Consistently fails the target",
    "hit-and-miss": "Hit and miss: may or may not meet the target",
}
ADOPTER_LABELS = {
    "innovators": "Innovators",
    "early adopters": "Early adopters",
    "early majority": "Early majority",
    "late majority": "Late majority",
    "laggards": "Laggards",
    "not yet": "Not yet adopted",
    "unclassified": "Unclassified",
}
BENCHMARK_LABELS = {
    "median": "the median organisation",
    "top-decile": "the top decile (90th percentile)",
    "top_decile": "the top decile (90th percentile)",
    "peers-best5": "the mean of the best 5 of its 10 peers",
    "peers": "the mean of the best 5 of its 10 peers",
    "target": "the stated target",
}
LEVEL_LABELS = {
    "england": "England",
    "region": "NHS region",
    "icb": "ICB",
    "sub-icb": "sub-ICB location",
    "pcn": "PCN",
    "practice": "GP practice",
    "trust": "NHS trust",
    "stroke-unit": "stroke unit",
    "isdn": "Integrated Stroke Delivery Network",
}
LEVEL_PLURALS = {
    "england": "England",
    "region": "NHS regions",
    "icb": "ICBs",
    "sub-icb": "sub-ICB locations",
    "pcn": "PCNs",
    "practice": "GP practices",
    "trust": "NHS trusts",
    "stroke-unit": "stroke units",
    "isdn": "Integrated Stroke Delivery Networks",
}


#: What a page shows for a stored number that is not finite (infinite, or NaN), and why.
NOT_AVAILABLE = "not available (not a finite number: the data behind it need checking)"


def missing(value: Any) -> bool:
    """No number to show: None, or a float that is not finite (NaN, or infinite)."""
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def not_finite(value: Any) -> bool:
    """A number is stored but is not finite (NaN or infinite): shown as NOT_AVAILABLE, never computed with."""
    return isinstance(value, float) and not math.isfinite(value)


def finite_or_none(value: Any) -> Any:
    """``value`` (dicts, lists and tuples walked) with every non-finite float replaced by None: what a chart
    or JSON answer may hold (JSON has no infinity or NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    return value


def number(value: Any, digits: int = 0) -> str:
    if not_finite(value):
        return NOT_AVAILABLE
    if missing(value):
        return "-"
    return f"{value:,.{digits}f}"


def ordinal(n: int) -> str:
    """1 -> '1st', 2 -> '2nd', 11 -> '11th', 23 -> '23rd'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def percentile(value: Any) -> str:
    """A percentile (0-100: percent_rank x 100) in words, never '0th' or '100th'.

    Convention (docs/methods.md, "Showing a percentile"): exactly 0 is 'lowest' (no organisation has a lower
    value; SQL PERCENT_RANK gives ties the lowest rank, so a tie at the bottom is 'lowest' too), exactly 100 is
    'highest'; anything between is the ordinal of the nearest whole number kept within 1st..99th (0.3 ->
    '1st', 99.7 -> '99th'). Missing -> '-'.
    """
    if missing(value):
        return "-"
    v = float(value)
    if v <= 0:
        return "lowest"
    if v >= 100:
        return "highest"
    return ordinal(min(99, max(1, int(round(v)))))


def pounds(value: Any) -> str:
    if not_finite(value):
        return NOT_AVAILABLE
    if missing(value):
        return "-"
    if abs(value) >= 1_000_000:
        return f"£{value / 1_000_000:,.1f} million"
    return f"£{value:,.0f}"


def indicator_value(indicator: Indicator | None, value: Any) -> str:
    if not_finite(value):
        return NOT_AVAILABLE
    if missing(value):
        return "-"
    if indicator is None:
        return f"{value:.3f}"
    return indicator.format_value(float(value))


def interval(indicator: Indicator | None, low: Any, high: Any) -> str:
    if missing(low) or missing(high):
        return "-"
    return f"{indicator_value(indicator, low)} to {indicator_value(indicator, high)}"


def scaled(indicator: Indicator | None, value: Any) -> float | None:
    """The value as shown (times the indicator's multiplier), for charts."""
    if missing(value):
        return None
    return float(value) * (indicator.multiplier if indicator else 1.0)


def period_label(period: dt.date | None, indicator: Indicator | None = None) -> str:
    if period is None:
        return "-"
    if indicator is not None and indicator.period == Period.YEAR:
        if indicator.year_start_month == 1:
            return str(period.year)
        return f"{period.year}/{(period.year + 1) % 100:02d}"
    if indicator is not None and indicator.period == Period.QUARTER:
        return f"{period:%b} to {(period.replace(day=28) + dt.timedelta(days=62)):%b %Y}"
    return f"{period:%B %Y}"


def polarity_text(indicator: Indicator) -> str:
    return {
        Polarity.HIGH_IS_GOOD: "higher is better",
        Polarity.LOW_IS_GOOD: "lower is better",
        Polarity.NO_JUDGEMENT: "no judgement (neither higher nor lower is better)",
    }[indicator.polarity]


def better_first(indicator: Indicator) -> bool:
    """True when a league table lists the highest values first."""
    return indicator.polarity != Polarity.LOW_IS_GOOD


def level_label(level: str, plural: bool = False) -> str:
    return (LEVEL_PLURALS if plural else LEVEL_LABELS).get(level, level)


# --- What a count counts, and what the pounds are (the catalogue's `counts` and `pounds_meaning`) ---------
# An opportunity is extra numerator at a benchmark's value, so it is counted in what the numerator counts
# ("prescription items", "register-weighted achievement points"), never "patients" unless that is what the
# indicator counts. Its pounds are extra numerator x unit_cost: a cost (shown positive) or a saving (shown
# negative), said in words. Raw downloads and the API keep their column names (extra_patients,
# extra_pounds) and unsigned amounts.


def counted(indicator: Indicator | None, value: Any) -> str:
    """A count with its unit: '89,414 prescription items', '1 stroke admission'."""
    if not_finite(value):
        return NOT_AVAILABLE
    if missing(value):
        return "-"
    counts = indicator.count_unit if indicator is not None else None
    if counts is None:
        return number(value)
    return f"{number(value)} {counts.of(float(value))}"


def counted_more(indicator: Indicator | None, value: Any) -> str:
    """An opportunity's headline count: '89,414 more prescription items'."""
    text = counted(indicator, value)
    if text in ("-", NOT_AVAILABLE) or " " not in text:
        return text
    figure, unit = text.split(" ", 1)
    return f"{figure} more {unit}"


def count_plural(indicator: Indicator | None) -> str:
    """What the indicator's numerator (and its opportunity) counts, plural: 'prescription items'."""
    return indicator.count_unit.plural if indicator is not None else "units of the numerator"


def denominator_plural(indicator: Indicator | None) -> str:
    """What the indicator's denominator counts, plural: 'patients on the AF register'."""
    return indicator.count_unit.denominator_unit.plural if indicator is not None else "units of the denominator"


def extra_heading(indicator: Indicator | None, suffix: str = "") -> str:
    """An opportunity column's heading: 'Extra prescription items' (+ suffix, e.g. ' in England')."""
    return f"Extra {count_plural(indicator)}{suffix}"


def pounds_heading(indicator: Indicator | None) -> str:
    """A pounds column's heading for one indicator: 'Extra drug cost (£)', 'Saving (£)'."""
    text = indicator.pounds_text if indicator is not None else None
    if not text or text.startswith("("):
        return "Pounds (£)"
    return f"{text[0].upper()}{text[1:]} (£)"


def signed_pounds(indicator: Indicator | None, value: Any) -> str:
    """The opportunity's pounds with their sign, a cost positive and a saving negative: '+£4.2 million',
    '−£1,200'."""
    if not_finite(value):
        return NOT_AVAILABLE
    if missing(value):
        return "-"
    amount = indicator.signed_pounds(float(value)) if indicator is not None else float(value)
    if round(amount) == 0:
        return pounds(0.0)
    return ("+" if amount > 0 else "\u2212") + pounds(abs(amount))


def pounds_meant(indicator: Indicator | None, value: Any) -> str:
    """The opportunity's pounds with their sign and what they are: '+£4.2 million extra drug cost',
    '−£1,200 saving'."""
    text = signed_pounds(indicator, value)
    label = indicator.pounds_text if indicator is not None else None
    if text in ("-", NOT_AVAILABLE) or not label:
        return text
    return f"{text} {label}"


def unit_cost_text(indicator: Indicator) -> str:
    """The unit cost in words: '£46.50 per prescription item (extra drug cost)'."""
    if indicator.unit_cost is None:
        return "not defined"
    cost = indicator.unit_cost
    amount = f"£{cost:,.2f}" if cost != int(cost) or cost < 100 else f"£{cost:,.0f}"
    label = indicator.pounds_text or ""
    label = label if label.startswith("(") else f"({label})"
    return f"{amount} per {indicator.count_unit.unit} {label}"
