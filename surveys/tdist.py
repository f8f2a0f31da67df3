"""Student's t two-sided 95% quantile, without scipy: exact table to 30 degrees, a series past it.

Up to 30 degrees of freedom the quantile comes from a table of exact values (to six decimals,
as printed in every statistics textbook); a fractional df (Welch's) is rounded *down*, which
widens the interval a little and never narrows it. Past 30 it is the Cornish-Fisher expansion
of Abramowitz & Stegun, Handbook of Mathematical Functions, 26.7.5, in powers of 1/df to the
fourth, whose error there is below 1e-5 (tests/surveys/test_tdist.py checks both against the
t distribution's density integrated numerically).
"""

from __future__ import annotations

import math
from statistics import NormalDist

__all__ = ["T_TABLE_95", "Z_95", "t_quantile_95"]

Z_95 = NormalDist().inv_cdf(0.975)  # 1.959964: two-sided 95% of a normal distribution

# t(0.975, df) for df = 1..30.
T_TABLE_95 = (
    12.706205,
    4.302653,
    3.182446,
    2.776445,
    2.570582,
    2.446912,
    2.364624,
    2.306004,
    2.262157,
    2.228139,
    2.200985,
    2.178813,
    2.160369,
    2.144787,
    2.131450,
    2.119905,
    2.109816,
    2.100922,
    2.093024,
    2.085963,
    2.079614,
    2.073873,
    2.068658,
    2.063899,
    2.059539,
    2.055529,
    2.051831,
    2.048407,
    2.045230,
    2.042272,
)


def t_quantile_95(df: float) -> float:
    """The two-sided 95% quantile of Student's t with `df` degrees of freedom (df >= 1)."""
    if not df >= 1 or math.isinf(df):
        if math.isinf(df) and df > 0:
            return Z_95
        raise ValueError(f"degrees of freedom must be at least 1, got {df}")
    if df <= len(T_TABLE_95):
        return T_TABLE_95[math.floor(df) - 1]
    x = Z_95
    g1 = (x**3 + x) / 4
    g2 = (5 * x**5 + 16 * x**3 + 3 * x) / 96
    g3 = (3 * x**7 + 19 * x**5 + 17 * x**3 - 15 * x) / 384
    g4 = (79 * x**9 + 776 * x**7 + 1482 * x**5 - 1920 * x**3 - 945 * x) / 92160
    return x + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4
