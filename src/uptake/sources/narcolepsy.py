"""Newer medicines for narcolepsy in hospitals: pitolisant (and solriamfetol) against the established
narcolepsy-specific agents, per NHS trust and month.

Raw file: ``narcolepsy_medicines_trust_monthly.csv`` (NHSBSA Secondary Care Medicines Data, as extracted
by the Bennett Institute's scmd-narcolepsy project): ``total_quantity`` per trust, month and dm+d product
(VMP). Quantities are in each product's own unit (tablets or capsules for solid forms, ml for liquids), so
quantities of different products cannot be added. Each row is converted to **defined daily doses (DDDs)**:

    DDDs = quantity x strength per unit (mg, parsed from the product name) / DDD of the medicine (mg)

Which medicines count. Only agents whose UK licence is for narcolepsy / its excessive daytime sleepiness
are kept: pitolisant, solriamfetol, sodium oxybate and modafinil. The file also holds methylphenidate,
lisdexamfetamine, dexamfetamine and amfetamine products: hospitals (mental health trusts above all)
prescribe those mainly for ADHD, so counting them would turn the denominator into an ADHD measure.

Trusts. Rows for trusts that merged into a single successor are mapped onto it (``PREDECESSORS``, for all
months: the series describe today's trust footprints, as the DOAC data's sub-ICB locations do); rows for
trusts that were split, or that are not open trusts in the organisation hierarchy, are dropped and counted.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

import pandas as pd

from uptake.errors import UptakeError
from uptake.levels import Level
from uptake.sources._common import finish, read_csv, resolve_codes, round_half_up

RAW_FILE = "narcolepsy_medicines_trust_monthly.csv"
INDICATOR_ID = "narcolepsy-newer-share"


@dataclass(frozen=True)
class Agent:
    name: str
    #: the daily dose one unit of use stands for, in mg of the named substance
    ddd_mg: float
    #: counted in the numerator (newer agent)
    newer: bool
    #: where the daily dose comes from
    ddd_source: str


AGENTS: tuple[Agent, ...] = (
    Agent(
        "pitolisant",
        18.0,
        True,
        "WHO ATC/DDD N07XX11 pitolisant: 18 mg oral (WHOCC list of new DDDs, final 2018)",
    ),
    Agent(
        "solriamfetol",
        150.0,
        True,
        "no WHO DDD used; Sunosi SmPC (EMA): narcolepsy 75 mg once daily, titrated to 150 mg if needed; "
        "150 mg taken as the titrated maintenance dose (WHO practice for titrated medicines)",
    ),
    Agent(
        "sodium oxybate",
        7500.0,
        False,
        "WHO ATC/DDD N07XX04 sodium oxybate: 7.5 g oral; equals the middle of the Xyrem SmPC "
        "maintenance range of 6-9 g a night",
    ),
    Agent(
        "modafinil",
        300.0,
        False,
        "WHO ATC/DDD N06BA07 modafinil: 0.3 g oral; equals the middle of the SmPC range of 200-400 mg "
        "a day",
    ),
)

#: Products in the file that are not narcolepsy-specific (mostly ADHD use in hospitals): excluded.
EXCLUDED_SUBSTANCES: tuple[str, ...] = (
    "methylphenidate",
    "dexmethylphenidate",
    "lisdexamfetamine",
    "dexamfetamine",
    "amfetamine",
)

#: Trusts that merged into one successor (old ODS code -> (successor, date the successor took over)).
#: From the NHS trust mergers of 2017-2021; the close dates of RD3, RDZ, RT3 and RXH are confirmed by the
#: organisation file (etr_trusts_2022.csv); the others had already left it.
PREDECESSORS: dict[str, tuple[str, str]] = {
    "RM2": ("R0A", "2017-10-01"),  # University Hospital of South Manchester -> Manchester University
    "RW3": ("R0A", "2017-10-01"),  # Central Manchester University Hospitals -> Manchester University
    "RR1": ("RRK", "2018-04-01"),  # Heart of England -> University Hospitals Birmingham
    "RGQ": ("RDE", "2018-07-01"),  # Ipswich Hospital -> East Suffolk and North Essex
    "RJF": ("RTG", "2018-07-01"),  # Burton Hospitals -> University Hospitals of Derby and Burton
    "RE9": ("R0B", "2019-04-01"),  # South Tyneside -> South Tyneside and Sunderland
    "RLN": ("R0B", "2019-04-01"),  # City Hospitals Sunderland -> South Tyneside and Sunderland
    "RQ6": ("REM", "2019-10-01"),  # Royal Liverpool and Broadgreen -> Liverpool University Hospitals
    "RNL": ("RNN", "2019-10-01"),  # North Cumbria University Hospitals -> North Cumbria Integrated Care
    "R1J": ("RTQ", "2019-10-01"),  # Gloucestershire Care Services -> Gloucestershire Health and Care
    "RA3": ("RA7", "2020-04-01"),  # Weston Area Health -> University Hospitals Bristol and Weston
    "RBA": ("RH5", "2020-04-01"),  # Taunton and Somerset -> Somerset NHS Foundation Trust
    "RC1": ("RC9", "2020-04-01"),  # Bedford Hospital -> Bedfordshire Hospitals
    "RDD": ("RAJ", "2020-04-01"),  # Basildon and Thurrock -> Mid and South Essex
    "RQ8": ("RAJ", "2020-04-01"),  # Mid Essex Hospital Services -> Mid and South Essex
    "RD3": ("R0D", "2020-10-01"),  # Poole Hospital -> University Hospitals Dorset
    "RDZ": ("R0D", "2020-10-01"),  # Royal Bournemouth and Christchurch -> University Hospitals Dorset
    "RT3": ("RJ1", "2021-02-01"),  # Royal Brompton and Harefield -> Guy's and St Thomas'
    "RXH": ("RYR", "2021-04-01"),  # Brighton and Sussex University Hospitals -> University Hospitals Sussex
}
#: Trusts that were split between successors: their rows cannot be given to one and are dropped.
SPLIT_TRUSTS: dict[str, str] = {
    "RW6": "Pennine Acute Hospitals, split in 2021 between Northern Care Alliance (RM3) and Manchester "
    "University (R0A)",
    "RTV": "North West Boroughs Healthcare, split in 2021 between Mersey Care (RW4) and Greater "
    "Manchester Mental Health (RXV)",
}

_STRENGTH = re.compile(r"(?P<mg>\d+(?:\.\d+)?)\s*mg(?:\s*/\s*(?P<per>\d+(?:\.\d+)?)?\s*ml)?", re.IGNORECASE)
_SOLID = re.compile(r"\b(tablets?|capsules?)\b", re.IGNORECASE)


def agent_of(product_name: str) -> Agent | None:
    """The narcolepsy agent a dm+d product belongs to, None for an excluded substance; raises for a
    product this adapter does not know (a refreshed file with a new medicine must be looked at)."""
    name = product_name.strip().lower()
    for agent in AGENTS:
        if name.startswith(agent.name):
            return agent
    if name.startswith(EXCLUDED_SUBSTANCES):
        return None
    raise UptakeError(
        f"{RAW_FILE}: unknown product {product_name!r}; add it to AGENTS (with its daily dose) or to "
        "EXCLUDED_SUBSTANCES in uptake/sources/narcolepsy.py"
    )


def mg_per_unit(product_name: str) -> float:
    """mg of the substance in one unit of the product's quantity: one tablet/capsule, or one ml.

    "Pitolisant 4.5mg tablets" -> 4.5; "Sodium oxybate 500mg/ml oral solution" -> 500;
    "Modafinil 100mg/5ml oral suspension" -> 20.
    """
    match = _STRENGTH.search(product_name)
    if match is None:
        raise UptakeError(f"{RAW_FILE}: no strength in mg in the product name {product_name!r}")
    mg = float(match["mg"])
    if "ml" in match.group(0).lower():
        return mg / float(match["per"] or 1)
    if not _SOLID.search(product_name):
        raise UptakeError(f"{RAW_FILE}: {product_name!r} is neither a per-ml liquid nor a tablet or capsule")
    return mg


def daily_doses(raw: pd.DataFrame) -> pd.DataFrame:
    """The rows of the narcolepsy agents with ``agent``, ``newer`` and ``ddd`` (DDDs, signed: returns and
    credits are negative quantities)."""
    products = raw["vmp_product_name"].drop_duplicates()
    agents = {name: agent_of(name) for name in products}
    kept = raw[raw["vmp_product_name"].map(lambda name: agents[name] is not None)]
    per_unit = {name: mg_per_unit(name) for name, agent in agents.items() if agent is not None}
    agent = kept["vmp_product_name"].map(lambda name: agents[name].name)
    ddd_mg = kept["vmp_product_name"].map(lambda name: agents[name].ddd_mg)
    newer = kept["vmp_product_name"].map(lambda name: agents[name].newer)
    ddd = kept["total_quantity"] * kept["vmp_product_name"].map(per_unit) / ddd_mg
    return kept.assign(agent=agent, newer=newer.astype(bool), ddd=ddd)


def build_narcolepsy_newer_share(org_codes: Collection[str] | None = None) -> pd.DataFrame:
    """numerator = round(DDDs of pitolisant + solriamfetol); denominator = round(DDDs of pitolisant +
    solriamfetol + sodium oxybate + modafinil); per open NHS trust and month.

    ``org_codes`` are the open trusts to keep (default: the trusts of the bundled hierarchy); this source
    needs them, because the raw file carries closed and split trusts.
    """
    codes = resolve_codes(Level.TRUST, org_codes)
    if codes is None:
        raise UptakeError(
            f"{INDICATOR_ID}: the list of open trusts is needed to drop closed trusts; pass org_codes or "
            "install the reference hierarchy (uptake.reference)"
        )
    raw = read_csv(RAW_FILE, dtype={"ods_code": str, "vmp_product_name": str, "year_month": str})
    dropped: dict[str, int] = {}
    doses = daily_doses(raw)
    dropped["rows of stimulants mainly used for ADHD (methylphenidate, amfetamines)"] = len(raw) - len(doses)

    doses = doses.assign(org_code=doses["ods_code"].map(lambda c: PREDECESSORS.get(c, (c, ""))[0]))
    split = doses["ods_code"].isin(SPLIT_TRUSTS)
    dropped["rows of trusts split between successors (" + ", ".join(sorted(SPLIT_TRUSTS)) + ")"] = int(
        split.sum()
    )
    doses = doses[~split]
    unknown = ~doses["org_code"].isin(codes)
    names = ", ".join(sorted(doses.loc[unknown, "org_code"].unique()))
    dropped[f"rows of trusts not open in the hierarchy ({names})"] = int(unknown.sum())
    doses = doses[~unknown]

    per_agent = doses.pivot_table(
        index=["org_code", "year_month"], columns="agent", values="ddd", aggfunc="sum", fill_value=0.0
    )
    negative = (per_agent < 0).any(axis=1)
    dropped["trust-months where returns exceed issues for an agent (net negative quantity)"] = int(
        negative.sum()
    )
    per_agent = per_agent[~negative]
    newer = [agent.name for agent in AGENTS if agent.newer and agent.name in per_agent.columns]
    frame = pd.DataFrame(
        {
            "org_code": per_agent.index.get_level_values("org_code"),
            "period": per_agent.index.get_level_values("year_month"),
            "numerator": round_half_up(per_agent[newer].sum(axis=1)),
            "denominator": round_half_up(per_agent.sum(axis=1)),
        }
    )
    empty = frame["denominator"] <= 0
    dropped["trust-months with less than half a daily dose in all"] = int(empty.sum())
    frame = frame[~empty]
    return finish(frame, INDICATOR_ID, {k: v for k, v in dropped.items() if v})
