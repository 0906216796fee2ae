import datetime as dt

import pytest

from uptake.dates import DateError, parse_date
from uptake.errors import UptakeError


@pytest.mark.parametrize("value, expected", [
    (None, None), ("", None), ("2024-03-01", dt.date(2024, 3, 1)), (" 2024-03-01 ", dt.date(2024, 3, 1)),
    (dt.date(2021, 4, 1), dt.date(2021, 4, 1)), (dt.datetime(2021, 4, 1, 13, 5), dt.date(2021, 4, 1)),
])
def test_dates_are_read_in_iso_form(value, expected) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize("value", ["31/03/2026", "March", "2024-02-30", "20240301x"])
def test_anything_else_is_refused_with_what_and_the_form(value) -> None:
    with pytest.raises(DateError) as caught:
        parse_date(value, what="--as-of")
    assert isinstance(caught.value, UptakeError) and isinstance(caught.value, ValueError)
    assert str(caught.value) == f"--as-of {value!r} is not a date (YYYY-MM-DD)"
