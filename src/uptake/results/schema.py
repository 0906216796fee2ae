"""Every result table, declared once: its columns and types, its key, and (for a view) its SQL.

This is the one declaration of the read model. The pipeline (uptake.pipeline) writes its tables and views
from it, the mission (uptake.mission) writes its three tables from it, the web's snapshot copies the tables
listed here (``SNAPSHOT_TABLES``), the JSON API's response models are made from the columns of ``ROWS``
(uptake.web.api), the readers (uptake.results.read) select from it, and tests check that docs/results.md
describes every column (tests/test_pipeline.py) and that every reader runs on tables made from it
(tests/web/test_queries.py).

- ``RESULT_TABLES``: the pipeline's tables, as readers see them (``uptake compute``).
- ``PIPELINE_RUNS``: one row per pipeline run.
- ``PATHWAY_TABLES``: the stroke pathway model's scenarios, nationally and per unit (``uptake compute``).
- ``PUBLICATIONS``: one row per publication (a set of result tables made visible at once; docs/results.md).
- ``MISSION_TABLES``: the mission's attainment, missed opportunities and watch list (``uptake ratings compute``).
- ``MODEL_TABLES``: the models' outcomes of each gap and the health and wealth impact (``uptake compute``).
- ``FORECAST_TABLES``: the Bass forecasts (uptake.models.forecasts, inside ``uptake compute``'s publication).
- ``STORE_TABLES``: the analytics store's own tables that readers use (declared in uptake.analytics.store).
- ``ROWS``: the shapes of the rows readers return where they are not one table's columns.

How the pipeline's tables are stored: five of them have one row per (indicator, level, organisation, period)
point - values, funnel, SPC, changes, opportunity - and at national scale they hold tens of millions of rows
each. Writing them as five wide tables repeated the keys five times and stored many figures that follow from
others, and DuckDB's write speed (about ten million values a second on two cores; strings are dearest) made
writing the largest part of a run. So the points are stored once, narrowly, in ``result_points`` (integer
ids, category codes, only figures that cannot be derived), and those five tables are **views** over it that
add the names, labels and derived columns (value = numerator / denominator, SPC lines from the centre and
mR-bar, opportunity gaps from the benchmarks, pounds from the unit cost) with the same arithmetic the
pipeline uses. Since issue 17.2 they also derive what follows bit for bit from a point's counts and its
cell's or segment's constants: a proportion's Wilson intervals, the SPC centre and mR-bar (stored once per
segment in ``result_spc_segments``), the funnel's side, and the funnel limits and z-scores SQL can give
identically (result_points holds NULL there; docs/results.md lists what is derived and what stays
stored). The other tables are small and stored as they are read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import pyarrow as pa

from uptake.stats import z_value
from uptake.stats.funnel import CONFIDENCE_INNER, CONFIDENCE_OUTER
from uptake.stats.spc import LIMIT_FACTOR, ONE_SIGMA_FACTOR, TWO_SIGMA_FACTOR
from uptake.stats.ranks import GAP_TOLERANCE


@dataclass(frozen=True)
class Column:
    name: str
    sql: str  # DuckDB type
    #: never NULL: a key column, or one marked with "!" after its type. The API's models make it a required
    #: field; the store does not enforce it (result tables have no constraints).
    required: bool = False

    @property
    def arrow(self) -> pa.DataType:
        return _ARROW[self.sql]

    @property
    def python(self) -> type:
        """The Python type a reader gets for it (DuckDB's own conversion)."""
        return _PYTHON[self.sql]

    def named(self, name: str) -> "Column":
        """The same column under another name (a reader's alias)."""
        return replace(self, name=name)


_ARROW: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "DOUBLE": pa.float64(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "SMALLINT": pa.int16(),
    "TINYINT": pa.int8(),
    "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
    "BIGINT[]": pa.list_(pa.int64()),
    "VARCHAR[]": pa.list_(pa.string()),
    "JSON": pa.string(),
}
_PYTHON: dict[str, type] = {
    "VARCHAR": str,
    "DOUBLE": float,
    "BIGINT": int,
    "INTEGER": int,
    "SMALLINT": int,
    "TINYINT": int,
    "BOOLEAN": bool,
    "DATE": dt.date,
    "TIMESTAMP": dt.datetime,
    "BIGINT[]": list[int],
    "VARCHAR[]": list[str],
    "JSON": str,
}


@dataclass(frozen=True)
class Shape:
    """Named columns: a table's, or those of the rows a reader returns."""

    name: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return self.columns[self.column_names.index(name)]

    def pick(self, *names: str) -> tuple[Column, ...]:
        """Some of its columns, in the order given."""
        return tuple(self.column(name) for name in names)


@dataclass(frozen=True)
class ResultTable(Shape):
    #: the columns that identify a row (documented; never NULL; the store has no constraints on result tables)
    key: tuple[str, ...]
    #: SQL of the view that presents it (None: stored as a table)
    view: str | None = None

    def __post_init__(self) -> None:
        missing = [name for name in self.key if name not in self.column_names]
        if missing:
            raise ValueError(f"{self.name}: key columns {missing} are not columns")
        marked = tuple(replace(c, required=True) if c.name in self.key else c for c in self.columns)
        object.__setattr__(self, "columns", marked)

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow) for c in self.columns])

    def ddl(self, table_name: str | None = None) -> str:
        cols = ", ".join(f'"{c.name}" {c.sql}' for c in self.columns)
        return f'CREATE TABLE "{table_name or self.name}" ({cols})'


def _cols(spec: str) -> tuple[Column, ...]:
    """Columns from "name:TYPE, ..."; a "!" after the type marks a column that is never NULL."""
    out = []
    for item in spec.split(","):
        item = item.strip()
        if item:
            name, sql = item.split(":")
            sql = sql.strip()
            out.append(Column(name.strip(), sql.rstrip("!"), required=sql.endswith("!")))
    return tuple(out)


_S, _D, _F, _I, _B, _T = "VARCHAR", "DATE", "DOUBLE", "INTEGER", "BOOLEAN", "TINYINT"

# ------------------------------------------------------------------------------------------ vocabularies
# Category columns of result_points hold positions in these tuples; the views turn them into the words.

COMPARISON = (
    "not compared", "similar", "better", "worse", "best", "worst", "higher", "lower", "not eligible"
)
#: how result_values.comparison was judged: the plain Wilson / Byar interval, or the over-dispersed funnel's
#: random-effects limits (docs/methods.md, "One answer to 'different from England?'")
COMPARISON_METHOD = ("interval", "random-effects")
FUNNEL_BAND = ("within 95%", "between 95% and 99.8%", "beyond 99.8%", "not compared")
FUNNEL_SIDE = ("", "high", "low")
SPC_RULE = ("", "outside-limits", "trend", "two-of-three", "shift")
SPC_SPECIAL_CAUSE = ("common-cause", "improvement", "concern", "neutral")
CUSUM_ALERT = ("", "increase", "decrease", "both")


def _label(column: str, words: tuple[str, ...]) -> str:
    listed = ", ".join("'" + w.replace("'", "''") + "'" for w in words)
    return f"[{listed}][{column} + 1]"


# ------------------------------------------------------------------------------------- stored (physical)

INDICATORS = ResultTable(
    "result_indicators",
    _cols(
        f"indicator_id:SMALLINT, indicator:{_S}, title:{_S}, measure:{_S}, polarity:{_S}, multiplier:{_F}, "
        f"unit:{_S}, unit_cost:{_F}, target:{_F}, adoption_threshold:{_F}, synthetic:{_B}, levels:VARCHAR[]"
    ),
    ("indicator",),
)
ORGANISATIONS = ResultTable(
    "result_organisations",
    _cols(f"org_id:{_I}, code:{_S}, level:{_S}, name:{_S}"),
    ("org_id",),
)
POINTS = ResultTable(
    "result_points",
    _cols(
        f"indicator_id:SMALLINT, org_id:{_I}, period:{_D}, numerator:{_F}, denominator:{_F}, members:{_I}, "
        f"ci95_low:{_F}, ci95_high:{_F}, ci998_low:{_F}, ci998_high:{_F}, percent_rank:{_F}, decile:{_T}, "
        f"comparison:{_T}, comparison_plain:{_T}, comparison_method:{_T}, funnel_lower95:{_F}, "
        f"funnel_upper95:{_F}, funnel_lower998:{_F}, funnel_upper998:{_F}, funnel_z:{_F}, funnel_band:{_T}, "
        f"spc_segment:SMALLINT, spc_moving_range:{_F}, spc_outside_limits:{_T}, spc_trend:{_T}, "
        f"spc_two_of_three:{_T}, "
        f"spc_shift:{_T}, spc_direction:{_T}, spc_rule:{_T}, spc_special_cause:{_T}, spc_reference:{_F}, "
        f"cusum_increase:{_F}, cusum_decrease:{_F}, cusum_threshold_increase:{_F}, "
        f"cusum_threshold_decrease:{_F}, cusum_alert:{_T}, peer_value:{_F}"
    ),
    ("indicator_id", "org_id", "period"),
)
#: The constants of each SPC segment (a series' points between new limits), stored once per segment rather
#: than on every point: the charted mean and mR-bar. The result_spc view joins them on by
#: (indicator_id, org_id, result_points.spc_segment).
SPC_SEGMENTS = ResultTable(
    "result_spc_segments",
    _cols(f"indicator_id:SMALLINT, org_id:{_I}, segment:SMALLINT, centre:{_F}, mean_moving_range:{_F}"),
    ("indicator_id", "org_id", "segment"),
)

DECILES = ResultTable(
    "result_deciles",
    _cols(
        f"indicator:{_S}, level:{_S}, period:{_D}, organisations:BIGINT, "
        + ", ".join(f"p{k}:{_F}" for k in range(10, 100, 10))
    ),
    ("indicator", "level", "period"),
)
FUNNEL_CURVE = ResultTable(
    "result_funnel_curve",
    _cols(
        f"indicator:{_S}, level:{_S}, period:{_D}, denominator:{_F}, lower95:{_F}, upper95:{_F}, "
        f"lower998:{_F}, upper998:{_F}"
    ),
    ("indicator", "level", "period", "denominator"),
)
FUNNEL_SUMMARY = ResultTable(
    "result_funnel_summary",
    _cols(
        f"indicator:{_S}, level:{_S}, period:{_D}, benchmark:{_F}, units:BIGINT, method:{_S}, phi:{_F}, "
        f"tau2:{_F}, overdispersion_adjusted:{_B}, warnings:{_S}"
    ),
    ("indicator", "level", "period"),
)
SPC_SERIES = ResultTable(
    "result_spc_series",
    _cols(
        f"indicator:{_S}, level:{_S}, org_code:{_S}, points:{_I}, first_period:{_D}, last_period:{_D}, "
        f"basis:{_S}, improvement:{_S}, rule_length:{_I}, variation_icon:{_S}, assurance_icon:{_S}, target:{_F}, "
        f"warnings:{_S}"
    ),
    ("indicator", "level", "org_code"),
)
PEERS = ResultTable(
    "result_peers",
    _cols(f"level:{_S}, org_code:{_S}, rank:{_I}, peer_code:{_S}, distance:{_F}, features:{_S}"),
    ("level", "org_code", "rank"),
)
OPPORTUNITY_TOTALS = ResultTable(
    "result_opportunity_totals",
    _cols(
        f"indicator:{_S}, level:{_S}, period:{_D}, benchmark:{_S}, area_level:{_S}, area_code:{_S}, "
        f"organisations:BIGINT, gap_patients:{_F}, gap_pounds:{_F}, synthetic:{_B}"
    ),
    ("indicator", "level", "period", "benchmark", "area_level", "area_code"),
)
ADOPTION = ResultTable(
    "result_adoption",
    _cols(
        f"indicator:{_S}, level:{_S}, org_code:{_S}, threshold:{_F}, adopted:{_B}, first_adopted:{_D}, "
        f"months_from_launch:{_F}, category_normal:{_S}, category_quantile:{_S}"
    ),
    ("indicator", "level", "org_code"),
)
EQUITY = ResultTable(
    "result_equity",
    _cols(
        f"indicator:{_S}, level:{_S}, period:{_D}, organisations:BIGINT!, quintiles:{_I}!, sii:{_F}, rii:{_F}, "
        f"intercept:{_F}, sii_ci95_low:{_F}, sii_ci95_high:{_F}, rii_ci95_low:{_F}, rii_ci95_high:{_F}, "
        + ", ".join(f"value_q{q}:{_F}" for q in range(1, 6))
    ),
    ("indicator", "level", "period"),
)

# ------------------------------------------------------------------------------------------------ views

_VALUE = "CASE WHEN p.denominator > 0 THEN p.numerator / p.denominator END"


def _f(x: float) -> str:
    """A double literal that parses back to exactly ``x``: the shortest repr, in exponent form (which DuckDB
    reads as a DOUBLE, correctly rounded, rather than a DECIMAL; cheaper to plan than a cast of a string)."""
    text = repr(float(x))
    return f"({text})" if "e" in text else f"({text}e0)"


def _wilson(confidence: float, side: str) -> str:
    """uptake.stats.wilson in SQL, operation for operation (so bit for bit: only arithmetic and a square
    root, correctly rounded in NumPy and DuckDB alike), on the point's counts as uptake.pipeline.values
    gives them: NULL unless 0 <= numerator <= denominator and denominator > 0; exactly 0 at numerator 0
    (low) and exactly 1 at numerator = denominator (high)."""
    z = z_value(confidence)
    x, n = "p.numerator", "p.denominator"
    spread = f"{_f(z)} * sqrt({_f(z * z)} + {_f(4.0)} * {x} * ({_f(1.0)} - {x} / {n}))"
    sign, edge, at = ("-", f"{x} = {_f(0.0)}", _f(0.0)) if side == "low" else ("+", f"{x} = {n}", _f(1.0))
    return (
        f"CASE WHEN NOT ({n} > {_f(0.0)} AND {x} >= {_f(0.0)} AND {x} <= {n}) THEN NULL WHEN {edge} THEN {at} "
        f"ELSE least(greatest(({_f(2.0)} * {x} + {_f(z * z)} {sign} {spread}) / ({_f(2.0)} * ({n} + "
        f"{_f(z * z)})), {_f(0.0)}), {_f(1.0)}) END"
    )


def _interval(column: str) -> str:
    """A point's interval: a proportion's Wilson interval from its counts (result_points stores it only for
    rates, whose Byar and exact Poisson intervals SQL cannot give bit for bit). An expression over the
    point (p) and its indicator (i), written out where it is used: a subquery between result_points and
    the organisations' join would keep DuckDB from narrowing the scan to the organisations asked for."""
    confidence = CONFIDENCE_INNER if column.startswith("ci95") else CONFIDENCE_OUTER
    side = "low" if column.endswith("low") else "high"
    return f"(CASE WHEN i.measure = 'proportion' THEN {_wilson(confidence, side)} ELSE p.{column} END)"


_POINT_JOIN = (
    "FROM result_points AS p JOIN result_indicators AS i USING (indicator_id) "
    "JOIN result_organisations AS o USING (org_id)"
)


VALUES = ResultTable(
    "result_values",
    _cols(
        f"indicator:{_S}, level:{_S}, org_code:{_S}, org_name:{_S}, period:{_D}, numerator:{_F}, "
        f"denominator:{_F}, members:BIGINT, value:{_F}, ci95_low:{_F}, ci95_high:{_F}, ci998_low:{_F}, "
        f"ci998_high:{_F}, percent_rank:{_F}, decile:{_I}, comparison:{_S}, comparison_plain:{_S}, "
        f"comparison_method:{_S}, synthetic:{_B}"
    ),
    ("indicator", "level", "org_code", "period"),
    view=(
        "SELECT i.indicator, o.level, o.code AS org_code, o.name AS org_name, p.period, p.numerator, "
        f"p.denominator, CAST(p.members AS BIGINT) AS members, {_VALUE} AS value, "
        f"{_interval('ci95_low')} AS ci95_low, {_interval('ci95_high')} AS ci95_high, "
        f"{_interval('ci998_low')} AS ci998_low, {_interval('ci998_high')} AS ci998_high, "
        "p.percent_rank, CAST(p.decile AS INTEGER) AS decile, "
        f"{_label('p.comparison', COMPARISON)} AS comparison, "
        f"{_label('p.comparison_plain', COMPARISON)} AS comparison_plain, "
        f"{_label('p.comparison_method', COMPARISON_METHOD)} AS comparison_method, i.synthetic {_POINT_JOIN}"
    ),
)

_NOT_COMPARED = FUNNEL_BAND.index("not compared")


def _funnel_limit(stored: str, confidence: float, sign: str) -> str:
    """A funnel limit of a point, as uptake.pipeline.funnel computes it, where SQL gives the same bits
    (``funnel.derived_masks``; the point's stored value elsewhere). The cell's benchmark theta, tau2 and
    method come from result_funnel_summary (s), n is the point's denominator, z the normal quantile:
    proportions on plain limits (Wilson-touching): clip(theta +- z sqrt(theta (1 - theta) / n), 0, 1);
    rates on random-effects limits: max(sqrt(max(theta, 0)) +- z sqrt(1 / (4 n) + tau2), 0) squared."""
    z = _f(z_value(confidence))
    wilson = (f"least(greatest(s.benchmark {sign} {z} * sqrt(s.benchmark * ({_f(1.0)} - s.benchmark) / "
              f"p.denominator), {_f(0.0)}), {_f(1.0)})")
    root = (f"greatest(sqrt(greatest(s.benchmark, {_f(0.0)})) {sign} {z} * sqrt({_f(1.0)} / ({_f(4.0)} * "
            f"p.denominator) + s.tau2), {_f(0.0)})")
    return (
        f"CASE WHEN p.funnel_band = {_NOT_COMPARED} THEN NULL WHEN s.method = 'wilson' THEN {wilson} "
        f"WHEN s.method = 'random-effects' AND i.measure <> 'proportion' THEN {root} * {root} "
        f"ELSE {stored} END"
    )


#: the z-score of a rate (square-root scale, at least 3 units in the funnel), as uptake.pipeline.funnel
#: computes it: (sqrt(max(value, 0)) - sqrt(max(theta, 0))) / (1 / (2 sqrt(n))); proportions' stored
_FUNNEL_Z = (
    f"CASE WHEN i.measure = 'proportion' THEN p.funnel_z WHEN p.funnel_band = {_NOT_COMPARED} OR s.units < 3 "
    f"THEN NULL ELSE (sqrt(greatest(p.numerator / p.denominator, {_f(0.0)})) - sqrt(greatest(s.benchmark, "
    f"{_f(0.0)}))) / ({_f(1.0)} / ({_f(2.0)} * sqrt(p.denominator))) END"
)

FUNNEL = ResultTable(
    "result_funnel",
    _cols(
        f"indicator:{_S}, level:{_S}, org_code:{_S}, period:{_D}, numerator:{_F}, denominator:{_F}, "
        f"value:{_F}, benchmark:{_F}, lower95:{_F}, upper95:{_F}, lower998:{_F}, upper998:{_F}, band:{_S}, "
        f"side:{_S}, z:{_F}"
    ),
    ("indicator", "level", "org_code", "period"),
    # side from the band and the 95% limits, as uptake.pipeline.funnel judges it: above the upper limit
    # "high", below the lower "low", "" within them or where the point is not compared
    view=(
        "SELECT indicator, level, org_code, period, numerator, denominator, value, benchmark, lower95, upper95, "
        f"lower998, upper998, {_label('band_code', FUNNEL_BAND)} AS band, "
        f"CASE WHEN band_code = {_NOT_COMPARED} THEN '' WHEN numerator / denominator > upper95 "
        f"THEN '{FUNNEL_SIDE[1]}' WHEN numerator / denominator < lower95 THEN '{FUNNEL_SIDE[2]}' ELSE '' END "
        "AS side, z FROM ("
        "SELECT i.indicator, o.level, o.code AS org_code, p.period, p.numerator, p.denominator, "
        f"CASE WHEN p.funnel_band <> {_NOT_COMPARED} THEN {_VALUE} END AS value, s.benchmark, "
        f"{_funnel_limit('p.funnel_lower95', CONFIDENCE_INNER, '-')} AS lower95, "
        f"{_funnel_limit('p.funnel_upper95', CONFIDENCE_INNER, '+')} AS upper95, "
        f"{_funnel_limit('p.funnel_lower998', CONFIDENCE_OUTER, '-')} AS lower998, "
        f"{_funnel_limit('p.funnel_upper998', CONFIDENCE_OUTER, '+')} AS upper998, "
        f"p.funnel_band AS band_code, {_FUNNEL_Z} AS z {_POINT_JOIN} "
        "LEFT JOIN result_funnel_summary AS s ON s.indicator = i.indicator AND s.level = o.level "
        "AND s.period = p.period WHERE p.funnel_band IS NOT NULL)"
    ),
)


#: the SPC centre on the value scale: the segment's charted mean, plus England's value on the difference basis
_SPC_CENTRE = f"(coalesce(p.spc_reference, {_f(0.0)}) + g.centre)"


def _line(sign: str, factor: float) -> str:
    return f"{_SPC_CENTRE} {sign} {_f(factor)} * g.mean_moving_range"


SPC = ResultTable(
    "result_spc",
    _cols(
        f"indicator:{_S}, level:{_S}, org_code:{_S}, period:{_D}, value:{_F}, basis:{_S}, england_value:{_F}, "
        f"segment:{_I}, centre:{_F}, moving_range:{_F}, mean_moving_range:{_F}, upper_limit:{_F}, lower_limit:{_F}, "
        f"upper_two_sigma:{_F}, lower_two_sigma:{_F}, upper_one_sigma:{_F}, lower_one_sigma:{_F}, "
        f"outside_limits:{_T}, trend:{_T}, two_of_three:{_T}, shift:{_T}, direction:{_T}, rule:{_S}, "
        f"special_cause:{_S}"
    ),
    ("indicator", "level", "org_code", "period"),
    view=(
        f"SELECT i.indicator, o.level, o.code AS org_code, p.period, {_VALUE} AS value, "
        "CASE WHEN p.spc_reference IS NULL THEN 'value' ELSE 'difference from England' END AS basis, "
        "p.spc_reference AS england_value, "
        f"CAST(p.spc_segment AS INTEGER) AS segment, {_SPC_CENTRE} AS centre, p.spc_moving_range AS moving_range, "
        f"g.mean_moving_range AS mean_moving_range, {_line('+', LIMIT_FACTOR)} AS upper_limit, "
        f"{_line('-', LIMIT_FACTOR)} AS lower_limit, {_line('+', TWO_SIGMA_FACTOR)} AS upper_two_sigma, "
        f"{_line('-', TWO_SIGMA_FACTOR)} AS lower_two_sigma, {_line('+', ONE_SIGMA_FACTOR)} AS upper_one_sigma, "
        f"{_line('-', ONE_SIGMA_FACTOR)} AS lower_one_sigma, p.spc_outside_limits AS outside_limits, "
        "p.spc_trend AS trend, p.spc_two_of_three AS two_of_three, p.spc_shift AS shift, "
        f"p.spc_direction AS direction, {_label('p.spc_rule', SPC_RULE)} AS rule, "
        f"{_label('p.spc_special_cause', SPC_SPECIAL_CAUSE)} AS special_cause {_POINT_JOIN} "
        "JOIN result_spc_segments AS g ON g.indicator_id = p.indicator_id AND g.org_id = p.org_id "
        "AND g.segment = p.spc_segment"
    ),
)
CHANGES = ResultTable(
    "result_changes",
    _cols(
        f"indicator:{_S}, level:{_S}, org_code:{_S}, period:{_D}, percentile:{_F}, cusum_increase:{_F}, "
        f"cusum_decrease:{_F}, threshold_increase:{_F}, threshold_decrease:{_F}, alert:{_S}"
    ),
    ("indicator", "level", "org_code", "period"),
    view=(
        f"SELECT i.indicator, o.level, o.code AS org_code, p.period, p.percent_rank * {_f(100.0)} AS percentile, "
        "p.cusum_increase, p.cusum_decrease, p.cusum_threshold_increase AS threshold_increase, "
        "p.cusum_threshold_decrease AS threshold_decrease, "
        f"{_label('p.cusum_alert', CUSUM_ALERT)} AS alert {_POINT_JOIN} WHERE p.cusum_alert IS NOT NULL"
    ),
)


def _gap(benchmark: str, numerator: str = "p.numerator") -> str:
    """stats.opportunity in SQL: max(0, P x den - num) when high is good, max(0, num - P x den) when low; a gap
    nearer zero than GAP_TOLERANCE is rounding and counts as 0."""
    raw = (f"(CASE WHEN p.polarity = 'high-is-good' THEN ({benchmark}) * p.denominator - {numerator} "
           f"ELSE {numerator} - ({benchmark}) * p.denominator END)")
    return (
        f"CASE WHEN ({benchmark}) IS NULL THEN NULL WHEN abs({raw}) < {_f(GAP_TOLERANCE)} THEN {_f(0.0)} "
        f"ELSE greatest({raw}, {_f(0.0)}) END"
    )


_TOP = "CASE WHEN p.polarity = 'high-is-good' THEN d.p90 ELSE d.p10 END"
_FAVOURABLE = "(CASE WHEN p.polarity = 'high-is-good' THEN p.ci95_high ELSE p.ci95_low END) * p.denominator"
_UNFAVOURABLE = "(CASE WHEN p.polarity = 'high-is-good' THEN p.ci95_low ELSE p.ci95_high END) * p.denominator"

OPPORTUNITY = ResultTable(
    "result_opportunity",
    _cols(
        f"indicator:{_S}, level:{_S}, org_code:{_S}, period:{_D}, numerator:{_F}, denominator:{_F}, "
        f"value:{_F}, median_value:{_F}, gap_median:{_F}, top_decile_value:{_F}, gap_top_decile:{_F}, "
        f"peer_value:{_F}, gap_peers:{_F}, gap_peers_low:{_F}, gap_peers_high:{_F}, target_value:{_F}, "
        f"gap_target:{_F}, unit_cost:{_F}, gap_median_pounds:{_F}, gap_top_decile_pounds:{_F}, "
        f"gap_peers_pounds:{_F}, gap_target_pounds:{_F}, synthetic:{_B}"
    ),
    ("indicator", "level", "org_code", "period"),
    # Three steps: the points eligible with their 95% interval (computed once: the gaps use it four times),
    # the gaps against the benchmarks, the pounds.
    view=(
        "SELECT indicator, level, org_code, period, numerator, denominator, value, median_value, gap_median, "
        "top_decile_value, gap_top_decile, peer_value, gap_peers, gap_peers_low, gap_peers_high, target_value, "
        "gap_target, unit_cost, gap_median * unit_cost AS gap_median_pounds, "
        "gap_top_decile * unit_cost AS gap_top_decile_pounds, gap_peers * unit_cost AS gap_peers_pounds, "
        "gap_target * unit_cost AS gap_target_pounds, synthetic FROM ("
        "SELECT p.indicator, p.level, p.org_code, p.period, p.numerator, p.denominator, "
        f"p.value, d.p50 AS median_value, {_gap('d.p50')} AS gap_median, "
        f"{_TOP} AS top_decile_value, {_gap(_TOP)} AS gap_top_decile, p.peer_value, "
        f"{_gap('p.peer_value')} AS gap_peers, {_gap('p.peer_value', _FAVOURABLE)} AS gap_peers_low, "
        f"{_gap('p.peer_value', _UNFAVOURABLE)} AS gap_peers_high, p.target AS target_value, "
        f"{_gap('p.target')} AS gap_target, p.unit_cost, p.synthetic FROM ("
        "SELECT i.indicator, i.polarity, i.target, i.unit_cost, i.synthetic, o.level, o.code AS org_code, "
        f"p.period, p.numerator, p.denominator, p.peer_value, {_VALUE} AS value, "
        f"{_interval('ci95_low')} AS ci95_low, {_interval('ci95_high')} AS ci95_high {_POINT_JOIN} "
        "WHERE i.polarity <> 'no-judgement' AND o.level <> 'england' "
        f"AND p.comparison <> {COMPARISON.index('not eligible')}) AS p "
        "JOIN result_deciles AS d ON d.indicator = p.indicator AND d.level = p.level AND d.period = p.period "
        "WHERE p.ci95_low IS NOT NULL)"
    ),
)

#: Every table a reader sees, in documentation order.
RESULT_TABLES: tuple[ResultTable, ...] = (
    VALUES,
    DECILES,
    FUNNEL,
    FUNNEL_CURVE,
    FUNNEL_SUMMARY,
    SPC,
    SPC_SERIES,
    CHANGES,
    PEERS,
    OPPORTUNITY,
    OPPORTUNITY_TOTALS,
    ADOPTION,
    EQUITY,
    INDICATORS,
    ORGANISATIONS,
)
#: Stored only to give the views their names and labels (readers read the views).
VIEW_LOOKUPS: tuple[ResultTable, ...] = (INDICATORS, ORGANISATIONS)
#: The stored tables behind the five per-point views (not for direct use: readers read the views).
POINT_STORAGE: tuple[ResultTable, ...] = (SPC_SEGMENTS, POINTS)
#: The tables written (everything but the views), with result_points last.
STORED_TABLES: tuple[ResultTable, ...] = tuple(t for t in RESULT_TABLES if t.view is None) + POINT_STORAGE
VIEWS: tuple[ResultTable, ...] = tuple(t for t in RESULT_TABLES if t.view is not None)
#: The pipeline's tables by name (result_points included).
BY_NAME: dict[str, ResultTable] = {t.name: t for t in (*RESULT_TABLES, *POINT_STORAGE)}

PIPELINE_RUNS = ResultTable(
    "pipeline_runs",
    _cols(
        "run_id:BIGINT, engine:VARCHAR, started_at:TIMESTAMP, finished_at:TIMESTAMP, "
        "input_batch_ids:BIGINT[], input_rows:BIGINT, indicators:VARCHAR[], row_counts:JSON, settings:JSON, "
        "warnings:VARCHAR[], uptake_version:VARCHAR"
    ),
    ("run_id",),
)

#: One row per publication: a set of result tables that became visible at once (uptake.pipeline.publication).
PUBLICATIONS = ResultTable(
    "publications",
    _cols(
        "publication_id:BIGINT, kind:VARCHAR!, state:VARCHAR!, created_at:TIMESTAMP!, published_at:TIMESTAMP, "
        "pipeline_run:BIGINT, attainment_run:BIGINT, rating_run:BIGINT, tables:VARCHAR[]"
    ),
    ("publication_id",),
)
#: The states of a publication: being written, visible (the newest published one is the current set), or
#: never published (its compute failed or was killed; marked so by the next one).
PUBLICATION_STATES = ("staged", "published", "abandoned")

# ------------------------------------------------------------------------------ the stroke pathway model's
# Written inside ``uptake compute``'s publication by uptake.models.pathway.results (the stroke pathway
# model on the bundled SAMueL units); each replaced as a whole. Columns in docs/results.md, method in
# docs/outcomes-stroke.md.

PATHWAY_NATIONAL = ResultTable(
    "result_pathway_national",
    _cols(
        f"scenario:{_S}, title:{_S}, description:{_S}, units:{_I}, admissions_per_year:{_F}, "
        f"thrombolysis_pct:{_F}, thrombolysis_pct_low:{_F}, thrombolysis_pct_high:{_F}, "
        f"good_outcomes_per_1000:{_F}, good_outcomes_per_1000_low:{_F}, good_outcomes_per_1000_high:{_F}, "
        f"thrombolysed_per_year:{_F}, good_outcomes_per_year:{_F}, good_outcomes_per_year_low:{_F}, "
        f"good_outcomes_per_year_high:{_F}, extra_good_outcomes_per_year_vs_base:{_F}, "
        f"extra_good_outcomes_per_year_vs_base_low:{_F}, extra_good_outcomes_per_year_vs_base_high:{_F}, "
        f"samuel_thrombolysis_pct:{_F}, samuel_good_outcomes_per_1000:{_F}, trials:{_I}, seed:{_I}, "
        f"parameters_version:{_I}, seconds:{_F}"
    ),
    ("scenario",),
)
PATHWAY_UNITS = ResultTable(
    "result_pathway_units",
    _cols(
        f"scenario:{_S}, stroke_team:{_S}, admissions_per_year:{_F}, recorded_thrombolysis_pct:{_F}, "
        f"thrombolysis_pct:{_F}, thrombolysis_pct_low:{_F}, thrombolysis_pct_high:{_F}, "
        f"good_outcomes_per_1000:{_F}, good_outcomes_per_1000_low:{_F}, good_outcomes_per_1000_high:{_F}, "
        f"change_thrombolysis_pct_points_vs_base:{_F}, change_thrombolysis_pct_points_vs_base_low:{_F}, "
        f"change_thrombolysis_pct_points_vs_base_high:{_F}, change_good_outcomes_per_1000_vs_base:{_F}, "
        f"change_good_outcomes_per_1000_vs_base_low:{_F}, change_good_outcomes_per_1000_vs_base_high:{_F}"
    ),
    ("scenario", "stroke_team"),
)
PATHWAY_TABLES: tuple[ResultTable, ...] = (PATHWAY_NATIONAL, PATHWAY_UNITS)
PATHWAY_BY_NAME: dict[str, ResultTable] = {t.name: t for t in PATHWAY_TABLES}

# ------------------------------------------------------------------------------------------ the mission's
# Written by uptake.mission.results.write_table (``uptake ratings compute``, and after ``uptake compute``);
# each replaced as a whole. Columns in docs/results.md; the judgements in docs/mission.md.

ATTAINMENT = ResultTable(
    "result_attainment",
    _cols(
        f"framework:{_S}, framework_version:{_I}, commitment:{_S}, indicator:{_S}, level:{_S}, org_code:{_S}, "
        f"org_name:{_S}, period:{_D}, as_of:{_D}, rating_year:{_D}, value:{_F}, ci95_low:{_F}, ci95_high:{_F}, "
        f"minimum_standard:{_F}, standard_in_force:{_F}, trajectory_value:{_F}, target:{_F}, deadline:{_D}, "
        f"deadline_passed:{_B}, status:{_S}, compared_with:{_S}, rank:{_T}, distance_to_trajectory:{_F}, "
        f"distance_to_target:{_F}, distance_to_standard:{_F}, below_minimum:{_B}, periods_below_minimum:{_I}, "
        f"comparison:{_S}, assurance:{_S}, peers_assessed:{_I}, peers_met:{_I}, synthetic:{_B}"
    ),
    ("framework", "commitment", "level", "org_code", "period"),
)
MISSED_OPPORTUNITIES = ResultTable(
    "result_missed_opportunities",
    _cols(
        f"framework:{_S}, commitment:{_S}, indicator:{_S}, level:{_S}, org_code:{_S}, org_name:{_S}, period:{_D}, "
        f"rating_year:{_D}, status:{_S}, value:{_F}, peers_assessed:{_I}, peers_met:{_I}, synthetic:{_B}"
    ),
    ("framework", "commitment", "level", "org_code", "period"),
)
WATCH_LIST = ResultTable(
    "result_watch_list",
    _cols(
        f"framework:{_S}, commitment:{_S}, indicator:{_S}, level:{_S}, org_code:{_S}, org_name:{_S}, period:{_D}, "
        f"rating_year:{_D}, value:{_F}, minimum_standard:{_F}, periods_below_minimum:{_I}, "
        f"threshold_periods:{_I}, synthetic:{_B}"
    ),
    ("framework", "commitment", "level", "org_code"),
)
MISSION_TABLES: tuple[ResultTable, ...] = (ATTAINMENT, MISSED_OPPORTUNITIES, WATCH_LIST)
MISSION_BY_NAME: dict[str, ResultTable] = {t.name: t for t in MISSION_TABLES}

# ------------------------------------------------------------------------------------------ the models'
# Written by uptake.models.publish inside ``uptake compute``'s publication (its publish_with hook), each
# replaced as a whole. Columns in docs/results.md; the methods in docs/outcomes.md and
# docs/health-and-wealth.md.

#: Each opportunity gap (per organisation, and nationally: org_code 'ENG') turned into outcomes by the
#: indicator's outcome model (uptake.models.outcomes), with 95% intervals from the parameters' uncertainty.
OUTCOMES = ResultTable(
    "result_outcomes",
    _cols(
        f"indicator:{_S}, level:{_S}, org_code:{_S}, period:{_D}, benchmark:{_S}, model:{_S}!, outcome:{_S}, "
        f"outcome_label:{_S}!, counts:{_S}!, per:{_S}!, extra_units:{_F}, extra_patients:{_F}, mean:{_F}, low:{_F}, "
        f"high:{_F}, per_unit_mean:{_F}, per_unit_low:{_F}, per_unit_high:{_F}, synthetic:{_B}!, method:{_S}!"
    ),
    ("indicator", "level", "org_code", "period", "benchmark", "outcome"),
)
#: "If every organisation matched the best": each indicator's national top-decile gap valued with the
#: health and wealth model (uptake.models.wealth), one row per measure, with 95% intervals.
IMPACT = ResultTable(
    "result_impact",
    _cols(
        f"condition:{_S}, indicator:{_S}, level:{_S}!, period:{_D}, benchmark:{_S}!, measure:{_S}, label:{_S}!, "
        f"extra_units:{_F}, unit:{_S}!, mean:{_F}, low:{_F}, high:{_F}, synthetic:{_B}!, note:{_S}"
    ),
    ("condition", "indicator", "measure"),
)
MODEL_TABLES: tuple[ResultTable, ...] = (OUTCOMES, IMPACT)
MODEL_BY_NAME: dict[str, ResultTable] = {t.name: t for t in MODEL_TABLES}
# ------------------------------------------------------------------------------------------ forecasts
# Written by uptake.models.forecasts (``uptake compute``, inside its publication, after the mission's tables):
# Bass diffusion fits per organisation and indicator, their trajectories with a 95% band, and each NSF
# commitment's time to target and probability of meeting its deadline. Each replaced as a whole. Method in
# docs/forecasts.md; columns in docs/results.md.

FORECAST_FITS = ResultTable(
    "result_forecast_fits",
    _cols(
        f"indicator:{_S}, level:{_S}, org_code:{_S}, status:{_S}!, points:{_I}, first_period:{_D}, "
        f"last_period:{_D}, origin:{_D}, m:{_F}, m_low:{_F}, m_high:{_F}, p:{_F}, p_low:{_F}, p_high:{_F}, "
        f"q:{_F}, q_low:{_F}, q_high:{_F}, peak:{_D}, residual_sd:{_F}, parent_level:{_S}, parent_code:{_S}, "
        f"data_weight:{_F}, adoption_threshold:{_F}, fitted_adoption:{_D}, fitted_adoption_low:{_D}, "
        f"fitted_adoption_high:{_D}, category_fitted:{_S}, synthetic:{_B}!"
    ),
    ("indicator", "level", "org_code"),
)
FORECASTS = ResultTable(
    "result_forecasts",
    _cols(
        f"indicator:{_S}, level:{_S}, org_code:{_S}, period:{_D}, observed:{_F}, fitted:{_F}, low:{_F}, "
        f"high:{_F}, forecast:{_B}!, synthetic:{_B}!"
    ),
    ("indicator", "level", "org_code", "period"),
)
FORECAST_TARGETS = ResultTable(
    "result_forecast_targets",
    _cols(
        f"framework:{_S}, commitment:{_S}, indicator:{_S}!, level:{_S}, org_code:{_S}, target:{_F}!, "
        f"deadline:{_D}!, last_period:{_D}, last_value:{_F}, value_at_deadline:{_F}, "
        f"value_at_deadline_low:{_F}, value_at_deadline_high:{_F}, reach_date:{_D}, reach_low:{_D}, "
        f"reach_high:{_D}, probability:{_F}, deadline_passed:{_B}, status:{_S}!, synthetic:{_B}!"
    ),
    ("framework", "commitment", "level", "org_code"),
)
FORECAST_TABLES: tuple[ResultTable, ...] = (FORECAST_FITS, FORECASTS, FORECAST_TARGETS)
FORECAST_BY_NAME: dict[str, ResultTable] = {t.name: t for t in FORECAST_TABLES}

# ------------------------------------------------------------------------------------------ what is read

#: The analytics store's own tables that readers use (declared and written by uptake.analytics.store).
STORE_TABLES: tuple[str, ...] = ("organisations", "relationships", "batches")
#: What the web's snapshot copies: the tables as stored (result_points and the lookups the views join, never
#: the wide views, which it makes again over its copy: ``SNAPSHOT_VIEWS``), the runs, the publications and the
#: mission's tables.
SNAPSHOT_TABLES: tuple[str, ...] = (
    *STORE_TABLES,
    *(t.name for t in STORED_TABLES),
    PIPELINE_RUNS.name,
    *(t.name for t in PATHWAY_TABLES),
    PUBLICATIONS.name,
    *(t.name for t in MISSION_TABLES),
    *(t.name for t in MODEL_TABLES),
    *(t.name for t in FORECAST_TABLES),
)
#: The views the snapshot makes over its copy of result_points (as the store has them).
SNAPSHOT_VIEWS: tuple[ResultTable, ...] = VIEWS

_ORG_NAME = Column("org_name", _S)  # organisations.name, joined on by the reader

#: Rows of uptake.results.read.values (result_values without ``members``).
VALUE_ROW = Shape("value", tuple(c for c in VALUES.columns if c.name != "members"))
#: Rows of uptake.results.read.adoption.adoption: result_adoption with the organisation's name.
ADOPTION_ROW = Shape("adoption", (
    *ADOPTION.pick("indicator", "level", "org_code"), _ORG_NAME,
    *ADOPTION.pick("threshold", "adopted", "first_adopted", "months_from_launch"),
    ADOPTION.column("category_normal").named("category"), ADOPTION.column("category_quantile"),
))
#: Rows of uptake.results.read.opportunity.opportunity: result_opportunity long, one row per benchmark,
#: the gaps as extra patients (positive: below the benchmark) and pounds.
OPPORTUNITY_ROW = Shape("opportunity", (
    *OPPORTUNITY.pick("indicator", "level", "org_code"), _ORG_NAME, OPPORTUNITY.column("period"),
    *_cols(f"benchmark:{_S}!, benchmark_value:{_F}"), *OPPORTUNITY.pick("value", "numerator", "denominator"),
    *_cols(f"extra_patients:{_F}, extra_pounds:{_F}"), OPPORTUNITY.column("synthetic"),
))
#: Rows of uptake.results.read.changes.changes: a change detected by CUSUM (a run of alerts in one direction).
CHANGE_ROW = Shape("change", (
    *CHANGES.pick("indicator", "level", "org_code"), _ORG_NAME,
    *_cols(
        f"direction:{_S}!, change_started:{_D}, first_alert:{_D}!, last_alert:{_D}!, alert_periods:BIGINT!, "
        f"period_before:{_D}, percentile_before:{_F}, percentile_latest:{_F}, percentile_change:{_F}, "
        f"value_before:{_F}, value_latest:{_F}, ongoing:{_B}!"
    ),
))
#: Rows of uptake.results.read.equity.equity: result_equity as it is.
EQUITY_ROW = Shape("equity", EQUITY.columns)
#: Rows of uptake.results.read.forecasts.fits: result_forecast_fits with the organisation's current name.
FORECAST_FIT_ROW = Shape("forecast_fit", (*FORECAST_FITS.columns, _ORG_NAME))
#: Rows of uptake.results.read.forecasts.trajectories: result_forecasts as it is.
FORECAST_ROW = Shape("forecast", FORECASTS.columns)
#: Rows of uptake.results.read.forecasts.targets: result_forecast_targets with the organisation's current name.
FORECAST_TARGET_ROW = Shape("forecast_target", (*FORECAST_TARGETS.columns, _ORG_NAME))
ROWS: tuple[Shape, ...] = (VALUE_ROW, ADOPTION_ROW, OPPORTUNITY_ROW, CHANGE_ROW, EQUITY_ROW)


def to_arrow(table: ResultTable, columns: dict[str, object]) -> pa.Table:
    """Build an Arrow table in the table's column order and types from arrays (NumPy or Arrow).

    Floats that are NaN become NULL: the store says "no value" one way only.
    """
    missing = [name for name in table.column_names if name not in columns]
    extra = [name for name in columns if name not in table.column_names]
    if missing or extra:
        raise ValueError(f"{table.name}: missing columns {missing}, unexpected columns {extra}")
    arrays = []
    for col in table.columns:
        data = columns[col.name]
        if isinstance(data, (pa.Array, pa.ChunkedArray)):
            arr = data.cast(col.arrow) if data.type != col.arrow else data
        elif col.sql == "DOUBLE":
            arr = pa.array(data, type=pa.float64(), from_pandas=True)  # NaN -> null
        else:
            arr = pa.array(data, type=col.arrow, from_pandas=True)
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=table.schema)
