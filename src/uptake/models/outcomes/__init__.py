"""Outcome models: from extra patients treated to outcomes and pounds, with intervals.

Each condition's module (``stroke``, ``doac``, ``lung``, ...) exposes an ``OutcomeModel`` (see ``base``): the
indicators it applies to, and Monte Carlo draws of each outcome per extra patient treated, from parameters
in a versioned YAML file beside it (``params/``), each number with its source.
"""
