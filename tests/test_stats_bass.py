"""The Bass curve: checked against a slow reference (the differential equation integrated in small steps)."""

import numpy as np
import pytest

from uptake.stats.bass import bass_cumulative, bass_fraction, bass_hazard, bass_increments, bass_time_to_fraction


def _euler(p: float, q: float, t_end: float, dt: float = 1e-4) -> float:
    """dF/dt = (p + q F)(1 - F), F(0) = 0, by explicit Euler steps."""
    f = 0.0
    for _ in range(int(round(t_end / dt))):
        f += (p + q * f) * (1.0 - f) * dt
    return f


@pytest.mark.parametrize("p,q,t", [(0.03, 0.38, 5.0), (0.01, 0.5, 12.0), (0.2, 0.0, 3.0)])
def test_closed_form_matches_the_differential_equation(p, q, t):
    assert bass_fraction(t, p, q) == pytest.approx(_euler(p, q, t), abs=1e-4)


def test_broadcasts_many_series_and_times():
    p = np.array([[0.01], [0.05]])
    q = np.array([[0.3], [0.6]])
    t = np.arange(0, 40)
    f = bass_fraction(t, p, q)
    assert f.shape == (2, 40)
    assert np.all(np.diff(f, axis=1) >= 0) and f[:, 0].tolist() == [0.0, 0.0]
    assert bass_cumulative(t, 1000, 0.01, 0.3)[-1] == pytest.approx(1000 * f[0, -1])
    assert bass_increments(t[1:], 1000, 0.01, 0.3).sum() == pytest.approx(1000 * f[0, -1])


def test_hazard_and_inverse():
    assert bass_hazard(0.0, 0.02, 0.4) == pytest.approx(0.02)
    t = bass_time_to_fraction(0.5, 0.02, 0.4)
    assert bass_fraction(t, 0.02, 0.4) == pytest.approx(0.5)
    assert bass_time_to_fraction(1.0, 0.02, 0.4) == np.inf


def test_rejects_impossible_parameters():
    with pytest.raises(ValueError, match="innovation p"):
        bass_fraction(1.0, 0.0, 0.3)
    with pytest.raises(ValueError, match="imitation q"):
        bass_fraction(1.0, 0.1, -0.3)
