"""Out-of-sample checks of the Bass forecasts on real series (docs/forecasts.md, "Out-of-sample checks"):
fit to the months before a cut-off, forecast the months after it, and hold the error (MAPE) and the 95%
band's coverage to the tolerances stated here. The figures in docs/forecasts.md come from `uptake bench
forecasts`; these tests hold two rows of that table."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from uptake.models.forecasts.checks import CCG_FILE, ccg_doac_2012_values, doac_subicb_values, holdout



def test_the_bundled_ccg_series_is_the_shared_copy() -> None:
    """The check's data are the OpenPrescribing CCG file, unchanged (data/PROVENANCE.md gives the hash)."""
    import hashlib

    digest = hashlib.sha256(CCG_FILE.read_bytes()).hexdigest()
    assert digest == "fb4c768d7e0a0f3ac1e565a72c145a645a2dfd5522a9ac4c8aeeedfbe67947f8"
    values = ccg_doac_2012_values()
    eng = values.loc[values["level"] == "england"].sort_values("period")
    assert eng["period"].iloc[0] == dt.date(2012, 1, 1) and eng["value"].iloc[0] < 0.01  # take-off
    assert 0.6 < eng["value"].iloc[-1] < 0.85  # DOACs most of anticoagulant items by 2020
    assert values.loc[values["level"] == "ccg", "org_code"].nunique() == 192


def test_doac_sub_icb_forecast_from_october_2020() -> None:
    """Real NHSBSA DOAC share per sub-ICB location: fitted to October 2017 - September 2020, forecast for
    October 2020 - September 2021. Measured: MAPE 1.4% (sub-ICB), 0.6% (England); coverage 98%.
    Tolerances: MAPE at most 3% (sub-ICB) and 2% (England); coverage of the 95% band at least 90%."""
    result = holdout(doac_subicb_values(), dt.date(2020, 10, 1), 12)
    points, mape, coverage = result.by_level["sub-icb"]
    assert points == 106 * 12
    assert mape <= 3.0
    assert coverage >= 0.90
    assert result.mape("england") <= 2.0


def test_ccg_forecast_from_january_2016_on_the_whole_s_curve() -> None:
    """Real OpenPrescribing DOAC share per CCG from January 2012 (take-off): fitted to 2012-2015, forecast
    for 2016-2017. Measured: MAPE 12.7% (CCG), 4.6% (England); coverage 96% (CCG). Tolerances: MAPE at most
    15% (CCG) and 6% (England); coverage of the 95% band at least 90% (CCG)."""
    result = holdout(ccg_doac_2012_values(), dt.date(2016, 1, 1), 24)
    points, mape, coverage = result.by_level["ccg"]
    assert points > 4000
    assert mape <= 15.0
    assert coverage >= 0.90
    assert result.mape("england") <= 6.0


def test_the_checks_can_fail() -> None:
    """The same check with a band made from two parameter draws and not calibrated (far too narrow) fails the
    coverage tolerance: the tests above measure something."""
    from uptake.models.forecasts import checks

    values = doac_subicb_values()
    result = checks.holdout(values, dt.date(2020, 10, 1), 12, draws=2, calibrate=False)
    assert result.coverage("sub-icb") < 0.90 or not np.isfinite(result.coverage("sub-icb"))
