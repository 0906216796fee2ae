"""Which parents each level has, and how the flat (no-recursion) parent links are derived.

The bundled ``relationships`` table is *flattened*: every organisation links directly to its parent at
every level above it (a practice links to its PCN, sub-ICB, ICB, region and England), so a roll-up to
any level is one join. Only a few of those links are recorded facts ("direct" links); the rest are
inherited from the *anchor* parent. Keeping that rule in one place lets the build script and
:func:`uptake.reference.versioning.apply_changes` produce the same flat links.

=============  ===================  ================  ==========================================
level          anchor (inherits)    other direct      all parent levels
=============  ===================  ================  ==========================================
practice       sub-icb              pcn (optional)    pcn, sub-icb, icb, region, england
pcn            sub-icb                                sub-icb, icb, region, england
sub-icb        icb                  isdn              icb, region, isdn, england
icb            region                                 region, england
region         england                                england
trust          icb                                    icb, region, england
stroke-unit    sub-icb                                sub-icb, icb, region, isdn, england
isdn           england                                england
=============  ===================  ================  ==========================================

A practice's PCN may sit in a different sub-ICB from the practice itself (a PCN is filed under the
sub-ICB holding most of its practices), which is why the PCN is not the practice's anchor.
"""

from __future__ import annotations

import pandas as pd

from uptake.levels import ENGLAND_CODE, ROLLUP_PATHS, Level

#: The parent levels every organisation of a level links to (flattened), nearest first.
PARENT_LEVELS: dict[Level, tuple[Level, ...]] = {
    Level.PRACTICE: (Level.PCN, Level.SUB_ICB, Level.ICB, Level.REGION, Level.ENGLAND),
    Level.PCN: (Level.SUB_ICB, Level.ICB, Level.REGION, Level.ENGLAND),
    Level.SUB_ICB: (Level.ICB, Level.REGION, Level.ISDN, Level.ENGLAND),
    Level.ICB: (Level.REGION, Level.ENGLAND),
    Level.REGION: (Level.ENGLAND,),
    Level.TRUST: (Level.ICB, Level.REGION, Level.ENGLAND),
    Level.STROKE_UNIT: (Level.SUB_ICB, Level.ICB, Level.REGION, Level.ISDN, Level.ENGLAND),
    Level.ISDN: (Level.ENGLAND,),
    Level.ENGLAND: (),
}

#: Parent levels a member may lack (practices not in any PCN).
OPTIONAL_PARENT_LEVELS: dict[Level, frozenset[Level]] = {Level.PRACTICE: frozenset({Level.PCN})}

#: The parent whose own parents an organisation inherits.
ANCHOR: dict[Level, Level] = {
    Level.PRACTICE: Level.SUB_ICB,
    Level.PCN: Level.SUB_ICB,
    Level.SUB_ICB: Level.ICB,
    Level.ICB: Level.REGION,
    Level.REGION: Level.ENGLAND,
    Level.TRUST: Level.ICB,
    Level.STROKE_UNIT: Level.SUB_ICB,
    Level.ISDN: Level.ENGLAND,
}

#: Recorded (not inherited) parent levels besides the anchor.
EXTRA_DIRECT: dict[Level, tuple[Level, ...]] = {
    Level.PRACTICE: (Level.PCN,),
    Level.SUB_ICB: (Level.ISDN,),
}

# Order of levels from the top, used to process parents before children.
LEVEL_DEPTH: dict[Level, int] = {
    Level.ENGLAND: 0,
    Level.REGION: 1,
    Level.ISDN: 1,
    Level.ICB: 2,
    Level.SUB_ICB: 3,
    Level.TRUST: 3,
    Level.PCN: 4,
    Level.STROKE_UNIT: 4,
    Level.PRACTICE: 5,
}

# Sanity: every roll-up path of uptake.levels is covered by PARENT_LEVELS.
for _level, _path in ROLLUP_PATHS.items():
    assert set(_path[1:]) <= set(PARENT_LEVELS[_level]), (_level, _path)


def direct_levels(level: Level | str) -> tuple[Level, ...]:
    """The parent levels recorded directly for ``level`` (anchor first)."""
    level = Level(level)
    if level not in ANCHOR:
        return ()
    return (ANCHOR[level], *EXTRA_DIRECT.get(level, ()))


#: (child level, parent level) value pairs of the direct links.
DIRECT_PAIRS: frozenset[tuple[str, str]] = frozenset(
    (child.value, parent.value)
    for child in ANCHOR
    for parent in (ANCHOR[child], *EXTRA_DIRECT.get(child, ()))
)


def flatten_links(direct: pd.DataFrame, org_levels: pd.Series) -> pd.DataFrame:
    """Flatten direct links into links to every parent level.

    ``direct`` has columns child_code, parent_code (the direct links, one per child and direct level);
    ``org_levels`` maps every code to its level. Returns child_code, child_level, parent_code,
    parent_level for every parent level in :data:`PARENT_LEVELS`, sorted. Raises ``ValueError`` if a
    direct parent is unknown or at a level its child may not have.
    """
    direct = direct[["child_code", "parent_code"]].copy()
    direct["child_level"] = direct["child_code"].map(org_levels)
    direct["parent_level"] = direct["parent_code"].map(org_levels)
    unknown = direct[direct["child_level"].isna() | direct["parent_level"].isna()]
    if len(unknown):
        raise ValueError(f"links name unknown organisations: {unknown.head(5).to_dict('records')}")
    allowed = _allowed(direct)
    if not bool(allowed.all()):
        bad = direct[~allowed].head(5).to_dict("records")
        raise ValueError(f"links to a parent at a level that is not a direct parent level: {bad}")

    flat: dict[Level, pd.DataFrame] = {}
    by_level = {lvl: grp for lvl, grp in direct.groupby("child_level", sort=False)}
    for level in sorted(Level, key=lambda lv: LEVEL_DEPTH[lv]):
        own = by_level.get(level.value)
        if own is None or level not in ANCHOR:
            flat[level] = _empty_links()
            continue
        own = own[["child_code", "child_level", "parent_code", "parent_level"]]
        anchor = ANCHOR[level]
        anchors = own[own["parent_level"] == anchor.value][["child_code", "parent_code"]]
        inherited_from = flat[anchor]
        inherited = anchors.merge(
            inherited_from[["child_code", "parent_code", "parent_level"]].rename(
                columns={"child_code": "parent_code", "parent_code": "grand_code"}
            ),
            on="parent_code",
            how="inner",
        )
        wanted = {lv.value for lv in PARENT_LEVELS[level]} - {lv.value for lv in direct_levels(level)}
        inherited = inherited[inherited["parent_level"].isin(wanted)]
        inherited = pd.DataFrame(
            {
                "child_code": inherited["child_code"].to_numpy(),
                "child_level": level.value,
                "parent_code": inherited["grand_code"].to_numpy(),
                "parent_level": inherited["parent_level"].to_numpy(),
            }
        )
        flat[level] = pd.concat([own, inherited], ignore_index=True)
    out = pd.concat([flat[lv] for lv in Level], ignore_index=True)
    return out.sort_values(["child_level", "child_code", "parent_level"], ignore_index=True)


def _allowed(direct: pd.DataFrame) -> pd.Series:
    keys = zip(direct["child_level"].tolist(), direct["parent_level"].tolist(), strict=True)
    return pd.Series([key in DIRECT_PAIRS for key in keys], index=direct.index)


def _empty_links() -> pd.DataFrame:
    return pd.DataFrame(
        {name: pd.Series(dtype="str")
         for name in ("child_code", "child_level", "parent_code", "parent_level")}
    )


def check_links(organisations: pd.DataFrame, relationships: pd.DataFrame) -> list[str]:
    """Problems with a hierarchy valid on one date (an empty list when it is whole).

    Checks that every organisation but England has exactly one parent at each of its parent levels
    (PCN optional for practices), that each parent exists at the level the link claims, that links
    point only from existing organisations, and that inherited links agree with the anchor's.
    """
    problems: list[str] = []
    levels = organisations.set_index("code")["level"]
    if levels.index.duplicated().any():
        dupes = sorted(set(levels.index[levels.index.duplicated()]))[:5]
        problems.append(f"codes valid more than once on the date: {dupes}")
        levels = levels[~levels.index.duplicated()]
    rel = relationships
    missing_child = rel[~rel["child_code"].isin(levels.index)]
    if len(missing_child):
        problems.append(f"{len(missing_child)} links from unknown organisations, e.g. "
                        f"{missing_child['child_code'].head(3).tolist()}")
    actual_parent_level = rel["parent_code"].map(levels)
    wrong = rel[actual_parent_level.ne(rel["parent_level"]) | actual_parent_level.isna()]
    if len(wrong):
        problems.append(f"{len(wrong)} links to a parent that does not exist at that level, e.g. "
                        f"{wrong[['child_code', 'parent_code', 'parent_level']].head(3).to_dict('records')}")
    wrong_child = rel[rel["child_code"].map(levels).ne(rel["child_level"])]
    if len(wrong_child):
        problems.append(f"{len(wrong_child)} links whose child_level is not the child's level")
    counts = rel.groupby(["child_code", "parent_level"]).size()
    if (counts > 1).any():
        problems.append(f"{int((counts > 1).sum())} (organisation, level) pairs with several parents, e.g. "
                        f"{list(counts[counts > 1].index[:3])}")
    required = pd.DataFrame(
        [(lv.value, plv.value) for lv in Level for plv in PARENT_LEVELS[lv]
         if plv not in OPTIONAL_PARENT_LEVELS.get(lv, ())],
        columns=["level", "parent_level"],
    )
    expected = levels.rename("level").reset_index().merge(required, on="level")
    found = expected.merge(rel[["child_code", "parent_level"]].drop_duplicates(),
                           left_on=["code", "parent_level"], right_on=["child_code", "parent_level"],
                           how="left", indicator=True)
    lacking = found[found["_merge"] == "left_only"]
    for r in lacking.head(20).itertuples(index=False):
        problems.append(f"{r.level} {r.code} has no {r.parent_level} parent")
    if len(lacking) > 20:
        problems.append(f"... and {len(lacking) - 20} more missing parent links")
    # Inherited links must equal the anchor's own links.
    own = rel[["child_code", "parent_level", "parent_code"]]
    for level, anchor in ANCHOR.items():
        inherit = [lv.value for lv in set(PARENT_LEVELS[level]) - set(direct_levels(level))]
        mine = rel[(rel["child_level"] == level.value) & rel["parent_level"].isin(inherit)]
        if mine.empty:
            continue
        anchors = own[own["parent_level"] == anchor.value][["child_code", "parent_code"]]
        joined = mine.merge(anchors.rename(columns={"parent_code": "anchor_code"}), on="child_code",
                            how="left")
        joined = joined.merge(
            own.rename(columns={"child_code": "anchor_code", "parent_code": "expected_code"}),
            on=["anchor_code", "parent_level"], how="left",
        )
        bad = joined[joined["expected_code"].ne(joined["parent_code"]) | joined["expected_code"].isna()]
        if len(bad):
            examples = bad[["child_code", "parent_code", "parent_level"]].head(3).to_dict("records")
            problems.append(f"{len(bad)} {level.value} links disagree with their {anchor.value}'s, "
                            f"e.g. {examples}")
    if ENGLAND_CODE not in levels.index:
        problems.append(f"England ({ENGLAND_CODE}) is missing")
    return problems
