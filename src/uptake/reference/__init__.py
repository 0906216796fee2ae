"""The real NHS England organisation hierarchy, bundled as package data (see data/ATTRIBUTION.md).

Contract used by the rest of Uptake::

    ref = load_reference()
    ref.organisations   # one row per organisation version
    ref.relationships   # child -> parent links, versioned

`organisations` columns (ORG_COLUMNS): code (ODS code; see docs for stroke units and ISDNs), level
(uptake.levels.Level value), name, ons_code, postcode, lat, lon (WGS84), imd_score, imd_quintile
(1 = most deprived), population (registered list size or catchment where known), trust_type (trusts
only: acute, mental-health, community, ambulance, other), valid_from, valid_to (ISO dates; valid_to
empty while current).

`relationships` columns (REL_COLUMNS): child_code, child_level, parent_code, parent_level, valid_from,
valid_to. Every organisation but England has exactly one parent per parent level on any date (90
practices belong to no PCN; see docs/reference-data.md).

Dated changes (e.g. the 2026 ICB mergers) are applied with ``apply_changes(ref, "changes.csv")``; see
uptake.reference.versioning and docs/reference-data.md.
"""

from uptake.reference.loader import (
    ORG_COLUMNS,
    REL_COLUMNS,
    Reference,
    UnknownOrganisation,
    ccg_successors,
    load_boundaries,
    load_reference,
    read_reference,
)
from uptake.reference.versioning import apply_changes

__all__ = [
    "ORG_COLUMNS",
    "REL_COLUMNS",
    "Reference",
    "UnknownOrganisation",
    "apply_changes",
    "ccg_successors",
    "load_boundaries",
    "load_reference",
    "read_reference",
]
