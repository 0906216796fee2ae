"""The pipeline's vectorised statistics equal the per-group and per-series functions of uptake.stats,
flag for flag, on Hypothesis-generated inputs (many series or groups at once, with ties, constant series,
gaps and zero denominators)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_pipeline as ref
from uptake import stats
from uptake.levels import Level
from uptake.pipeline import changes, equity, funnel, grouped, peers, spc
from uptake.results import schema
from uptake.stats.spc import LIMIT_FACTOR, ONE_SIGMA_FACTOR, TWO_SIGMA_FACTOR, SpecialCauseRules
from uptake.pipeline.frame import IndicatorFrame, Organisations
from uptake.pipeline.rollup import plan_levels

# ---------------------------------------------------------------------------------------------- helpers


def organisations(codes: list[str], level: str = "practice", quintiles: list | None = None) -> Organisations:
    n = len(codes)
    return Organisations.from_arrow(
        pa.table(
            {
                "code": codes + ["ENG"],
                "level": [level] * n + ["england"],
                "name": codes + ["England"],
                "imd_score": pa.array([None] * (n + 1), pa.float64()),
                "imd_quintile": pa.array((quintiles or [None] * n) + [None], pa.float64()),
                "population": pa.array([None] * (n + 1), pa.float64()),
                "trust_type": pa.array([None] * (n + 1), pa.string()),
                "valid_from": pa.array([dt.date(2020, 1, 1)] * (n + 1), pa.date32()),
                "valid_to": pa.array([None] * (n + 1), pa.date32()),
            }
        )
    )


def frame_of(rows: pd.DataFrame, codes: list[str], measure: str = "proportion", polarity: str = "high-is-good",
             quintiles: list | None = None) -> tuple[IndicatorFrame, Organisations]:
    """A frame with practice rows and the England sums (other levels left out)."""
    ind = ref.indicator("unit", Level.PRACTICE, measure=measure, polarity=polarity)
    eng = rows.groupby("period", as_index=False)[["numerator", "denominator"]].sum()
    eng["org_code"], eng["level"] = "ENG", "england"
    rows = rows.assign(level="practice")
    allrows = pd.concat([rows, eng], ignore_index=True)
    table = pa.table(
        {
            "level": pa.array(allrows["level"].astype(str).tolist(), pa.string()),
            "org_code": pa.array(allrows["org_code"].astype(str).tolist(), pa.string()),
            "period": pa.array(allrows["period"].tolist(), pa.date32()),
            "numerator": allrows["numerator"].astype(float).to_numpy(),
            "denominator": allrows["denominator"].astype(float).to_numpy(),
            "members": np.ones(len(allrows), dtype=np.int64),
        }
    )
    orgs = organisations(codes, quintiles=quintiles)
    return IndicatorFrame.from_arrow(ind, plan_levels(ind), table, orgs), orgs


@st.composite
def panels(draw, max_orgs: int = 8, max_periods: int = 20, flat: bool = False):
    """Counts for a few organisations over a few months, with gaps, zero denominators and ties."""
    n_orgs = draw(st.integers(1, max_orgs))
    n_periods = draw(st.integers(1, max_periods))
    periods = ref.months(dt.date(2021, 1, 1), n_periods)
    max_den = draw(st.sampled_from([1, 2, 5, 40, 1000]))
    rows = []
    for i in range(n_orgs):
        constant = draw(st.booleans()) if flat else False
        fixed = (draw(st.integers(0, max_den)), max_den)
        for p in periods:
            if draw(st.integers(0, 9)) == 0:
                continue  # missing period
            if constant:
                num, den = fixed
            else:
                den = draw(st.integers(0, max_den))
                num = draw(st.integers(0, den)) if den else 0
            rows.append((f"P{i:03d}", p, float(num), float(den)))
    frame = pd.DataFrame(rows, columns=["org_code", "period", "numerator", "denominator"])
    return frame, [f"P{i:03d}" for i in range(n_orgs)]


# ---------------------------------------------------------------------------------------- ranks, deciles


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.one_of(st.just(np.nan), st.sampled_from([0.0, 0.1, 0.25, 1 / 3,
                                                                                           0.5, 1.0]),
                                                         st.floats(0, 1))), max_size=60))
def test_percent_rank_and_centiles_per_group(pairs) -> None:
    group = np.array([g for g, _ in pairs], dtype=np.int64)
    values = np.array([v for _, v in pairs], dtype=float)
    got = grouped.percent_rank(values, group)
    sv, g_sorted, starts, lengths = grouped.sorted_by_group(values, group)
    cent = grouped.centiles(sv, starts, lengths, tuple(float(k) for k in range(10, 100, 10)))
    for j, g in enumerate(np.unique(g_sorted)):
        mine = group == g
        np.testing.assert_array_equal(got[mine], stats.percent_rank(values[mine]))
        np.testing.assert_array_equal(cent[j], stats.deciles(values[mine]))
    assert np.all(np.isnan(got[np.isnan(values)]))


# --------------------------------------------------------------------------------------------------- SPC


def _series_of(frame: IndicatorFrame, orgs: Organisations, code: str) -> np.ndarray:
    org = int(np.flatnonzero(orgs.codes == code)[0])
    rows = np.flatnonzero((frame.level == 0) & (frame.org == org) & ~np.isnan(frame.value))
    return rows


def spc_points(frame: IndicatorFrame, orgs: Organisations, rows_: np.ndarray, columns: dict) -> pd.DataFrame:
    """The SPC columns as the result_spc view shows them (lines from the centre and mR-bar, words)."""
    out = pd.DataFrame({
        "level": np.asarray(frame.levels, dtype=object)[frame.level[rows_]],
        "org_code": orgs.codes[frame.org[rows_]],
        "period": frame.periods[frame.pidx[rows_]],
        "value": frame.value[rows_],
        "segment": columns["spc_segment"],
        "centre": columns["spc_centre"],
        "moving_range": columns["spc_moving_range"],
        "mean_moving_range": columns["spc_mean_moving_range"],
        "outside_limits": columns["spc_outside_limits"],
        "trend": columns["spc_trend"],
        "two_of_three": columns["spc_two_of_three"],
        "shift": columns["spc_shift"],
        "direction": columns["spc_direction"],
        "rule": np.asarray(schema.SPC_RULE, dtype=object)[columns["spc_rule"]],
        "special_cause": np.asarray(schema.SPC_SPECIAL_CAUSE, dtype=object)[columns["spc_special_cause"]],
    })
    mr = out["mean_moving_range"].to_numpy()
    centre = out["centre"].to_numpy()
    for name, sign, factor in (("upper_limit", 1, LIMIT_FACTOR), ("lower_limit", -1, LIMIT_FACTOR),
                               ("upper_two_sigma", 1, TWO_SIGMA_FACTOR), ("lower_two_sigma", -1, TWO_SIGMA_FACTOR),
                               ("upper_one_sigma", 1, ONE_SIGMA_FACTOR), ("lower_one_sigma", -1, ONE_SIGMA_FACTOR)):
        out[name] = centre + factor * mr if sign > 0 else centre - factor * mr
    return out


SPC_COLUMNS = {
    "centre": "mean", "moving_range": "moving_range", "mean_moving_range": "mean_moving_range",
    "upper_limit": "upper_limit", "lower_limit": "lower_limit", "upper_two_sigma": "upper_two_sigma",
    "lower_two_sigma": "lower_two_sigma", "upper_one_sigma": "upper_one_sigma",
    "lower_one_sigma": "lower_one_sigma", "outside_limits": "outside_limits", "trend": "trend",
    "two_of_three": "two_of_three", "shift": "shift", "direction": "direction", "rule": "rule",
    "special_cause": "special_cause", "segment": "segment",
}


@settings(max_examples=80, deadline=None)
@given(
    panels(flat=True),
    st.sampled_from([6, 7]),
    st.sampled_from([None, 2, 5, 12]),
    st.sampled_from([(), (dt.date(2021, 7, 1),), (dt.date(2021, 3, 1), dt.date(2021, 4, 1), dt.date(2022, 1, 1))]),
    st.booleans(),
    st.sampled_from([None, 0.3, 0.9]),
    st.sampled_from(["high-is-good", "low-is-good", "no-judgement"]),
)
def test_spc_equals_stats_xmr_per_series(panel, rule_length, baseline, rebase, screen, target, polarity) -> None:
    rows, codes = panel
    assert_spc_equals_xmr(rows, codes, rule_length, baseline, rebase, screen, target, polarity)


def assert_spc_equals_xmr(rows: pd.DataFrame, codes: list[str], rule_length: int, baseline: int | None,
                          rebase: tuple, screen: bool, target: float | None, polarity: str) -> None:
    """spc.compute on the panel equals stats.xmr on each series (practices and England), bit for bit."""
    frame, orgs = frame_of(rows, codes, polarity=polarity)
    usable = frame.denominator > 0
    rows_, columns, series = spc.compute(frame, usable, orgs, rule_length=rule_length, baseline=baseline,
                                         rebase_dates=rebase, screen_moving_ranges=screen, target=target)
    p = spc_points(frame, orgs, rows_, columns)
    s = series.to_pandas().set_index(["level", "org_code"])
    improvement = spc.IMPROVEMENT[frame.indicator.polarity]
    checked = 0
    for level, code in [("practice", c) for c in codes] + [("england", "ENG")]:
        mine = p[(p.level == level) & (p.org_code == code)].sort_values("period")
        mine = mine.assign(period=[np.datetime64(d, "D").astype(dt.date) for d in mine.period])
        sub = rows if level == "practice" else rows.groupby("period", as_index=False)[["numerator", "denominator"]].sum()
        if level == "practice":
            sub = sub[sub.org_code == code]
        sub = sub[sub.denominator > 0].sort_values("period")
        if len(sub) < 2:
            assert mine.empty
            continue
        y = (sub.numerator / sub.denominator).to_numpy()
        rebase_at, last = [], 0
        for day in sorted(rebase):
            pos = int((sub.period < day).sum())
            if pos - last >= 2 and len(y) - pos >= 2:
                rebase_at.append(pos)
                last = pos
        want = stats.xmr(y, improvement, target, baseline=baseline, rebase_at=rebase_at or None,
                         rule_length=rule_length, screen_moving_ranges=screen)
        np.testing.assert_array_equal(mine["value"].to_numpy(), want.values)
        for col, attr in SPC_COLUMNS.items():
            got = mine[col].to_numpy()
            exp = getattr(want, attr)
            if got.dtype.kind == "f":
                np.testing.assert_array_equal(got, exp, err_msg=col)  # the same bits, not just close
            else:
                assert [str(v) for v in got] == [str(v) for v in exp], col
        row = s.loc[(level, code)]
        assert (row.variation_icon if isinstance(row.variation_icon, str) else None) == want.variation_icon
        assert (row.assurance_icon if isinstance(row.assurance_icon, str) else None) == want.assurance_icon
        warn = row.warnings if isinstance(row.warnings, str) else ""
        assert warn == "; ".join(want.warnings)
        checked += 1
    assert len(s) == checked


#: The lines of a chart a point can sit exactly on.
LINES = ("upper_limit", "lower_limit", "upper_two_sigma", "lower_two_sigma", "mean")
#: XmRResult's flags of each rule, in stats.RULES order.
FLAGS = ("outside_limits", "trend", "two_of_three", "shift")


def tied_series(rng: np.random.Generator, rule_length: int, baseline: int,
                rebase: bool = True) -> tuple[np.ndarray, list[int]]:
    """A series of small whole numbers (noise, or a random walk: trends and shifts), perhaps rebased, with
    many of its points after each period's baseline moved exactly onto a line of the chart: a process
    limit, a two-sigma line or the mean (the baseline fixes the lines, so they stay where they were)."""
    n = int(rng.integers(2, 41))
    y = rng.integers(-5, 6, n).astype(float)
    if rng.random() < 0.5:
        y = np.cumsum(y)
    cuts = sorted(set(rng.integers(2, n - 1, int(rng.integers(0, 3))).tolist())) if rebase and n >= 4 else []
    cuts = [c for i, c in enumerate(cuts) if c <= n - 2 and (i == 0 or c - cuts[i - 1] >= 2)]
    chart = stats.xmr(y, baseline=baseline, rebase_at=cuts or None, rule_length=rule_length)
    starts = np.searchsorted(np.asarray([0, *cuts]), np.arange(n), side="right") - 1
    after_baseline = np.arange(n) - np.asarray([0, *cuts])[starts] >= baseline
    move = after_baseline & (rng.random(n) < 0.5)
    line = rng.integers(0, len(LINES), n)
    for i in np.flatnonzero(move):
        y[i] = getattr(chart, LINES[line[i]])[i]
    return y, cuts


def check_fast_path(charts: list[stats.XmRResult], rules: SpecialCauseRules) -> None:
    """spc.special_causes over every chart laid end to end (with each chart's own centre and mR-bar) gives
    each chart's flags, direction and rule exactly as stats.xmr does."""
    y = np.concatenate([c.values for c in charts])
    mean = np.concatenate([c.mean for c in charts])
    mrbar = np.concatenate([c.mean_moving_range for c in charts])
    new_segment = np.concatenate([np.diff(c.segment, prepend=-1) != 0 for c in charts])
    flags = spc.special_causes(y, mean, mrbar, new_segment, rules)
    direction, rule_code = spc.first_flags(flags, rules)
    offset = 0
    for c in charts:
        mine = slice(offset, offset + c.values.size)
        offset += c.values.size
        for name, attr in zip(stats.RULES, FLAGS, strict=True):
            np.testing.assert_array_equal(flags[name][mine], getattr(c, attr), err_msg=f"{name}: {c.values}")
        np.testing.assert_array_equal(direction[mine], c.direction, err_msg=f"direction of {c.values}")
        assert list(np.asarray(schema.SPC_RULE)[rule_code[mine]]) == list(c.rule), c.values


def test_spc_fast_path_equals_reference_rule_by_rule_with_ties_on_every_line() -> None:
    """Thousands of random series: the vectorised rules equal the per-series reference point for point,
    and the series do exercise every rule both ways, every precedence, and points exactly on each line."""
    rng = np.random.default_rng(20240601)
    seen: Counter[str] = Counter()
    for rule_length in range(2, 9):
        rules = SpecialCauseRules(rule_length)
        baseline = int(rng.integers(2, 13))
        charts = []
        for _ in range(300):
            y, cuts = tied_series(rng, rule_length, baseline)
            charts.append(stats.xmr(y, baseline=baseline, rebase_at=cuts or None, rule_length=rule_length))
        check_fast_path(charts, rules)
        for c in charts:
            count = Counter()
            for attr in FLAGS:
                for way in (1, -1):
                    count[f"{attr} {way:+d}"] = int(np.sum(getattr(c, attr) == way))
            for name in stats.RULES:
                count[f"first {name}"] = int(np.sum(c.rule == name))
            count["several rules"] = int(np.sum(sum((getattr(c, a) != 0).astype(int) for a in FLAGS) >= 2))
            for line in LINES:
                count[f"on {line}"] = int(np.sum((c.values == getattr(c, line)) & (c.mean_moving_range > 0)))
            seen.update(count)
    wanted = [f"{attr} {way:+d}" for attr in FLAGS for way in (1, -1)]
    wanted += [f"first {name}" for name in stats.RULES] + ["several rules"] + [f"on {line}" for line in LINES]
    assert all(seen[what] > 0 for what in wanted), {what: seen[what] for what in wanted}


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 8), st.integers(2, 12),
       st.sampled_from(["high-is-good", "low-is-good", "no-judgement"]), st.sampled_from([None, 0.0, 2.5]))
def test_spc_with_points_exactly_on_the_lines_equals_stats_xmr(seed, rule_length, baseline, polarity,
                                                               target) -> None:
    """The whole pipeline path (limits from grouped reductions, then the vectorised rules) on series with
    points exactly on the limits, two-sigma lines and mean (values as numerator / 1)."""
    rng = np.random.default_rng(seed)
    periods = ref.months(dt.date(2021, 1, 1), 40)
    rows, codes = [], []
    for i in range(int(rng.integers(1, 6))):
        y, _ = tied_series(rng, rule_length, baseline, rebase=False)
        codes.append(f"P{i:03d}")
        rows += [(codes[-1], periods[j], float(v), 1.0) for j, v in enumerate(y)]
    panel = pd.DataFrame(rows, columns=["org_code", "period", "numerator", "denominator"])
    assert_spc_equals_xmr(panel, codes, rule_length, baseline, (), False, target, polarity)


def test_constant_series_is_common_cause_or_as_stats_says() -> None:
    """A flat 10% series: whatever stats.xmr decides (it compares the mean with the values exactly),
    the pipeline decides the same for every organisation at once."""
    periods = ref.months(dt.date(2021, 1, 1), 20)
    rows = pd.DataFrame([(c, p, 1.0, 10.0) for c in ("A", "B") for p in periods],
                        columns=["org_code", "period", "numerator", "denominator"])
    frame, orgs = frame_of(rows, ["A", "B"])
    rows_, columns, _ = spc.compute(frame, frame.denominator > 0, orgs)
    want = stats.xmr(np.full(20, 0.1))
    got = spc_points(frame, orgs, rows_, columns)
    assert list(got[got.org_code == "A"]["special_cause"]) == list(want.special_cause)


# ------------------------------------------------------------------------------------------------- CUSUM


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(st.one_of(st.just(np.nan), st.sampled_from([0.0, 50.0, 100.0]), st.floats(0, 100)),
                 min_size=1, max_size=40),
        min_size=1, max_size=6,
    ).map(lambda rows: [r + [np.nan] * (max(map(len, rows)) - len(r)) for r in rows]),
    st.sampled_from([2, 3, 12]),
    st.sampled_from([1.0, 5.0]),
)
def test_cusum_matrix_equals_stats_per_series(rows, window, sensitivity) -> None:
    x = np.array(rows, dtype=float)
    got = changes.cusum_matrix(x, window, sensitivity)
    for i in range(x.shape[0]):
        want = stats.cusum_alerts(x[i], window=window, sensitivity=sensitivity)
        for name in ("cusum_increase", "cusum_decrease", "reference_mean_increase", "reference_mean_decrease",
                     "threshold_increase", "threshold_decrease"):
            np.testing.assert_array_equal(got[name][i], getattr(want, name), err_msg=name)
        assert list(got["alert"][i]) == list(want.alert)


# ------------------------------------------------------------------------------------------------ funnel


@settings(max_examples=80, deadline=None)
@given(panels(max_orgs=12, max_periods=4), st.sampled_from(["proportion", "rate"]))
def test_funnel_equals_stats_per_cell(panel, measure) -> None:
    rows, codes = panel
    frame, orgs = frame_of(rows, codes, measure=measure)
    rows_, columns, curve, summary = funnel.compute(frame, frame.denominator > 0, points=50)
    u = pd.DataFrame({
        "level": np.asarray(frame.levels, dtype=object)[frame.level[rows_]],
        "org_code": orgs.codes[frame.org[rows_]],
        "period": [np.datetime64(d, "D").astype(dt.date) for d in frame.periods[frame.pidx[rows_]]],
        "value": frame.value[rows_],
        "lower95": columns["funnel_lower95"], "upper95": columns["funnel_upper95"],
        "lower998": columns["funnel_lower998"], "upper998": columns["funnel_upper998"], "z": columns["funnel_z"],
        "band": np.asarray(schema.FUNNEL_BAND, dtype=object)[columns["funnel_band"]],
        "side": np.asarray(schema.FUNNEL_SIDE, dtype=object)[columns["funnel_side"]],
    })
    c = curve.to_pandas()
    s = summary.to_pandas().set_index("period")
    for period, cell in rows.groupby("period"):
        cell = cell.sort_values("org_code")
        want = stats.funnel_limits(cell.numerator.to_numpy(), cell.denominator.to_numpy(), measure=measure,
                                   points=50)
        got = u[(u.period == period) & (u.level == "practice")].sort_values("org_code")
        got = got.assign(value=np.where(got.band == "not compared", np.nan, got.value))
        for col, attr in (("lower95", "lower95"), ("upper95", "upper95"), ("lower998", "lower998"),
                          ("upper998", "upper998"), ("z", "z"), ("value", "value")):
            np.testing.assert_array_equal(got[col].to_numpy(dtype=float, na_value=np.nan), getattr(want, attr),
                                          err_msg=col)
        assert list(got.band) == list(want.band)
        assert list(got.side) == list(want.side)
        row = s.loc[period]
        assert row.benchmark == want.benchmark or (np.isnan(row.benchmark) and np.isnan(want.benchmark))
        assert (np.isnan(row.phi) and np.isnan(want.phi)) or row.phi == want.phi
        assert row.tau2 == want.tau2 and bool(row.overdispersion_adjusted) == want.overdispersion_adjusted
        assert row.method == want.method
        assert (row.warnings if isinstance(row.warnings, str) else "") == "; ".join(want.warnings)
        gc = c[pd.to_datetime(c.period).dt.date == period]
        np.testing.assert_array_equal(gc.denominator.to_numpy(), want.grid)
        for col, attr in (("lower95", "grid_lower95"), ("upper95", "grid_upper95"),
                          ("lower998", "grid_lower998"), ("upper998", "grid_upper998")):
            np.testing.assert_array_equal(gc[col].to_numpy(dtype=float, na_value=np.nan), getattr(want, attr))


# ------------------------------------------------------------------------------------------------ equity


@settings(max_examples=60, deadline=None)
@given(panels(max_orgs=12, max_periods=3), st.data())
def test_equity_equals_stats_per_cell(panel, data) -> None:
    rows, codes = panel
    quintiles = [data.draw(st.one_of(st.none(), st.integers(1, 5))) for _ in codes]
    frame, orgs = frame_of(rows, codes, quintiles=quintiles)
    got = equity.compute(frame, frame.denominator > 0, orgs).to_pandas()
    q_of = dict(zip(codes, quintiles, strict=True))
    expected_periods = 0
    for period, cell in rows.groupby("period"):
        cell = cell.sort_values("org_code")
        q = np.array([np.nan if q_of[c] is None else q_of[c] for c in cell.org_code], dtype=float)
        v = np.where(cell.denominator > 0, cell.numerator / cell.denominator.where(cell.denominator > 0), np.nan)
        n = cell.denominator.to_numpy(dtype=float)
        ok = np.isfinite(v) & (n > 0) & np.isfinite(q)
        if not ok.any() or all(x is None for x in quintiles):
            continue
        expected_periods += 1
        want = stats.slope_index_of_inequality(v[ok], n[ok], q[ok], measure=str(frame.indicator.measure),
                                               simulations=equity.SIMULATIONS)
        row = got[pd.to_datetime(got.period).dt.date == period].iloc[0]
        for col, val in (("sii", want.sii), ("rii", want.rii), ("intercept", want.intercept)):
            assert (np.isnan(row[col]) and np.isnan(val)) or row[col] == val, col
        for col in ("sii_ci95_low", "sii_ci95_high", "rii_ci95_low", "rii_ci95_high"):  # the same draws
            val = getattr(want, col)
            assert (np.isnan(row[col]) and np.isnan(val)) or row[col] == pytest.approx(val, rel=1e-12), col
    assert len(got) == expected_periods


# ------------------------------------------------------------------------------------------------- peers


@settings(max_examples=150, deadline=None)
@given(
    st.integers(2, 15).flatmap(
        lambda n: st.tuples(
            st.lists(st.one_of(st.just(np.nan), st.sampled_from([0.2, 0.5]), st.floats(0, 1)),
                     min_size=n * 3, max_size=n * 3),
            st.lists(st.tuples(st.floats(0, 50), st.floats(0, 1e5)), min_size=n, max_size=n),
        )
    ),
    st.sampled_from(["high-is-good", "low-is-good"]),
    st.sampled_from([1, 5]),
)
def test_peer_benchmark_matrix_equals_stats_per_period(case, polarity, best) -> None:
    flat, features = case
    n = len(features)
    values = np.array(flat, dtype=float).reshape(n, 3)
    codes = np.array([f"X{i:02d}" for i in range(n)])
    match = stats.similar_peers(np.array(features), codes, k=10)
    got = peers.peer_benchmark_matrix(values, match.peer_index, polarity, best)
    for t in range(3):
        want = stats.peer_benchmark(values[:, t], match, polarity, best=best)
        np.testing.assert_array_equal(got[:, t], want)


@pytest.mark.parametrize("lengths", [[1, 2, 3], [5, 5, 5], [0, 4, 0, 9]])
def test_reduce_groups_matches_one_group_at_a_time(lengths) -> None:
    rng = np.random.default_rng(0)
    lengths = np.array(lengths, dtype=np.int64)
    starts = (np.cumsum(lengths) - lengths).astype(np.int64)
    values = rng.random(int(lengths.sum())) * 1e3
    got = grouped.reduce_groups(values, starts, lengths, lambda b: b.mean(axis=1))
    for g, (s, n) in enumerate(zip(starts, lengths, strict=True)):
        if n:
            assert got[g] == values[s : s + n].mean()
        else:
            assert np.isnan(got[g])


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 40).flatmap(
        lambda n: st.tuples(
            st.lists(st.lists(st.sampled_from([0.0, 1.0, 2.0, 7.5, 100.0]) | st.floats(0, 1e4), min_size=3,
                              max_size=3), min_size=n, max_size=n),
            st.permutations(list(range(n))),
        )
    ),
    st.sampled_from([1, 3, 10]),
    st.sampled_from([(1.0, 1.0, 1.0), (0.5, 2.0, 1.0)]),
)
def test_similar_peers_equals_stats(case, k, weights) -> None:
    rows, order = case
    x = np.array(rows, dtype=float)
    codes = np.array([f"C{i:03d}" for i in order])
    got_index, got_distance = peers.similar_peers(x, codes, k, np.array(weights))
    want = stats.similar_peers(x, codes, k=k, weights=weights)
    np.testing.assert_array_equal(got_index, want.peer_index)
    np.testing.assert_array_equal(got_distance, want.distance)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1e7) | st.sampled_from([0.0, 1e-12, 0.5, 1.0, 3.0]), min_size=1, max_size=50),
       st.sampled_from([0.001, 0.025, 0.975, 0.999]))
def test_poisson_ppf_equals_scipy(mu, p) -> None:
    from scipy.stats import poisson

    mu = np.array(mu)
    np.testing.assert_array_equal(funnel.poisson_ppf(p, mu), poisson.ppf(p, mu))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), min_size=1, max_size=40),
    st.sampled_from([np.nan, 0.0, 0.2, 0.5, 1.0]),
    st.sampled_from(["high-is-good", "low-is-good", "no-judgement"]),
)
def test_comparison_codes_equal_stats_compare_to_benchmark(counts, benchmark, polarity) -> None:
    from uptake.pipeline import values

    x = np.array([min(a, b) for a, b in counts], dtype=float)
    n = np.array([max(a, b) for a, b in counts], dtype=float)
    lo, hi = stats.wilson(x, n, 0.95)
    lo2, hi2 = stats.wilson(x, n, 0.998)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where(n > 0, x / n, np.nan)
    bench = np.full(x.shape, benchmark)
    got = values.comparison_codes(v, lo, hi, lo2, hi2, bench, polarity)
    want = stats.compare_to_benchmark(v, lo, hi, lo2, hi2, bench, polarity)
    assert [schema.COMPARISON[c] for c in got] == list(want)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 300), st.integers(0, 300)), min_size=1, max_size=40),
    st.sampled_from([np.nan, 0.0, 0.2, 0.5, 1.0]),
    st.sampled_from([0.0, 1e-4, 0.003, 0.05]),
    st.sampled_from(["high-is-good", "low-is-good", "no-judgement"]),
    st.sampled_from(["proportion", "rate"]),
)
def test_random_effects_codes_equal_stats_compare_random_effects(counts, benchmark, tau2, polarity, measure) -> None:
    from uptake.pipeline import values

    x = np.array([min(a, b) for a, b in counts], dtype=float)
    n = np.array([max(a, b) for a, b in counts], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where(n > 0, x / n, np.nan)
    bench = np.full(x.shape, benchmark)
    got = values.random_effects_codes(v, n, bench, np.full(x.shape, tau2), polarity, measure)
    want = stats.compare_random_effects(v, n, bench, tau2, polarity, measure)
    assert [schema.COMPARISON[c] for c in got] == list(want)


@settings(max_examples=60, deadline=None)
@given(panels(max_orgs=12, max_periods=4), st.sampled_from(["proportion", "rate"]),
       st.sampled_from(["high-is-good", "low-is-good"]))
def test_the_comparison_with_england_is_the_funnel_band_when_over_dispersed(panel, measure, polarity) -> None:
    """Practices only, so the funnel's centre is England's value: wherever the funnel is over-dispersed the
    comparison is its band (best / worst beyond 99.8%, better / worse between, similar within) on the same side,
    and elsewhere the plain interval's judgement."""
    from uptake.pipeline import values

    rows, codes = panel
    if rows.empty:
        return
    frame, _ = frame_of(rows, codes, measure=measure, polarity=polarity)
    cols = values.compute(frame)
    usable = ~np.isnan(cols.ci95_low) & frame.eligible
    judged, plain, method = values.comparison(frame, cols)
    f_rows, f_cols, _, summary = funnel.compute(frame, usable, 10)
    adjusted = {d: a for d, a in zip(summary.column("period").to_pylist(),
                                     summary.column("overdispersion_adjusted").to_pylist(), strict=True)}
    good, bad = ("high", "low") if polarity == "high-is-good" else ("low", "high")
    expected = {("beyond 99.8%", good): "best", ("beyond 99.8%", bad): "worst",
                ("between 95% and 99.8%", good): "better", ("between 95% and 99.8%", bad): "worse",
                ("within 95%", ""): "similar", ("not compared", ""): "not compared"}
    for j, row in enumerate(f_rows):
        period = frame.periods[frame.pidx[row]].astype(object)
        words = schema.COMPARISON[judged[row]]
        if adjusted[period] and words != "not compared":
            band = schema.FUNNEL_BAND[f_cols["funnel_band"][j]], schema.FUNNEL_SIDE[f_cols["funnel_side"][j]]
            assert words == expected[band], (period, band, words)
            assert schema.COMPARISON_METHOD[method[row]] == "random-effects"
        else:
            assert judged[row] == plain[row]
            if words not in ("not compared", "not eligible"):
                assert schema.COMPARISON_METHOD[method[row]] == "interval"
