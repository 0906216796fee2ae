"""Pure statistical building blocks: intervals, funnels, SPC, ranks, peers, adopters, CUSUM, equity.

No I/O and no global state: arrays in, arrays and frozen dataclasses out. Each function's docstring
gives its formula, source and edge cases; docs/methods.md collects them with the conventions chosen.
"""

from uptake.stats._validation import Polarity, StatsInputError, z_value
from uptake.stats.change import improvement_verdict, newcombe_difference, rate_difference
from uptake.stats.cusum import CusumResult, cusum_alerts
from uptake.stats.diffusion import ADOPTER_CATEGORIES, AdopterCategories, adopter_categories
from uptake.stats.equity import SlopeIndex, slope_index_interval, slope_index_of_inequality
from uptake.stats.funnel import (
    FunnelResult,
    compare_random_effects,
    exact_funnel_limit,
    funnel_limits,
    random_effects_limits,
    wilson_funnel_limit,
)
from uptake.stats.intervals import byar, compare_to_benchmark, exact_poisson, wilson
from uptake.stats.peers import SimilarPeers, peer_benchmark, similar_peers, standardise_features
from uptake.stats.ranks import DECILE_CENTILES, centile, deciles, opportunity, percent_rank
from uptake.stats.spc import RULES, XmRResult, xmr

__all__ = [
    "ADOPTER_CATEGORIES",
    "DECILE_CENTILES",
    "RULES",
    "AdopterCategories",
    "CusumResult",
    "FunnelResult",
    "Polarity",
    "SimilarPeers",
    "SlopeIndex",
    "StatsInputError",
    "XmRResult",
    "adopter_categories",
    "byar",
    "centile",
    "compare_random_effects",
    "compare_to_benchmark",
    "cusum_alerts",
    "improvement_verdict",
    "newcombe_difference",
    "rate_difference",
    "deciles",
    "exact_funnel_limit",
    "exact_poisson",
    "funnel_limits",
    "opportunity",
    "peer_benchmark",
    "percent_rank",
    "random_effects_limits",
    "similar_peers",
    "slope_index_interval",
    "slope_index_of_inequality",
    "standardise_features",
    "wilson",
    "wilson_funnel_limit",
    "xmr",
    "z_value",
]
