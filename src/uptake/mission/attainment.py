"""Attainment: how each organisation in scope stands against each NSF commitment in each period.

Pure and vectorised: result frames in (``result_values``, ``result_spc``, ``result_peers``), a frame out
(``result_attainment``). For one commitment, organisation and period, with the value v and its 95%
interval [lo, hi] (written here for a high-is-good indicator; mirrored for low-is-good), the standard in
force m (the minimum standard before the deadline, the target from the deadline on), the trajectory r
and the target T (m <= r <= T), the status is the first that holds of:

=====  =====================  ==============================================================
rank   status                 when
=====  =====================  ==============================================================
5      met                    v >= T (the target is reached)
4      on-trajectory          lo >= r (clearly at or above the trajectory)
3      not-distinguishable    lo < r <= hi (compared_with: trajectory, or target after the deadline)
0      missed                 hi < m (clearly below the standard in force)
1      not-distinguishable    lo < m <= hi (compared_with: minimum standard)
2      off-trajectory         m <= lo and hi < r (clearly between the standard and the trajectory)
=====  =====================  ==============================================================

An organisation whose interval straddles the standard or the trajectory point is "not distinguishable"
from it, never "missed" or "off trajectory" (issue 5). The rank orders the statuses so that raising an
organisation's value (and with it its interval) never lowers its rank: tests/test_mission_attainment.py
checks this property with Hypothesis. Without an interval (no denominator) the value is its own interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from uptake.catalogue import Catalogue
from uptake.catalogue.schemas import Polarity
from uptake.levels import Level
from uptake.mission.schemas import Framework
from uptake.mission.trajectory import deadline_passed, period_end, rating_year, trajectory_points, trajectory_value

MISSED, ND_STANDARD, OFF, ND_TRAJECTORY, ON, MET = range(6)
STATUS = {
    MISSED: "missed",
    ND_STANDARD: "not-distinguishable",
    OFF: "off-trajectory",
    ND_TRAJECTORY: "not-distinguishable",
    ON: "on-trajectory",
    MET: "met",
}
STATUSES = ("met", "on-trajectory", "not-distinguishable", "off-trajectory", "missed")

#: Columns of result_attainment, in order (see docs/mission.md).
COLUMNS: tuple[str, ...] = (
    "framework", "framework_version", "commitment", "indicator", "level", "org_code", "org_name", "period",
    "as_of", "rating_year", "value", "ci95_low", "ci95_high", "minimum_standard", "standard_in_force",
    "trajectory_value", "target", "deadline", "deadline_passed", "status", "compared_with", "rank",
    "distance_to_trajectory", "distance_to_target", "distance_to_standard", "below_minimum",
    "periods_below_minimum", "comparison", "assurance", "peers_assessed", "peers_met", "synthetic",
)


def classify(
    value: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    standard: np.ndarray,
    trajectory: np.ndarray,
    target: np.ndarray,
    *,
    high_is_good: bool = True,
) -> np.ndarray:
    """The attainment rank (0-5, see the module docstring) of each row. Low-is-good rows are mirrored."""
    v, lo, hi = (np.asarray(a, dtype=float) for a in (value, low, high))
    m, r, t = (np.asarray(a, dtype=float) for a in (standard, trajectory, target))
    lo = np.where(np.isnan(lo), v, lo)
    hi = np.where(np.isnan(hi), v, hi)
    if not high_is_good:  # mirror: higher is now better
        v, lo, hi, m, r, t = -v, -hi, -lo, -m, -r, -t
    return np.select(
        [v >= t, lo >= r, hi >= r, hi < m, lo < m],
        [MET, ON, ND_TRAJECTORY, MISSED, ND_STANDARD],
        default=OFF,
    ).astype(np.int8)


def compute_attainment(
    frameworks: list[Framework],
    catalogue: Catalogue,
    values: pd.DataFrame,
    *,
    spc: pd.DataFrame | None = None,
    peers: pd.DataFrame | None = None,
    organisations: pd.DataFrame | None = None,
    rating_year_start_month: int = 4,
) -> pd.DataFrame:
    """Attainment of every commitment of `frameworks`, for every organisation in scope and period.

    values: result_values (indicator, level, org_code, org_name, period, value, ci95_low, ci95_high,
        comparison, synthetic). spc: result_spc (indicator, level, org_code, period, upper_limit,
        lower_limit), for the assurance of each point against the standard in force. peers: result_peers
        (level, org_code, peer_code), for how many similar organisations met the commitment.
        organisations: (code, level, trust_type), needed only for commitments scoped by trust type.
    """
    parts = [
        _commitment_rows(framework, commitment_index, catalogue, values, organisations, rating_year_start_month)
        for framework in frameworks
        for commitment_index in range(len(framework.commitments))
    ]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return _empty()
    frame = pd.concat(parts, ignore_index=True)
    frame = _below_minimum_streaks(frame, values)
    frame = _assurance(frame, spc)
    frame = _peer_counts(frame, peers)
    frame = frame.sort_values(["framework", "commitment", "level", "org_code", "period"], kind="stable")
    return frame[list(COLUMNS)].reset_index(drop=True)


def _synthetic(rows: pd.DataFrame, catalogue_says: bool) -> np.ndarray:
    if "synthetic" not in rows:
        return np.full(len(rows), catalogue_says)
    return rows["synthetic"].astype("boolean").fillna(False).to_numpy(dtype=bool) | catalogue_says


def _empty() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=object) for name in COLUMNS})


def _commitment_rows(
    framework: Framework,
    index: int,
    catalogue: Catalogue,
    values: pd.DataFrame,
    organisations: pd.DataFrame | None,
    start_month: int,
) -> pd.DataFrame:
    c = framework.commitments[index]
    indicator = catalogue.indicator(c.indicator)
    start = pd.Timestamp(framework.commitment_start(c))
    periods = pd.to_datetime(values["period"])
    keep = (
        (values["indicator"] == c.indicator)
        & values["level"].isin([lv.value for lv in c.scope.levels])
        & (periods >= start)
        & (periods <= pd.Timestamp(framework.end))
        & values["value"].notna()
    )
    if "comparison" in values:  # an organisation that does not provide the service is not held to it
        keep &= values["comparison"] != "not eligible"
    rows = values.loc[keep].copy()
    if c.scope.org_types is not None and not rows.empty:
        if organisations is None:
            raise ValueError(f"commitment {c.id} is scoped by trust type: pass the organisations frame")
        typed = organisations.loc[organisations["trust_type"].isin(c.scope.org_types), ["code", "level"]]
        typed = set(zip(typed["code"], typed["level"], strict=True))
        is_trust = rows["level"] == Level.TRUST.value
        rows = rows.loc[~is_trust | pd.Series([k in typed for k in zip(rows["org_code"], rows["level"], strict=True)],
                                              index=rows.index)]
    if rows.empty:
        return rows
    rows["period"] = pd.to_datetime(rows["period"])
    as_of = period_end(rows["period"].to_numpy(), indicator.period).to_numpy()
    passed = deadline_passed(c, as_of)
    trajectory = trajectory_value(trajectory_points(framework, c), as_of)
    standard = np.where(passed, c.target, c.minimum_standard)
    target = np.full(len(rows), c.target)
    high = indicator.polarity != Polarity.LOW_IS_GOOD
    v = rows["value"].to_numpy(dtype=float)
    lo = rows["ci95_low"].to_numpy(dtype=float)
    hi = rows["ci95_high"].to_numpy(dtype=float)
    rank = classify(v, lo, hi, standard, trajectory, target, high_is_good=high)
    sign = 1.0 if high else -1.0
    upper = np.where(np.isnan(hi), v, hi) if high else -np.where(np.isnan(lo), v, lo)
    below_minimum = upper < sign * c.minimum_standard
    compared = np.select(
        [rank == ND_STANDARD, (rank == ND_TRAJECTORY) & passed, rank == ND_TRAJECTORY],
        ["minimum standard", "target", "trajectory"],
        default="",
    )
    out = pd.DataFrame({
        "framework": framework.id,
        "framework_version": framework.version,
        "commitment": c.id,
        "indicator": c.indicator,
        "level": rows["level"].to_numpy(),
        "org_code": rows["org_code"].to_numpy(),
        "org_name": rows["org_name"].to_numpy() if "org_name" in rows else None,
        "period": rows["period"].dt.date.to_numpy(),
        "as_of": pd.to_datetime(as_of).date,
        "rating_year": rating_year(pd.Series(as_of), start_month).dt.date.to_numpy(),
        "value": v,
        "ci95_low": lo,
        "ci95_high": hi,
        "minimum_standard": c.minimum_standard,
        "standard_in_force": standard,
        "trajectory_value": trajectory,
        "target": c.target,
        "deadline": c.deadline,
        "deadline_passed": passed,
        "status": np.array([STATUS[int(k)] for k in range(6)], dtype=object)[rank],
        "compared_with": np.where(compared == "", None, compared),
        "rank": rank,
        "distance_to_trajectory": sign * (v - trajectory),
        "distance_to_target": sign * (v - c.target),
        "distance_to_standard": sign * (v - standard),
        "below_minimum": below_minimum,
        "comparison": rows["comparison"].to_numpy() if "comparison" in rows else None,
        # synthetic when the row's data are, or the catalogue says the indicator is (either is enough)
        "synthetic": _synthetic(rows, indicator.synthetic),
        "_high": high,
    })
    return out


def _below_minimum_streaks(frame: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """periods_below_minimum: how many consecutive periods, ending at this one, the organisation has been
    clearly below the minimum standard (a missing period breaks the run)."""
    index = (
        values[["indicator", "period"]].drop_duplicates()
        .assign(period=lambda d: pd.to_datetime(d["period"]).dt.date)
        .sort_values(["indicator", "period"])
    )
    index["position"] = index.groupby("indicator").cumcount()
    frame = frame.merge(index, on=["indicator", "period"], how="left")
    frame = frame.sort_values(["framework", "commitment", "level", "org_code", "period"], kind="stable")
    key = frame["framework"] + "\x1f" + frame["commitment"] + "\x1f" + frame["level"] + "\x1f" + frame["org_code"]
    below = frame["below_minimum"].to_numpy(dtype=bool)
    new_series = (key != key.shift()).to_numpy()
    gap = (frame["position"].diff() != 1).to_numpy()
    starts = new_series | gap | (below != np.roll(below, 1))
    run = np.cumsum(starts)
    length = pd.Series(1, index=frame.index).groupby(run).cumsum().to_numpy()
    frame["periods_below_minimum"] = np.where(below, length, 0).astype(np.int64)
    return frame.drop(columns="position")


def _assurance(frame: pd.DataFrame, spc: pd.DataFrame | None) -> pd.DataFrame:
    """Making Data Count assurance of each point against the standard in force, from the SPC chart's process
    limits at that point: the standard beyond the limits on the bad side = consistently-fail, on the good
    side = consistently-pass, between them = hit-and-miss (the pipeline's SPC icons use the same test)."""
    if spc is None or spc.empty:
        frame["assurance"] = None
        return frame
    limits = spc[["indicator", "level", "org_code", "period", "upper_limit", "lower_limit"]].copy()
    limits["period"] = pd.to_datetime(limits["period"]).dt.date
    frame = frame.merge(limits, on=["indicator", "level", "org_code", "period"], how="left")
    sign = np.where(frame["_high"].to_numpy(dtype=bool), 1.0, -1.0)
    standard = sign * frame["standard_in_force"].to_numpy(dtype=float)
    good_limit = np.where(sign > 0, frame["lower_limit"], -frame["upper_limit"]).astype(float)
    bad_limit = np.where(sign > 0, frame["upper_limit"], -frame["lower_limit"]).astype(float)
    has = ~np.isnan(good_limit) & ~np.isnan(bad_limit)
    assurance = np.select(
        [~has, standard >= bad_limit, standard <= good_limit],
        [None, "consistently-fail", "consistently-pass"],
        default="hit-and-miss",
    )
    frame["assurance"] = assurance
    return frame.drop(columns=["upper_limit", "lower_limit"])


def _peer_counts(frame: pd.DataFrame, peers: pd.DataFrame | None) -> pd.DataFrame:
    """peers_assessed / peers_met: of the organisation's similar peers (result_peers), how many have an
    attainment for the same commitment and period, and how many of them met it."""
    if peers is None or peers.empty:
        frame["peers_assessed"] = 0
        frame["peers_met"] = 0
        return frame
    key = ["framework", "commitment", "level", "period"]
    links = peers[["level", "org_code", "peer_code"]]
    mine = frame[key + ["org_code"]].merge(links, on=["level", "org_code"], how="inner")
    theirs = frame[key + ["org_code", "status"]].rename(columns={"org_code": "peer_code", "status": "peer_status"})
    joined = mine.merge(theirs, on=key + ["peer_code"], how="inner")
    joined["met"] = (joined["peer_status"] == "met").astype(np.int64)
    counts = joined.groupby(key + ["org_code"], as_index=False).agg(
        peers_assessed=("met", "size"), peers_met=("met", "sum")
    )
    frame = frame.merge(counts, on=key + ["org_code"], how="left")
    frame["peers_assessed"] = frame["peers_assessed"].fillna(0).astype(np.int64)
    frame["peers_met"] = frame["peers_met"].fillna(0).astype(np.int64)
    return frame
