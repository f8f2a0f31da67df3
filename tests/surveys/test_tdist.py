"""The t quantile against Student's t distribution itself, integrated numerically here."""

from __future__ import annotations

import math

import pytest

from surveys.tdist import T_TABLE_95, Z_95, t_quantile_95


def t_cdf(t: float, df: float, steps: int = 4000) -> float:
    """P(T <= t) for t >= 0: 1/2 plus Simpson's rule over the density from 0 to t."""
    constant = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)

    def density(x: float) -> float:
        return constant * (1 + x * x / df) ** (-(df + 1) / 2)

    h = t / steps
    inner = sum((4 if i % 2 else 2) * density(i * h) for i in range(1, steps))
    return 0.5 + (density(0) + density(t) + inner) * h / 3


@pytest.mark.parametrize("df", [1, 2, 5, 19, 30, 31, 40, 75, 200])
def test_the_quantile_leaves_two_and_a_half_percent_above_it(df: int) -> None:
    assert t_cdf(t_quantile_95(df), df) == pytest.approx(0.975, abs=1e-6)


def test_table_values_and_the_series_beyond() -> None:
    assert len(T_TABLE_95) == 30
    assert t_quantile_95(19) == 2.093024  # n = 20: the CES mean's interval
    assert t_quantile_95(60) == pytest.approx(2.000298, abs=1e-6)
    assert t_quantile_95(1000) == pytest.approx(1.962339, abs=1e-6)
    assert t_quantile_95(math.inf) == Z_95 == pytest.approx(1.959964, abs=1e-6)


def test_a_fractional_df_rounds_down_to_the_wider_interval() -> None:
    assert t_quantile_95(4.9) == t_quantile_95(4) > t_quantile_95(5)
    with pytest.raises(ValueError, match="at least 1"):
        t_quantile_95(0.5)
