"""Honest units: every opportunity figure and headline says what it counts, from the indicator's catalogue
entry (`counts`), and its pounds say what they are (`pounds_meaning`, `pounds_label`) with their sign.
"patients" appears only where the count is of patients.

The page tests take each bundled indicator's definition in turn and put it in place of the test workspace's
`doac-share` (whose results the pages then show): the home page's and the innovation page's headline must
use that indicator's unit, and never say "patients" unless the unit is patients.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from uptake.catalogue import Catalogue, load_catalogue
from uptake.catalogue.schemas import PoundsMeaning
from uptake.web import formatting as fmt

BUNDLED = load_catalogue()

#: what each bundled indicator's numerator (and so its opportunity) and denominator count, from its
#: definition (the YAML's numerator and denominator, docs/catalogue.md, sources/data/PROVENANCE.md)
EXPECTED_UNITS = {
    "doac-share": ("prescription items", "prescription items"),
    "edoxaban-share": ("prescription items", "prescription items"),
    "thrombolysis-rate": ("admissions treated with thrombolysis", "stroke admissions"),
    "thrombolysis-rate-all-admissions": ("admissions treated with thrombolysis", "stroke admissions"),
    "qof-af-achievement": ("register-weighted achievement points", "patients on the AF register"),
    "qof-hypertension-achievement": ("register-weighted achievement points",
                                     "patients on the hypertension register"),
    "qof-stroke-tia-achievement": ("register-weighted achievement points", "patients on the stroke and TIA register"),
    "narcolepsy-newer-share": ("defined daily doses", "defined daily doses"),
    "lung-cancer-early-stage": ("lung cancers diagnosed at stage 1 or 2", "lung cancers with a recorded stage"),
    "dementia-diagnosis-rate": ("people aged 65+ with a dementia diagnosis",
                                "people aged 65+ estimated to have dementia"),
    "doac-share-2012": ("prescription items", "prescription items"),
    "sglt2-items-per-1000": ("prescription items", "registered patients"),
    "cgm-sensors-per-1000": ("sensors", "registered patients"),
    "breast-cancer-ta-medicines-add": ("average daily quantities", "residents"),
    "covid-remdesivir-ddd": ("defined daily doses", "trust-days"),
    "covid-tocilizumab-ddd": ("defined daily doses", "trust-days"),
}
#: published as values only: no counts to name (the pages say why: uptake.web.methods.SHARE_ONLY_NOTE)
SHARE_ONLY = {"doac-share-practice", "cgm-sensors-per-1000-practice"}


def test_every_bundled_indicator_says_what_it_counts():
    assert set(EXPECTED_UNITS) | SHARE_ONLY == set(BUNDLED.indicators)
    for ind in BUNDLED.indicators.values():
        if ind.id in SHARE_ONLY:
            assert ind.share_only and ind.counts is None and ind.unit_cost is None, ind.id
            continue
        assert ind.counts is not None, f"{ind.id}: no counts in its YAML"
        assert (ind.counts.plural, ind.counts.denominator_unit.plural) == EXPECTED_UNITS[ind.id], ind.id
        assert ind.counts.unit != ind.counts.plural, ind.id
        # "patients" only where the definition counts patients
        for text, definition in ((ind.counts.plural, ind.numerator), (ind.counts.denominator_unit.plural,
                                                                      ind.denominator)):
            if "patient" in text:
                assert "patients" in definition.lower() and "not a count of patients" not in definition.lower()
        if ind.unit_cost is not None:
            assert ind.pounds_meaning is not None, f"{ind.id}: unit_cost without pounds_meaning"
    qof = BUNDLED.indicators["qof-af-achievement"]
    assert "not a count of patients" in qof.numerator.lower() and "patient" not in qof.counts.plural
    doac = BUNDLED.indicators["doac-share"]
    assert doac.pounds_meaning == PoundsMeaning.EXTRA_COST and doac.pounds_text == "extra drug cost"


def test_pounds_meaning_needs_a_unit_cost():
    from pydantic import ValidationError

    entry = BUNDLED.indicators["edoxaban-share"].model_dump()
    with pytest.raises(ValidationError, match="pounds_meaning"):
        type(BUNDLED.indicators["edoxaban-share"]).model_validate({**entry, "pounds_meaning": "saving"})


def test_formatting_counts_and_signed_pounds():
    doac = BUNDLED.indicators["doac-share"]
    saving = doac.model_copy(update={"pounds_meaning": PoundsMeaning.SAVING, "pounds_label": None})
    assert fmt.counted(doac, 89414.2) == "89,414 prescription items"
    assert fmt.counted(doac, 1.0) == "1 prescription item"
    assert fmt.counted_more(doac, 89414) == "89,414 more prescription items"
    assert fmt.counted_more(doac, float("nan")) == fmt.NOT_AVAILABLE
    assert fmt.extra_heading(doac) == "Extra prescription items"
    assert fmt.pounds_heading(doac) == "Extra drug cost (£)" and fmt.pounds_heading(saving) == "Saving (£)"
    assert fmt.pounds_meant(doac, 4_157_751.0) == "+£4.2 million extra drug cost"
    assert fmt.pounds_meant(saving, 1200.0) == "\u2212£1,200 saving"
    assert fmt.signed_pounds(doac, 0.2) == "£0"
    assert fmt.pounds_meant(doac, None) == "-"
    assert fmt.unit_cost_text(doac) == "£46.50 per prescription item (extra drug cost)"
    bare = BUNDLED.indicators["edoxaban-share"].model_copy(update={"counts": None})
    assert fmt.counted(bare, 3) == "3 units of the numerator"  # an entry that does not say claims nothing


# --- the pages, with each bundled indicator's definition in place of the test doac-share -------------------


def _app_with(demo, definition):
    """An app over the web tests' workspace whose `doac-share` says what ``definition`` says about itself
    (title, numerator, denominator, counts, unit cost and what its pounds are)."""
    from web_support import workspace_builder

    from uptake.web.app import create_app

    base = demo.built.catalogue
    fields = ("title", "numerator", "denominator", "counts", "unit_cost", "pounds_meaning", "pounds_label")
    swapped = base.indicators["doac-share"].model_copy(update={f: getattr(definition, f) for f in fields})
    catalogue = Catalogue(innovations=base.innovations, indicators={**base.indicators, "doac-share": swapped})
    return create_app(demo.workspace, catalogue=catalogue, boundaries=workspace_builder.boundaries,
                      secret_key="test-secret-key-" + "x" * 32), swapped


HEADLINE = re.compile(r'<p class="[^"]*uptake-opportunity-headline[^"]*" data-indicator="doac-share">(.*?)</p>', re.S)
NATIONAL = re.compile(r"<p[^>]*>(If every [^<]* below the top decile reached it:.*?)</p>", re.S)


def _headline(html: str) -> str:
    """The organisation pack's sentence for doac-share, as text."""
    found = HEADLINE.findall(html)
    assert len(found) == 1, "no opportunity headline for doac-share"
    return re.sub(r"<[^>]+>", "", found[0])


def _national_headline(html: str, after: str) -> str:
    """The national opportunity's sentence ("If every ... below the top decile reached it: ...") that first
    follows ``after`` (the home page's doac-share card, or the innovation page's results), as text."""
    found = NATIONAL.search(html, html.index(after))
    assert found, f"no national opportunity headline after {after!r}"
    return re.sub(r"<[^>]+>", "", found.group(1))


SAVING = BUNDLED.indicators["doac-share"].model_copy(update={"pounds_meaning": PoundsMeaning.SAVING,
                                                             "pounds_label": "saving in drug costs"})


COUNTED = [ind for ind in BUNDLED.indicators.values() if not ind.share_only]


@pytest.mark.parametrize("definition", [*COUNTED, SAVING], ids=[*(i.id for i in COUNTED), "doac-share-as-a-saving"])
def test_home_and_innovation_headlines_use_the_indicators_unit(demo, definition):
    app, ind = _app_with(demo, definition)
    plural = ind.counts.plural
    with TestClient(app, base_url="http://testserver") as client:
        for address, after in (("/", "?indicator=doac-share"),
                               ("/innovations/doacs?indicator=doac-share", 'id="results"')):
            headline = _national_headline(client.get(address).text, after)
            assert f" more {plural}" in headline, (address, headline)
            if "patient" not in plural:
                assert "patient" not in headline.lower(), (address, headline)
            if ind.unit_cost is not None:  # the pounds say what they are, with their sign
                sign = "\u2212£" if ind.pounds_meaning == PoundsMeaning.SAVING else "+£"
                assert f"({sign}" in headline and f" {ind.pounds_text})" in headline, (address, headline)
            else:
                assert "£" not in headline, (address, headline)


#: a number of patients, or an opportunity in patients (the methods may still speak of "each patient's" area)
PATIENT_COUNT = re.compile(r"[\d,]+(?:\.\d+)?\s+(?:more\s+)?patients|extra\s+patients|in\s+patients", re.I)


def test_no_page_says_patients_for_indicators_that_do_not_count_them(client, signed_in):
    """None of the test workspace's indicators counts patients: the home page, the innovation pages and the
    organisation pack (signed in) never say "patients"."""
    admin = signed_in("national-admin")
    for c, address in ((client, "/"), (client, "/innovations/doacs"), (client, "/innovations/dementia-diagnosis"),
                       (admin, "/innovations/doacs"), (admin, "/organisations/MJ0?indicator=doac-share"),
                       (admin, "/organisations/RAL?indicator=narcolepsy-newer-share")):
        text = re.sub(r"<[^>]+>", " ", c.get(address).text)
        found = PATIENT_COUNT.search(text)
        assert found is None, (address, text[max(0, found.start() - 200):found.end() + 50])


def test_opportunity_tables_head_their_columns_with_the_unit(client, signed_in):
    page = client.get("/innovations/doacs?indicator=doac-share").text
    assert "Extra prescription items in England" in page and "Extra drug cost (£)" in page
    assert "Value (£)" not in page and "Extra patients" not in page
    assert re.search(r"\+£[\d.,]+( million)?</td>", page)  # the cost comes with its sign
    admin = signed_in("national-admin")
    page = admin.get("/innovations/doacs?indicator=doac-share").text
    assert ">Extra prescription items<" in page
    pack = admin.get("/organisations/MJ0?indicator=doac-share").text
    # one organisation on every indicator: each cell says its own unit and what its pounds are
    assert re.search(r"[\d,]+ prescription items?</td>", pack)
    assert re.search(r"[\d,]+ defined daily doses?</td>", pack) is None  # narcolepsy is a trust indicator
    assert "extra drug cost</td>" in pack
    headline = _headline(pack)
    assert "prescription item" in headline and "top decile" in headline
    dementia = admin.get("/organisations/MJ0?indicator=dementia-diagnosis-rate").text
    assert "Extra patients" not in dementia


def test_downloads_and_api_keep_their_raw_names_and_say_the_unit(client, signed_in):
    admin = signed_in("national-admin")
    csv = admin.get("/download/opportunity-totals.csv?indicator=doac-share").text
    assert "extra_patients" in csv.splitlines()[0] and "extra_pounds" in csv.splitlines()[0]
    answer = client.get("/api/v1/indicators/doac-share").json()
    assert answer["counts"]["plural"] == "prescription items"
    assert answer["pounds_meaning"] == "extra-cost" and answer["pounds_label"] == "extra drug cost"
    assert answer["unit"] == "%"  # the value's unit is unchanged
