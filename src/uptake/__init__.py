"""Uptake: measure how far proven innovations have spread across the NHS, and close the gap."""

__version__ = "0.1.0"

ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0. "
    "Source: NHS England, NHS Digital, NHSBSA, Office for National Statistics; "
    "contains OS data (c) Crown copyright and database right. Stroke data: SSNAP, via the SAMueL project "
    "(University of Exeter)."
)
