"""Schemas for catalogue entries. Indicators follow OpenPrescribing's measure definitions: data with a
definition, a polarity and governance (authored_by, checked_by, next_review)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from uptake.levels import Level

SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class Kind(StrEnum):
    TREATMENT_THERAPY = "treatment-therapy"
    DIGITAL_AI = "digital-ai"
    CARE_PATHWAY = "care-pathway"


class PathwayStage(StrEnum):
    RESEARCH = "research"
    INVENTION = "invention"
    TRIAL = "trial"
    LICENSING = "licensing"
    ADOPTION = "adoption"
    SPREAD = "spread"


class Polarity(StrEnum):
    HIGH_IS_GOOD = "high-is-good"
    LOW_IS_GOOD = "low-is-good"
    NO_JUDGEMENT = "no-judgement"


class Measure(StrEnum):
    #: numerator is a subset of the denominator; value = numerator / denominator in [0, 1]
    PROPORTION = "proportion"
    #: events per unit of denominator (e.g. per 1,000 registered patients); numerator may exceed denominator
    RATE = "rate"
    #: a share or rate published WITHOUT its counts (e.g. OpenPrescribing's practice-level measures): each
    #: observation's numerator is the published value and its denominator 1, so an area's or England's value is
    #: the unweighted mean of its organisations' values. Deciles, maps, SPC (XmR on the values), adoption and
    #: changes are computed; confidence intervals, comparisons with England, funnels and opportunities are not,
    #: because they need the counts (docs/catalogue.md, "Share-only indicators")
    SHARE_ONLY = "share-only"


class Period(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EligibilityRule(StrEnum):
    """Which periods of a listed organisation (one the source flags as not providing the service) are left
    out of every comparison."""

    #: a listed organisation is not eligible in a period in which its numerator is zero (it gave none)
    LISTED_AND_NONE_GIVEN = "listed-and-none-given"
    #: a listed organisation is never eligible
    LISTED = "listed"


class Eligibility(Strict):
    """Organisations that do not provide the service the indicator measures. Their values are still listed,
    marked "not eligible", but they get no rank, decile, comparison with England, funnel band, SPC chart,
    opportunity, adoption or attainment: a 0% from a unit that sends its patients elsewhere is a service
    model, not low uptake."""

    rule: EligibilityRule
    #: the organisations the source flags as not providing the service (codes at the indicator's levels)
    not_providing: list[str] = Field(min_length=1)
    #: where the flags come from (file and field)
    source: str
    #: one sentence for the pages, next to the tables: who is left out and why
    statement: str

    @field_validator("not_providing")
    @classmethod
    def _unique(cls, codes: list[str]) -> list[str]:
        if len(set(codes)) != len(codes):
            raise ValueError("not_providing lists an organisation twice")
        return codes

    def excludes(self, code: str, numerator: float) -> bool:
        """Whether an organisation's observation (its numerator in one period) is not eligible."""
        if code not in self.not_providing:
            return False
        return self.rule == EligibilityRule.LISTED or numerator == 0


class CountField(StrEnum):
    NUMERATOR = "numerator"
    DENOMINATOR = "denominator"


class Completeness(Strict):
    """How much of the expected organisations a period must cover to be loaded as complete (ingest refuses
    a period below either share unless it is loaded with ``--partial``, which marks it provisional)."""

    #: least share of the indicator's level's current organisations in the reference hierarchy
    of_reference: float | None = Field(default=None, gt=0, le=1)
    #: least share of the organisations that reported the period before that must report this period
    of_previous: float | None = Field(default=None, gt=0, le=1)


class JumpCheck(Strict):
    """A value far from the organisation's own recent values: above ``factor`` times (or below 1/``factor``
    of) its median over the last ``recent_periods`` AND more than ``min_change`` away from it (a fraction,
    before the multiplier). Rows whose denominator, or recent median denominator, is below
    ``min_denominator`` are not judged: small counts swing by chance."""

    factor: float = Field(gt=1)
    min_change: float = Field(ge=0)
    min_denominator: float = Field(default=0, ge=0)


class Plausibility(Strict):
    """What ingest accepts as plausible for one indicator, beyond the rules every file meets. Every field is
    optional: a check that is not stated is not made (docs/catalogue.md, docs/ingest.md)."""

    #: counts that may hold fractional values (quantities, scores, modelled estimates); the others must be
    #: whole numbers
    fractional: list[CountField] = Field(default_factory=list)
    #: [low, high]: the value (numerator / denominator, before the multiplier) must lie in this range
    value_range: tuple[float, float] | None = None
    #: numerator and denominator at most this many per head of the organisation's population (list size),
    #: where the reference data knows it
    max_per_head: float | None = Field(default=None, gt=0)
    #: how many of the organisation's latest earlier periods make its recent median (jump and size checks)
    recent_periods: int = Field(default=6, ge=1, le=120)
    #: the denominator at most this many times (and at least 1/this of) its recent median
    max_size_change: float | None = Field(default=None, gt=1)
    jump: JumpCheck | None = None
    completeness: Completeness | None = None
    #: why these thresholds: which data needed what
    note: str | None = None

    @field_validator("value_range")
    @classmethod
    def _ordered(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not (value[0] <= value[1]):
            raise ValueError("value_range is [low, high] with low <= high")
        return value


class CountUnit(Strict):
    """What one count is, as a page writes it: ``unit`` for one ("prescription item"), ``plural`` for any
    other number ("prescription items")."""

    unit: str = Field(min_length=1, pattern=r"\S")
    plural: str = Field(min_length=1, pattern=r"\S")

    def of(self, n: float) -> str:
        """The unit that goes with ``n`` as shown (whole numbers): 1 -> unit, anything else -> plural."""
        return self.unit if round(abs(n)) == 1 else self.plural


class Counts(CountUnit):
    """What the numerator counts (``unit``, ``plural``), and so what an opportunity counts: an opportunity is
    extra numerator at a benchmark's value. ``denominator`` is what the denominator counts when it is not the
    same thing (QOF: achievement points over patients on the register). Pages say these words, never
    "patients" unless the count is of patients (docs/catalogue.md, "What the counts count")."""

    denominator: CountUnit | None = None

    @property
    def denominator_unit(self) -> CountUnit:
        return self.denominator or CountUnit(unit=self.unit, plural=self.plural)


#: an indicator that does not state its counts (test and ad hoc catalogues): words that claim nothing
UNSTATED_COUNTS = Counts(unit="unit of the numerator", plural="units of the numerator",
                         denominator=CountUnit(unit="unit of the denominator", plural="units of the denominator"))


class PoundsMeaning(StrEnum):
    """What the opportunity's pounds (extra numerator x ``unit_cost``) are."""

    #: money the NHS would spend: shown as a positive amount, "+£4.2 million extra drug cost"
    EXTRA_COST = "extra-cost"
    #: money the NHS would save: shown as a negative amount, "−£1.2 million saving"
    SAVING = "saving"


POUNDS_LABELS = {PoundsMeaning.EXTRA_COST: "extra cost", PoundsMeaning.SAVING: "saving"}


class Evidence(Strict):
    title: str
    url: HttpUrl | None = None


class Source(Strict):
    name: str
    publisher: str
    licence: str = "Open Government Licence v3.0"
    url: HttpUrl | None = None
    notes: str | None = None


class Innovation(Strict):
    id: str = Field(pattern=SLUG)
    name: str
    kind: Kind
    conditions: list[str] = Field(min_length=1)
    pathway_stage: PathwayStage
    description: str
    evidence: list[Evidence] = Field(default_factory=list)
    nice_reference: str | None = None
    owner: str


class Indicator(Strict):
    id: str = Field(pattern=SLUG)
    innovation: str = Field(pattern=SLUG)
    title: str
    why_it_matters: str
    numerator: str
    denominator: str
    measure: Measure = Measure.PROPORTION
    #: how a value is shown: value * multiplier, followed by unit (e.g. 100 and "%")
    multiplier: float = 100.0
    unit: str = "%"
    polarity: Polarity
    #: levels observations are ingested at; results roll up from them through the hierarchy
    levels: list[Level] = Field(min_length=1)
    period: Period
    #: month in which a year starts (1 = calendar year, 4 = NHS financial year); years only
    year_start_month: int = Field(default=4, ge=1, le=12)
    first_period: dt.date
    last_period: dt.date | None = None
    #: value (as a fraction, before the multiplier) at which an organisation counts as an adopter
    adoption_threshold: float | None = None
    #: what one count of the numerator and of the denominator is ("prescription item"); an opportunity is
    #: counted in the numerator's unit
    counts: Counts | None = None
    #: pounds per extra count of the numerator (one more ``counts.unit``), for the opportunity in money; None
    #: when not defined
    unit_cost: float | None = Field(default=None, gt=0)
    #: whether those pounds are a cost the NHS would incur or a saving (every bundled entry with a unit_cost
    #: states it: tests/test_catalogue.py)
    pounds_meaning: PoundsMeaning | None = None
    #: what the pounds are, in a few words ("extra drug cost"); default "extra cost" or "saving"
    pounds_label: str | None = Field(default=None, min_length=1)
    source: Source
    #: generated data: labelled synthetic wherever it is shown
    synthetic: bool = False
    #: organisations that do not provide the service, left out of every comparison (None: all eligible)
    eligibility: Eligibility | None = None
    #: the bounds ingest holds every file to (ranges, sizes, jumps, completeness)
    plausibility: Plausibility = Field(default_factory=Plausibility)
    #: the national series is a spreading innovation's S-curve: SPC charts each organisation's difference from
    #: England, with new limits each April, instead of its values (docs/methods.md, "SPC for a spreading
    #: innovation"); England's own chart stays on its values
    spread_curve: bool = False
    authored_by: str
    checked_by: str
    date_reviewed: dt.date
    next_review: dt.date

    @field_validator("levels")
    @classmethod
    def _no_england_ingest(cls, levels: list[Level]) -> list[Level]:
        if Level.ENGLAND in levels:
            raise ValueError("observations are ingested below England level; England is a roll-up")
        return levels

    @model_validator(mode="after")
    def _consistent(self) -> "Indicator":
        if self.last_period is not None and self.last_period < self.first_period:
            raise ValueError("last_period is before first_period")
        if self.checked_by == self.authored_by:
            raise ValueError("checked_by must be someone other than authored_by")
        if self.next_review <= self.date_reviewed:
            raise ValueError("next_review must be after date_reviewed")
        if self.adoption_threshold is not None and self.measure == Measure.PROPORTION:
            if not 0 <= self.adoption_threshold <= 1:
                raise ValueError("adoption_threshold of a proportion is a fraction between 0 and 1")
        if self.unit_cost is None and (self.pounds_meaning is not None or self.pounds_label is not None):
            raise ValueError("pounds_meaning and pounds_label describe unit_cost, which is not given")
        if self.measure == Measure.SHARE_ONLY:
            if self.unit_cost is not None:
                raise ValueError("a share-only indicator has no counts, so no opportunity: remove unit_cost")
            if CountField.NUMERATOR not in self.plausibility.fractional:
                raise ValueError("a share-only indicator's numerator is the published value: list numerator in "
                                 "plausibility.fractional")
        bounds = self.plausibility.value_range
        proportion = self.measure == Measure.PROPORTION
        if bounds is not None and proportion and not (0 <= bounds[0] and bounds[1] <= 1):
            raise ValueError("plausibility.value_range of a proportion lies within [0, 1]")
        return self

    @property
    def share_only(self) -> bool:
        """Published as values without counts: no intervals, comparisons, funnels or opportunities."""
        return self.measure == Measure.SHARE_ONLY

    def period_ok(self, day: dt.date) -> str | None:
        """None if `day` is a valid period start for this indicator, else the reason it is not."""
        if day.day != 1:
            return f"a {self.period.value} period starts on the 1st of the month"
        if self.period == Period.QUARTER and day.month not in (1, 4, 7, 10):
            return "a quarter starts on 1 January, April, July or October"
        if self.period == Period.YEAR and day.month != self.year_start_month:
            month = dt.date(2000, self.year_start_month, 1).strftime("%B")
            return f"a year of this indicator starts on 1 {month}"
        if day < self.first_period:
            return f"before the indicator's first period {self.first_period.isoformat()}"
        if self.last_period is not None and day > self.last_period:
            return f"after the indicator's last period {self.last_period.isoformat()}"
        if day > dt.date.today():
            return "in the future"
        return None

    @property
    def count_unit(self) -> Counts:
        """What the numerator counts (and the opportunity), and the denominator: ``counts``, or words that
        claim nothing when the entry does not say."""
        return self.counts or UNSTATED_COUNTS

    @property
    def pounds_text(self) -> str | None:
        """What the opportunity's pounds are ("extra drug cost", "saving"); None without a unit cost."""
        if self.unit_cost is None:
            return None
        if self.pounds_meaning is None:
            return "(not stated whether a cost or a saving)"
        return self.pounds_label or POUNDS_LABELS[self.pounds_meaning]

    def signed_pounds(self, pounds: float) -> float:
        """The opportunity's pounds with their sign: a cost positive, a saving negative."""
        return -abs(pounds) if self.pounds_meaning == PoundsMeaning.SAVING else abs(pounds)

    def format_value(self, value: float | None) -> str:
        if value is None:
            return "-"
        return f"{value * self.multiplier:,.1f}{self.unit if self.unit == '%' else ' ' + self.unit}"
