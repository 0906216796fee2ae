"""The models domain: what closing a gap is worth and when it will close.

``uptake.models.outcomes``: outcome models (extra patients treated -> good outcomes, strokes, deaths, pounds,
with intervals), one module per condition, parameters in versioned YAML with a source per number.
``uptake.models.forecasts``: Bass diffusion fits and forecasts per organisation and indicator.
``uptake.models.simulation``: the policy simulator. Pure functions over arrays and frames; the curve itself
is ``uptake.stats.bass``. Layer 5: never imports web, cli, mission or ecosystem.
"""
