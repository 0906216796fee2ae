"""Bass forecasts for every organisation's series of one indicator: pooled fits, intervals, trajectories,
time to a target, the chance of meeting a deadline, and adopter categories from the fitted curves.

Method (docs/forecasts.md says the same in words):

1. **Time origin.** One per indicator, from England's series: the Bass curve starts at take-off, and most
   bundled series start later (DOACs: 46% of items in October 2017). England's curve is fitted with its
   origin moved back 0, 3, 6, ..., 240 months before the first period (every shift is a "series" of one
   batch fit) and the latest origin whose sum of squares is within 10% of the best is kept (a series that
   starts after take-off fits almost as well with many origins: parsimony takes the nearest). Every organisation's curve is then
   ``y(t) = m F(t; p, q)`` with ``t`` the months since that origin, so (m, p, q) are comparable across
   organisations, and a late or early start shows as a low or high p.
2. **Unpooled fits** of every series of a level (uptake.models.forecasts.fitting, all at once).
3. **Pooling: empirical-Bayes shrinkage** of theta = (logit(m / cap), ln p, ln q) towards the parent's
   fit: the ICB's for sub-ICB locations, practices, PCNs, trusts and stroke units whose ICB has a fitted
   curve; England's otherwise (regions, ICBs, ISDNs, and organisations whose ICB has none). The prior is
   ``theta_i ~ N(theta_parent(i), diag(tau^2))``; tau^2 per parameter is estimated by the method of moments
   from the level's unpooled fits: the robust variance (1.4826 x MAD)^2 of theta_i - theta_parent(i) less
   the median squared standard error, floored at ``TAU2_FLOOR`` (a level with fewer than ``MIN_FOR_TAU``
   fitted series uses ``TAU2_FEW``). Each series is then refitted to its posterior mode (a penalised least
   squares: the prior weight is sigma_i^2 / tau^2). A short or noisy series has little information and
   stays near its parent's curve; a long clean one keeps its own. ``data_weight`` reports, averaged over
   the three parameters, the share of the posterior precision that comes from the series' own data.
4. **Intervals: Laplace approximation with draws.** The posterior of theta_i is approximated by a normal
   at the mode with covariance (J'J / s_i^2 + diag(1 / tau^2))^-1, where s_i^2 is the residual variance
   inflated for autocorrelation by (1 + r) / (1 - r) (r: lag-1 autocorrelation of the residuals, floored at
   0, capped at 0.9). ``DRAWS`` draws of theta per series (fewer for a level of thousands: ``MAX_DRAWN``),
   all series at once, give each parameter's 95%
   interval, the curve's and the dates'; the forecast band adds the series' own noise N(0, sigma_i^2) to
   each curve draw (a 95% prediction interval: where next months' values should fall).
5. **Time to target** (the earliest date the fitted curve reaches a commitment's target: the inverse of
   F, uptake.stats.bass.bass_time_to_fraction, never if the target is at or above m), its 95% interval
   from the draws, and the **probability of meeting the deadline**: the share of draws whose curve reaches
   the target by the deadline.
6. **Adopter categories from the fitted curve**: each organisation's fitted adoption date (its curve
   reaching the indicator's adoption threshold, projected for those not there yet), cut into Rogers'
   categories (uptake.stats.diffusion, normal mode) over every organisation of the level whose curve
   reaches the threshold; beside it, the Rogers category of its observed first adoption (result_adoption).

A series with fewer than ``MIN_POINTS`` values has no curve (status "too short"). Indicators where low is
good are not uptake curves and are not fitted (status "not an uptake curve").
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from uptake.levels import ENGLAND_CODE, Level
from uptake.models.forecasts.fitting import A_BOUNDS, B_BOUNDS, C_BOUNDS, BatchFit, bass_curve, fit_batch, to_natural
from uptake.stats.bass import bass_time_to_fraction
from uptake.stats.diffusion import adopter_categories

__all__ = ["MIN_POINTS", "DRAWS", "Commitment", "IndicatorForecast", "forecast_indicator", "month_index",
           "from_month_index", "STATUS_FITTED", "STATUS_TOO_SHORT", "STATUS_NO_NATIONAL", "STATUS_NOT_UPTAKE"]

#: fewer values than this: no curve
MIN_POINTS = 6
#: draws of the parameters per series (intervals, band, dates, probabilities)
DRAWS = 200
#: the most curve values drawn for one level (series x draws x months): a level beyond it (thousands of
#: practices) gets fewer draws per series, never fewer than MIN_DRAWS (its band is calibrated all the same)
MAX_DRAWN = 20_000_000
MIN_DRAWS = 50
#: the furthest the origin may lie before the first period, in months
MAX_ORIGIN_SHIFT = 240
#: the origin is searched in steps of this many months (or the indicator's period, if longer)
ORIGIN_STEP = 3
#: the origin kept: the latest whose fit's sum of squares is within this share of the best one's
ORIGIN_TOLERANCE = 0.10
#: tau^2 floor, and the tau^2 used where a level has too few fitted series to estimate it
TAU2_FLOOR = 0.01
TAU2_FEW = 1.0
MIN_FOR_TAU = 5
#: fewer held-out values than this at a level (up to a horizon): its band factor is every level's
MIN_RATIOS = 5
#: forecast horizon: this many months past the last period at least (further, to the latest deadline)
HORIZON_MONTHS = 36
MAX_HORIZON_MONTHS = 120
#: a fixed seed: the same results give the same forecasts
SEED = 20260101

STATUS_FITTED = "fitted"
STATUS_TOO_SHORT = "too short"
STATUS_NO_NATIONAL = "no national curve"
STATUS_NOT_UPTAKE = "not an uptake curve"

#: levels whose parent is their ICB (when the ICB has a curve)
_UNDER_ICB = {Level.SUB_ICB.value, Level.PCN.value, Level.PRACTICE.value, Level.TRUST.value,
              Level.STROKE_UNIT.value}
_LEVEL_ORDER = [Level.ENGLAND.value, Level.REGION.value, Level.ICB.value, Level.ISDN.value]

F64 = NDArray[np.float64]


def month_index(dates: pd.Series | list | np.ndarray) -> NDArray[np.int64]:
    """Months since January of year 0: 12 * year + month - 1."""
    d = pd.DatetimeIndex(pd.to_datetime(pd.Series(dates)))
    return (d.year.to_numpy() * 12 + d.month.to_numpy() - 1).astype(np.int64)


def from_month_index(months: F64) -> list[dt.date | None]:
    """The first day of the month a (fractional) month index falls in; None for inf or NaN."""
    out: list[dt.date | None] = []
    for value in np.asarray(months, float).ravel():
        if not np.isfinite(value) or value > 12 * 9998:
            out.append(None)
            continue
        whole = int(np.floor(value))
        out.append(dt.date(whole // 12, whole % 12 + 1, 1))
    return out


@dataclass(frozen=True)
class Commitment:
    """A target with a deadline for some organisations of one indicator (from result_attainment)."""

    framework: str
    commitment: str
    level: str
    target: float
    deadline: dt.date
    org_codes: tuple[str, ...] = ()
    synthetic: bool = False


@dataclass
class IndicatorForecast:
    """The three result frames of one indicator (columns of uptake.results.schema's FORECAST_FITS,
    FORECASTS and FORECAST_TARGETS, without the indicator column), and the origin."""

    fits: pd.DataFrame
    trajectories: pd.DataFrame
    targets: pd.DataFrame
    origin: dt.date | None
    notes: list[str] = field(default_factory=list)
    #: the calibration's band factors per step ahead, by level ("*": all levels) (None: not calibrated)
    band_scale: dict[str, F64] | None = None


@dataclass
class _Level:
    """One level's series on the indicator's period grid."""

    level: str
    codes: list[str]
    y: F64  # (S, T)
    w: F64  # (S, T)


def _pivot(values: pd.DataFrame, months: NDArray[np.int64]) -> dict[str, _Level]:
    col = {int(m): i for i, m in enumerate(months)}
    out: dict[str, _Level] = {}
    for level, part in values.groupby("level", sort=False):
        codes = sorted(part["org_code"].unique())
        row = {c: i for i, c in enumerate(codes)}
        y = np.full((len(codes), len(months)), np.nan)
        r = part["org_code"].map(row).to_numpy()
        c = np.array([col[int(m)] for m in month_index(part["period"])])
        y[r, c] = part["value"].to_numpy(float)
        out[str(level)] = _Level(str(level), codes, y, np.isfinite(y).astype(float))
    return out


def _residual_stats(fit: BatchFit, t: F64, y: F64, w: F64) -> tuple[F64, F64]:
    """Residual variance (SSE / (n - 3), floored) and the autocorrelation inflation (1 + r) / (1 - r)."""
    m, p, q = fit.m, fit.p, fit.q
    r = np.where(w > 0, np.nan_to_num(y) - bass_curve(t, m, p, q), np.nan)
    dof = np.maximum(fit.points - 3, 1)
    var = np.maximum(fit.sse / dof, 1e-8)
    centred = r - np.nanmean(np.where(np.isnan(r), np.nan, r), axis=1, keepdims=True) if r.size else r
    with np.errstate(invalid="ignore", divide="ignore"):
        num = np.nansum(centred[:, 1:] * centred[:, :-1], axis=1)
        den = np.nansum(centred * centred, axis=1)
        rho = np.where(den > 0, num / den, 0.0)
    rho = np.clip(np.nan_to_num(rho), 0.0, 0.9)
    return var, (1.0 + rho) / (1.0 - rho)


def _posterior_cov(fit: BatchFit, var_eff: F64, tau2: F64 | None) -> F64:
    precision = fit.normal / var_eff[:, None, None]
    if tau2 is not None:
        precision = precision + np.eye(3)[None] / tau2[:, None, :]
    precision = precision + np.eye(3)[None] * 1e-6  # a parameter the data do not determine: wide, finite
    cov = np.linalg.pinv(precision, hermitian=True)
    return 0.5 * (cov + np.transpose(cov, (0, 2, 1)))


def _draws(theta: F64, cov: F64, rng: np.random.Generator, n: int) -> F64:
    """(S, n, 3) draws of N(theta, cov) per series."""
    vals, vecs = np.linalg.eigh(cov)
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))[:, None, :]
    z = rng.standard_normal((theta.shape[0], n, 3))
    out = theta[:, None, :] + np.einsum("skl,snl->snk", root, z)
    low = np.array([A_BOUNDS[0], B_BOUNDS[0], C_BOUNDS[0]])
    high = np.array([A_BOUNDS[1], B_BOUNDS[1], C_BOUNDS[1]])
    return np.clip(out, low, high)  # a draw outside the fit's bounds is held at them, as the fit is


def _tau2(theta: F64, parent: F64, cov: F64, ok: NDArray[np.bool_]) -> F64:
    if ok.sum() < MIN_FOR_TAU:
        return np.full(3, TAU2_FEW)
    diff = theta[ok] - parent[ok]
    mad = np.median(np.abs(diff - np.median(diff, axis=0)), axis=0)
    se2 = np.median(np.einsum("skk->sk", cov[ok]), axis=0)
    return np.maximum((1.4826 * mad) ** 2 - se2, TAU2_FLOOR)


@dataclass
class _Fitted:
    codes: list[str]
    theta: F64  # (S, 3)
    cov: F64  # (S, 3, 3)
    sigma2: F64  # (S,) residual variance (prediction noise)
    points: NDArray[np.int64]
    first: NDArray[np.int64]  # column of the first value
    last: NDArray[np.int64]
    data_weight: F64
    parent_level: list[str | None]
    parent_code: list[str | None]
    converged: NDArray[np.bool_]


def _origin_shift(t0: F64, y: F64, w: F64, cap: float, step: int) -> int:
    shifts = np.arange(0, MAX_ORIGIN_SHIFT + 1, max(step, ORIGIN_STEP), dtype=float)
    n = shifts.size
    fit = fit_batch(t0[None, :] + shifts[:, None], np.repeat(y[None, :], n, 0), np.repeat(w[None, :], n, 0),
                    cap=np.full(n, cap))
    sse = np.where(fit.converged, fit.sse, np.inf)
    if not np.isfinite(sse).any():
        sse = fit.sse
    # the latest origin (smallest shift) whose fit is within ORIGIN_TOLERANCE of the best: a series that
    # starts well after take-off fits nearly as well with many origins, and the sum of squares keeps
    # creeping down as the origin moves back; parsimony keeps the nearest one that fits about as well
    best = np.nanmin(sse)
    return int(shifts[np.argmax(sse <= best * (1 + ORIGIN_TOLERANCE) + 1e-15)])


def _fit_level(lv: _Level, t: F64, cap: float, parent_theta: F64 | None,
               parent_level: list[str | None], parent_code: list[str | None]) -> _Fitted:
    points = (lv.w > 0).sum(axis=1)
    tt = np.broadcast_to(t, lv.y.shape)
    has = lv.w > 0
    first = np.where(has.any(axis=1), has.argmax(axis=1), -1)
    last = np.where(has.any(axis=1), has.shape[1] - 1 - has[:, ::-1].argmax(axis=1), -1)
    caps = np.full(len(lv.codes), cap)
    raw = fit_batch(tt, lv.y, lv.w, cap=caps)
    var, inflate = _residual_stats(raw, tt, lv.y, lv.w)
    if parent_theta is None:
        cov = _posterior_cov(raw, var * inflate, None)
        return _Fitted(lv.codes, raw.theta, cov, var, points, first, last, np.ones(len(lv.codes)),
                       parent_level, parent_code, raw.converged)
    raw_cov = _posterior_cov(raw, var * inflate, None)
    ok = raw.converged & (points >= MIN_POINTS)
    tau2 = _tau2(raw.theta, parent_theta, raw_cov, ok)
    prior_weight = (var * inflate)[:, None] / tau2[None, :]
    pooled = fit_batch(tt, lv.y, lv.w, cap=caps, start=raw.theta, prior_mean=parent_theta,
                       prior_weight=prior_weight)
    var2, inflate2 = _residual_stats(pooled, tt, lv.y, lv.w)
    var_eff = np.maximum(var2 * inflate2, var * inflate)
    tau2_rows = np.broadcast_to(tau2, (len(lv.codes), 3))
    cov = _posterior_cov(pooled, var_eff, tau2_rows)
    data_prec = np.einsum("skk->sk", pooled.normal) / var_eff[:, None]
    weight = (data_prec / (data_prec + 1.0 / tau2[None, :])).mean(axis=1)
    return _Fitted(lv.codes, pooled.theta, cov, var2, points, first, last, weight, parent_level, parent_code,
                   pooled.converged)


def forecast_indicator(
    values: pd.DataFrame,
    *,
    cap: float = 1.0,
    icb_of: dict[tuple[str, str], str] | None = None,
    commitments: list[Commitment] = (),  # type: ignore[assignment]
    adoption_threshold: float | None = None,
    polarity: str = "high-is-good",
    synthetic: bool = False,
    draws: int = DRAWS,
    horizon_to: dt.date | None = None,
    seed: int = SEED,
    calibrate: bool = True,
) -> IndicatorForecast:
    """Pooled Bass fits and forecasts of one indicator.

    values: rows (level, org_code, period, value) with value on the 0-1 scale for a proportion (NaN or
    absent: no value); England is level "england", code "ENG". cap: the most m may be (1 for a proportion).
    icb_of: (level, org_code) -> the organisation's ICB code (for the pooling parent). commitments: targets
    and deadlines to compute the time to target and the probability for. horizon_to: forecast at least
    to this date. calibrate: widen the forecast band by the errors of a forecast made within the data
    (``calibration``).
    """
    values = values.loc[np.isfinite(values["value"].to_numpy(float))].copy()
    values["period"] = pd.to_datetime(values["period"]).dt.date  # one type for every join below
    periods = np.sort(values["period"].unique())
    empty = _empty_frames()
    if len(periods) == 0:
        return IndicatorForecast(*empty, origin=None, notes=["no values"])
    months = month_index(periods)
    step = int(np.median(np.diff(months))) if len(months) > 1 else 12
    levels = _pivot(values, months)
    notes: list[str] = []
    if polarity == "low-is-good":
        fits = _status_rows(levels, STATUS_NOT_UPTAKE, synthetic, periods)
        return IndicatorForecast(fits, empty[1], empty[2], origin=None,
                                 notes=["low is good: not an uptake curve, not fitted"])
    national = levels.get(Level.ENGLAND.value)
    if national is None or int((national.w > 0).sum()) < MIN_POINTS:
        fits = _status_rows(levels, STATUS_NO_NATIONAL if national is None else STATUS_TOO_SHORT, synthetic,
                            periods)
        return IndicatorForecast(fits, empty[1], empty[2], origin=None,
                                 notes=["England's series is missing or too short: no origin, no curves"])
    rel = (months - months[0]).astype(float)
    shift = _origin_shift(rel, national.y[0], national.w[0], cap, step)
    origin_month = int(months[0]) - shift
    t = (months - origin_month).astype(float)[None, :]

    fitted: dict[str, _Fitted] = {}
    theta_of: dict[tuple[str, str], F64] = {}
    order = sorted(levels, key=lambda lv: (_LEVEL_ORDER.index(lv) if lv in _LEVEL_ORDER else len(_LEVEL_ORDER), lv))
    eng_theta: F64 | None = None
    for level in order:
        lv = levels[level]
        long_enough = (lv.w > 0).sum(axis=1) >= MIN_POINTS
        if not long_enough.any():
            continue
        sub = _Level(level, [c for c, k in zip(lv.codes, long_enough) if k], lv.y[long_enough], lv.w[long_enough])
        if level == Level.ENGLAND.value:
            f = _fit_level(sub, t, cap, None, [None] * len(sub.codes), [None] * len(sub.codes))
            eng_theta = f.theta[0]
        else:
            assert eng_theta is not None
            p_theta, p_level, p_code = [], [], []
            for code in sub.codes:
                icb = (icb_of or {}).get((level, code)) if level in _UNDER_ICB else None
                if icb is not None and (Level.ICB.value, icb) in theta_of:
                    p_theta.append(theta_of[(Level.ICB.value, icb)])
                    p_level.append(Level.ICB.value)
                    p_code.append(icb)
                else:
                    p_theta.append(eng_theta)
                    p_level.append(Level.ENGLAND.value)
                    p_code.append(ENGLAND_CODE)
            f = _fit_level(sub, t, cap, np.array(p_theta), p_level, p_code)
        fitted[level] = f
        for code, th in zip(f.codes, f.theta):
            theta_of[(level, code)] = th

    horizon_end = int(months[-1]) + HORIZON_MONTHS
    if horizon_to is not None:
        horizon_end = max(horizon_end, int(month_index([horizon_to])[0]) + step)
    horizon_end = min(horizon_end, int(months[-1]) + MAX_HORIZON_MONTHS)
    grid = np.arange(int(months[0]), horizon_end + 1, step)
    grid_t = (grid - origin_month).astype(float)
    rng = np.random.default_rng(seed)
    fit_rows: list[pd.DataFrame] = []
    bands: list[_Band] = []
    for level in order:
        lv = levels[level]
        f = fitted.get(level)
        done = set(f.codes) if f else set()
        short = [c for c in lv.codes if c not in done]
        if short:
            fit_rows.append(_short_rows(level, short, lv, synthetic, periods))
        if f is None:
            continue
        level_draws = max(MIN_DRAWS, min(draws, MAX_DRAWN // max(len(f.codes) * grid.size, 1)))
        rows_fit, band = _level_outputs(
            level, f, lv, cap, origin_month, months, grid, grid_t, rng, level_draws, adoption_threshold, synthetic)
        fit_rows.append(rows_fit)
        bands.append(band)
    fits = pd.concat(fit_rows, ignore_index=True) if fit_rows else empty[0]
    scale = None
    if calibrate:
        scale = calibration(values, months, step, cap=cap, icb_of=icb_of, polarity=polarity, draws=draws,
                            seed=seed)
        if scale is not None:
            for band in bands:
                band.widen(scale.get(band.level, scale["*"]), step)
            notes.append("forecast band widened by the errors of a forecast made within the data: " + "; ".join(
                f"{lv} x{k[0]:.2f} to x{k[-1]:.2f}" for lv, k in scale.items() if lv != "*"))
    traj = pd.concat([b.frame(synthetic) for b in bands], ignore_index=True) if bands else empty[1]
    targets = _targets(fits, bands, commitments, origin_month, step)
    origin = from_month_index(np.array([origin_month]))[0]
    return IndicatorForecast(fits, traj, targets, origin=origin, notes=notes, band_scale=scale)


@dataclass
class _Band:
    """One level's trajectories: per series (rows) and grid month (columns) the observed value, the fitted
    curve and the 95% band."""

    level: str
    codes: list[str]
    grid: NDArray[np.int64]  # month index of each column
    last_month: NDArray[np.int64]  # per series
    observed: F64
    centre: F64
    low: F64
    high: F64
    m: F64
    p: F64
    q: F64

    @property
    def forecast(self) -> NDArray[np.bool_]:
        return self.grid[None, :] > self.last_month[:, None]

    def widen(self, scale: F64, step: int) -> None:
        """Scale the forecast part of the band by ``scale`` at each step past the series' last value (beyond
        the calibrated horizon: the last factor times the square root of how many times further)."""
        ahead = (self.grid[None, :] - self.last_month[:, None]) // max(step, 1)
        h = scale.size
        factor = np.where(ahead > h, scale[-1] * np.sqrt(np.maximum(ahead, 1) / h),
                          scale[np.clip(ahead - 1, 0, h - 1)])
        factor = np.where(ahead >= 1, factor, 1.0)
        self.low = np.maximum(self.centre - factor * (self.centre - self.low), 0.0)
        self.high = self.centre + factor * (self.high - self.centre)

    def frame(self, synthetic: bool) -> pd.DataFrame:
        n, g = self.centre.shape
        return pd.DataFrame({
            "level": self.level,
            "org_code": np.repeat(np.array(self.codes, dtype=object), g),
            "period": from_month_index(self.grid.astype(float)) * n,
            "observed": self.observed.ravel(), "fitted": self.centre.ravel(), "low": self.low.ravel(),
            "high": self.high.ravel(), "forecast": self.forecast.ravel(), "synthetic": synthetic,
        })


def calibration(values: pd.DataFrame, months: NDArray[np.int64], step: int, **options) -> dict[str, F64] | None:
    """How much wider the 95% band must be, at each step ahead, to have held 95% of the values in a forecast
    made within the data (a split-conformal calibration by horizon): the data are cut ``h`` steps before
    their end (h = min(HORIZON_MONTHS / step, a third of the periods)), the model is fitted to what comes
    before, and for each held-out value the ratio of its distance from the forecast to the band's half-width
    on its side is taken; the factor for horizon j is the 95th percentile of the ratios at horizons up to
    j, never below 1, and never falling as the horizon grows. Computed per level (England's band from
    England's own errors), from every level together where a level has fewer than ``MIN_RATIOS`` values up
    to that horizon (key "*"). None: too few periods to hold any back."""
    n = len(months)
    h = min(HORIZON_MONTHS // max(step, 1), n // 3)
    if h < 1 or n - h < MIN_POINTS:
        return None
    cut_month = int(months[n - h])
    period_month = month_index(values["period"])
    train = values.loc[period_month < cut_month]
    test = values.loc[period_month >= cut_month]
    inner = forecast_indicator(train, calibrate=False, horizon_to=from_month_index(np.array([float(months[-1])]))[0],
                               **options)
    traj = inner.trajectories
    if traj.empty:
        return None
    joined = test.merge(traj.loc[traj["forecast"].astype(bool), ["level", "org_code", "period", "fitted", "low", "high"]],
                        on=["level", "org_code", "period"], how="inner")
    if joined.empty:
        return None
    obs = joined["value"].to_numpy(float)
    fitted = joined["fitted"].to_numpy(float)
    up = np.maximum(joined["high"].to_numpy(float) - fitted, 1e-9)
    down = np.maximum(fitted - joined["low"].to_numpy(float), 1e-9)
    ratio = np.where(obs >= fitted, (obs - fitted) / up, (fitted - obs) / down)
    ahead = ((month_index(joined["period"]) - cut_month) // max(step, 1)).astype(int)  # 0 = the first step
    levels = joined["level"].to_numpy()

    def factors(keep: np.ndarray) -> F64:
        scale = np.ones(h)
        for j in range(h):
            upto = ratio[keep & (ahead <= j)]
            scale[j] = max(1.0, float(np.quantile(upto, 0.95))) if upto.size >= MIN_RATIOS else np.nan
        return scale

    pooled = factors(np.ones(ratio.size, bool))
    pooled = np.maximum.accumulate(np.where(np.isnan(pooled), 1.0, pooled))
    out = {"*": pooled}
    for level in np.unique(levels):
        own = factors(levels == level)
        out[str(level)] = np.maximum.accumulate(np.where(np.isnan(own), pooled, own))
    return out


FIT_COLUMNS = ("level", "org_code", "status", "points", "first_period", "last_period", "origin", "m", "m_low",
               "m_high", "p", "p_low", "p_high", "q", "q_low", "q_high", "peak", "residual_sd", "parent_level",
               "parent_code", "data_weight", "adoption_threshold", "fitted_adoption", "fitted_adoption_low",
               "fitted_adoption_high", "category_fitted", "synthetic")
TRAJECTORY_COLUMNS = ("level", "org_code", "period", "observed", "fitted", "low", "high", "forecast", "synthetic")
TARGET_COLUMNS = ("framework", "commitment", "level", "org_code", "target", "deadline", "last_period",
                  "last_value", "value_at_deadline", "value_at_deadline_low", "value_at_deadline_high",
                  "reach_date", "reach_low", "reach_high", "probability", "deadline_passed", "status", "synthetic")


def _empty_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return (pd.DataFrame(columns=list(FIT_COLUMNS)), pd.DataFrame(columns=list(TRAJECTORY_COLUMNS)),
            pd.DataFrame(columns=list(TARGET_COLUMNS)))


def _short_rows(level: str, codes: list[str], lv: _Level, synthetic: bool, periods: np.ndarray,
                status: str = STATUS_TOO_SHORT) -> pd.DataFrame:
    where = {c: i for i, c in enumerate(lv.codes)}
    idx = [where[c] for c in codes]
    w = lv.w[idx]
    has = w > 0
    dates = np.array([pd.Timestamp(x).date() for x in periods] + [None], dtype=object)
    any_ = has.any(axis=1)
    first = dates[np.where(any_, has.argmax(axis=1), len(periods))]
    last = dates[np.where(any_, has.shape[1] - 1 - has[:, ::-1].argmax(axis=1), len(periods))]
    frame = pd.DataFrame({c: [None] * len(codes) for c in FIT_COLUMNS})
    frame["level"] = level
    frame["org_code"] = codes
    frame["status"] = status
    frame["points"] = has.sum(axis=1)
    frame["first_period"] = first
    frame["last_period"] = last
    frame["synthetic"] = synthetic
    return frame


def _status_rows(levels: dict[str, _Level], status: str, synthetic: bool, periods: np.ndarray) -> pd.DataFrame:
    parts = [_short_rows(level, lv.codes, lv, synthetic, periods, status) for level, lv in levels.items()]
    return pd.concat(parts, ignore_index=True) if parts else _empty_frames()[0]


def _q(x: F64, axis: int = 1) -> tuple[F64, F64]:
    lo, hi = np.quantile(x, [0.025, 0.975], axis=axis)
    return lo, hi


def _level_outputs(level, f: _Fitted, lv: _Level, cap, origin_month, months, grid, grid_t, rng, draws,
                   adoption_threshold, synthetic):
    n = len(f.codes)
    caps = np.full(n, cap)
    m, p, q = to_natural(f.theta, caps)
    th_draws = _draws(f.theta, f.cov, rng, draws)  # (S, B, 3)
    md, pd_, qd = to_natural(th_draws, caps[:, None])
    m_lo, m_hi = _q(md)
    p_lo, p_hi = _q(pd_)
    q_lo, q_hi = _q(qd)
    with np.errstate(divide="ignore", invalid="ignore"):
        peak_t = np.where(q > p, np.log(q / p) / (p + q), 0.0)
    sd = np.sqrt(f.sigma2)
    # adoption threshold: fitted adoption date and its interval
    fitted_adopt = np.full(n, np.nan)
    adopt_lo = np.full(n, np.nan)
    adopt_hi = np.full(n, np.nan)
    if adoption_threshold is not None and adoption_threshold > 0:
        frac = adoption_threshold / m
        fitted_adopt = origin_month + np.where(frac < 1, bass_time_to_fraction(np.minimum(frac, 0.999999), p, q), np.inf)
        fd = adoption_threshold / md
        td = np.where(fd < 1, bass_time_to_fraction(np.minimum(fd, 0.999999), pd_, qd), np.inf)
        with np.errstate(invalid="ignore"):  # draws that never reach it are inf: their quantile may be inf or NaN
            adopt_lo = np.quantile(td, 0.025, axis=1) + origin_month
            adopt_hi = np.quantile(td, 0.975, axis=1) + origin_month
        times = np.where(np.isfinite(fitted_adopt), fitted_adopt, np.nan)
        category = adopter_categories(times, "normal").category
        category = np.where(np.isfinite(fitted_adopt), category, "not on the curve")
    else:
        category = np.full(n, None, dtype=object)
    first_p = from_month_index(months[f.first].astype(float))
    last_p = from_month_index(months[f.last].astype(float))
    fits = pd.DataFrame({
        "level": level, "org_code": f.codes, "status": STATUS_FITTED, "points": f.points,
        "first_period": first_p, "last_period": last_p,
        "origin": from_month_index(np.full(n, float(origin_month))),
        "m": m, "m_low": m_lo, "m_high": m_hi, "p": p, "p_low": p_lo, "p_high": p_hi, "q": q, "q_low": q_lo,
        "q_high": q_hi, "peak": from_month_index(origin_month + peak_t), "residual_sd": sd,
        "parent_level": f.parent_level, "parent_code": f.parent_code, "data_weight": f.data_weight,
        "adoption_threshold": adoption_threshold,
        "fitted_adoption": from_month_index(fitted_adopt), "fitted_adoption_low": from_month_index(adopt_lo),
        "fitted_adoption_high": from_month_index(adopt_hi), "category_fitted": category,
        "synthetic": synthetic,
    })
    # trajectories: the curve at the mode, and a 95% prediction band from curve draws plus noise
    tg = np.broadcast_to(grid_t, (n, grid_t.size))
    centre = bass_curve(tg, m, p, q)
    low = np.empty_like(centre)
    high = np.empty_like(centre)
    chunk = max(1, 2_000_000 // max(draws * grid_t.size, 1))
    for s0 in range(0, n, chunk):
        sl = slice(s0, s0 + chunk)
        k = md[sl].shape[0]
        tt = np.maximum(grid_t, 0.0)[None, None, :]
        e = np.exp(-(pd_[sl] + qd[sl])[..., None] * tt)
        curves = md[sl][..., None] * (1 - e) / (1 + (qd[sl] / pd_[sl])[..., None] * e)
        curves = curves + rng.standard_normal(curves.shape) * sd[sl, None, None]
        lo, hi = np.quantile(curves, [0.025, 0.975], axis=1)
        low[sl], high[sl] = np.clip(lo, 0, cap), np.clip(hi, 0, cap)
        del k
    col_of = {int(mm): i for i, mm in enumerate(months)}
    observed = np.full(centre.shape, np.nan)
    where = {c: i for i, c in enumerate(lv.codes)}
    rows_lv = [where[c] for c in f.codes]
    for j, gm in enumerate(grid):
        i = col_of.get(int(gm))
        if i is not None:
            observed[:, j] = np.where(lv.w[rows_lv, i] > 0, lv.y[rows_lv, i], np.nan)
    band = _Band(level, list(f.codes), grid.astype(np.int64), months[f.last].astype(np.int64), observed, centre,
                 low, high, m, p, q)
    return fits, band


def _targets(fits: pd.DataFrame, bands: list[_Band], commitments, origin_month: int, step: int) -> pd.DataFrame:
    """Per commitment and organisation in its scope with a curve: the value forecast for the deadline's
    month with its 95% band, the date the fitted curve reaches the target (and the band's: the upper edge
    reaches it first, the lower edge last), and the probability that the value for the deadline's month
    meets the target, from the (calibrated) prediction band read as a normal on each side of the forecast
    (sd = half-width / 1.96)."""
    by_level = {b.level: b for b in bands}
    synthetic_of = dict(zip(zip(fits["level"], fits["org_code"]), fits["synthetic"].astype(bool)))
    parts = []
    for c in commitments:
        band = by_level.get(c.level)
        if band is None:
            continue
        rows = np.array([i for i, code in enumerate(band.codes) if not c.org_codes or code in set(c.org_codes)],
                        dtype=int)
        if rows.size == 0:
            continue
        dl = int(month_index([c.deadline])[0])
        cols = np.nonzero(band.grid <= dl)[0]
        j = int(cols[-1]) if cols.size else -1
        covered = j >= 0 and band.grid[j] > dl - step
        centre, low, high = band.centre[rows], band.low[rows], band.high[rows]
        if covered:
            v, lo, hi = centre[:, j], low[:, j], high[:, j]
            half = np.where(c.target >= v, hi - v, v - lo)
            sd = half / 1.959964
            with np.errstate(divide="ignore", invalid="ignore"):
                z = np.where(sd > 0, (c.target - v) / sd, np.where(c.target > v, np.inf, -np.inf))
            prob = 0.5 * _erfc(z / np.sqrt(2.0))
        else:
            v = lo = hi = prob = np.full(rows.size, np.nan)

        def first(line: F64) -> list[dt.date | None]:
            hit = line >= c.target
            idx = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
            return [None if k < 0 else from_month_index(np.array([float(band.grid[k])]))[0] for k in idx]

        frac = c.target / band.m[rows]
        reach_t = np.where(frac < 1, bass_time_to_fraction(np.minimum(frac, 0.999999), band.p[rows], band.q[rows]),
                           np.inf)
        last = band.last_month[rows]
        passed = last >= dl
        status = np.where(passed, "deadline passed", np.where(~np.isfinite(prob), "beyond the forecast", np.where(
            prob >= 0.9, "likely", np.where(prob >= 0.5, "more likely than not", np.where(
                prob >= 0.1, "unlikely", "very unlikely")))))
        last_col = np.searchsorted(band.grid, last)
        last_value = band.observed[rows, np.clip(last_col, 0, band.grid.size - 1)]
        codes = [band.codes[i] for i in rows]
        parts.append(pd.DataFrame({
            "framework": c.framework, "commitment": c.commitment, "level": c.level, "org_code": codes,
            "target": c.target, "deadline": c.deadline, "last_period": from_month_index(last.astype(float)),
            "last_value": last_value, "value_at_deadline": v, "value_at_deadline_low": lo,
            "value_at_deadline_high": hi, "reach_date": from_month_index(origin_month + reach_t),
            "reach_low": first(high), "reach_high": first(low), "probability": prob, "deadline_passed": passed,
            "status": status,
            "synthetic": [bool(synthetic_of.get((c.level, code), False)) or c.synthetic for code in codes],
        }))
    return pd.concat(parts, ignore_index=True) if parts else _empty_frames()[2]


def _erfc(x: F64) -> F64:
    """The complementary error function, vectorised (math.erfc per element; inf and -inf give 0 and 2)."""
    flat = np.asarray(x, float).ravel()
    return np.array([math.erfc(v) for v in flat]).reshape(np.shape(x))
