"""The wide result_points and the views over it as they were before issue 17.2 thinned it (at commit
a75af52): the reference that tests/test_thin_points.py checks the thin tables and their views against, column
for column. Kept verbatim (generated from that commit's uptake.results.schema): do not edit it to follow
the schema."""

from __future__ import annotations

#: result_points before: (name, DuckDB type) in order
WIDE_POINT_COLUMNS: tuple[tuple[str, str], ...] = (
    ('indicator_id', 'SMALLINT'),
    ('org_id', 'INTEGER'),
    ('period', 'DATE'),
    ('numerator', 'DOUBLE'),
    ('denominator', 'DOUBLE'),
    ('members', 'INTEGER'),
    ('ci95_low', 'DOUBLE'),
    ('ci95_high', 'DOUBLE'),
    ('ci998_low', 'DOUBLE'),
    ('ci998_high', 'DOUBLE'),
    ('percent_rank', 'DOUBLE'),
    ('decile', 'TINYINT'),
    ('comparison', 'TINYINT'),
    ('comparison_plain', 'TINYINT'),
    ('comparison_method', 'TINYINT'),
    ('funnel_lower95', 'DOUBLE'),
    ('funnel_upper95', 'DOUBLE'),
    ('funnel_lower998', 'DOUBLE'),
    ('funnel_upper998', 'DOUBLE'),
    ('funnel_z', 'DOUBLE'),
    ('funnel_band', 'TINYINT'),
    ('funnel_side', 'TINYINT'),
    ('spc_segment', 'SMALLINT'),
    ('spc_centre', 'DOUBLE'),
    ('spc_moving_range', 'DOUBLE'),
    ('spc_mean_moving_range', 'DOUBLE'),
    ('spc_outside_limits', 'TINYINT'),
    ('spc_trend', 'TINYINT'),
    ('spc_two_of_three', 'TINYINT'),
    ('spc_shift', 'TINYINT'),
    ('spc_direction', 'TINYINT'),
    ('spc_rule', 'TINYINT'),
    ('spc_special_cause', 'TINYINT'),
    ('spc_reference', 'DOUBLE'),
    ('cusum_increase', 'DOUBLE'),
    ('cusum_decrease', 'DOUBLE'),
    ('cusum_threshold_increase', 'DOUBLE'),
    ('cusum_threshold_decrease', 'DOUBLE'),
    ('cusum_alert', 'TINYINT'),
    ('peer_value', 'DOUBLE'),
)

#: The five views over it, by name, as SQL
WIDE_VIEWS: dict[str, str] = {
    'result_values': (
        'SELECT i.indicator, o.level, o.code AS org_code, o.name AS org_name, p.period, p.numerator, p.'
        'denominator, CAST(p.members AS BIGINT) AS members, CASE WHEN p.denominator > 0 THEN p.numerato'
        'r / p.denominator END AS value, p.ci95_low, p.ci95_high, p.ci998_low, p.ci998_high, p.percent_'
        "rank, CAST(p.decile AS INTEGER) AS decile, ['not compared', 'similar', 'better', 'worse', 'bes"
        "t', 'worst', 'higher', 'lower', 'not eligible'][p.comparison + 1] AS comparison, ['not compare"
        "d', 'similar', 'better', 'worse', 'best', 'worst', 'higher', 'lower', 'not eligible'][p.compar"
        "ison_plain + 1] AS comparison_plain, ['interval', 'random-effects'][p.comparison_method + 1] A"
        'S comparison_method, i.synthetic FROM result_points AS p JOIN result_indicators AS i USING (in'
        'dicator_id) JOIN result_organisations AS o USING (org_id)'
    ),
    'result_funnel': (
        'SELECT i.indicator, o.level, o.code AS org_code, p.period, p.numerator, p.denominator, CASE WH'
        'EN p.funnel_band <> 3 THEN CASE WHEN p.denominator > 0 THEN p.numerator / p.denominator END EN'
        'D AS value, s.benchmark, p.funnel_lower95 AS lower95, p.funnel_upper95 AS upper95, p.funnel_lo'
        "wer998 AS lower998, p.funnel_upper998 AS upper998, ['within 95%', 'between 95% and 99.8%', 'be"
        "yond 99.8%', 'not compared'][p.funnel_band + 1] AS band, ['', 'high', 'low'][p.funnel_side + 1"
        '] AS side, p.funnel_z AS z FROM result_points AS p JOIN result_indicators AS i USING (indicato'
        'r_id) JOIN result_organisations AS o USING (org_id) LEFT JOIN result_funnel_summary AS s ON s.'
        'indicator = i.indicator AND s.level = o.level AND s.period = p.period WHERE p.funnel_band IS N'
        'OT NULL'
    ),
    'result_spc': (
        'SELECT i.indicator, o.level, o.code AS org_code, p.period, CASE WHEN p.denominator > 0 THEN p.'
        "numerator / p.denominator END AS value, CASE WHEN p.spc_reference IS NULL THEN 'value' ELSE 'd"
        "ifference from England' END AS basis, p.spc_reference AS england_value, CAST(p.spc_segment AS "
        "INTEGER) AS segment, (coalesce(p.spc_reference, CAST('0.0' AS DOUBLE)) + p.spc_centre) AS cent"
        're, p.spc_moving_range AS moving_range, p.spc_mean_moving_range AS mean_moving_range, (coalesc'
        "e(p.spc_reference, CAST('0.0' AS DOUBLE)) + p.spc_centre) + CAST('2.66' AS DOUBLE) * p.spc_mea"
        "n_moving_range AS upper_limit, (coalesce(p.spc_reference, CAST('0.0' AS DOUBLE)) + p.spc_centr"
        "e) - CAST('2.66' AS DOUBLE) * p.spc_mean_moving_range AS lower_limit, (coalesce(p.spc_referenc"
        "e, CAST('0.0' AS DOUBLE)) + p.spc_centre) + CAST('1.773' AS DOUBLE) * p.spc_mean_moving_range "
        "AS upper_two_sigma, (coalesce(p.spc_reference, CAST('0.0' AS DOUBLE)) + p.spc_centre) - CAST('"
        "1.773' AS DOUBLE) * p.spc_mean_moving_range AS lower_two_sigma, (coalesce(p.spc_reference, CAS"
        "T('0.0' AS DOUBLE)) + p.spc_centre) + CAST('0.8865' AS DOUBLE) * p.spc_mean_moving_range AS up"
        "per_one_sigma, (coalesce(p.spc_reference, CAST('0.0' AS DOUBLE)) + p.spc_centre) - CAST('0.886"
        "5' AS DOUBLE) * p.spc_mean_moving_range AS lower_one_sigma, p.spc_outside_limits AS outside_li"
        'mits, p.spc_trend AS trend, p.spc_two_of_three AS two_of_three, p.spc_shift AS shift, p.spc_di'
        "rection AS direction, ['', 'outside-limits', 'trend', 'two-of-three', 'shift'][p.spc_rule + 1]"
        " AS rule, ['common-cause', 'improvement', 'concern', 'neutral'][p.spc_special_cause + 1] AS sp"
        'ecial_cause FROM result_points AS p JOIN result_indicators AS i USING (indicator_id) JOIN resu'
        'lt_organisations AS o USING (org_id) WHERE p.spc_segment IS NOT NULL'
    ),
    'result_changes': (
        "SELECT i.indicator, o.level, o.code AS org_code, p.period, p.percent_rank * CAST('100.0' AS DO"
        'UBLE) AS percentile, p.cusum_increase, p.cusum_decrease, p.cusum_threshold_increase AS thresho'
        "ld_increase, p.cusum_threshold_decrease AS threshold_decrease, ['', 'increase', 'decrease', 'b"
        "oth'][p.cusum_alert + 1] AS alert FROM result_points AS p JOIN result_indicators AS i USING (i"
        'ndicator_id) JOIN result_organisations AS o USING (org_id) WHERE p.cusum_alert IS NOT NULL'
    ),
    'result_opportunity': (
        'SELECT indicator, level, org_code, period, numerator, denominator, value, median_value, gap_me'
        'dian, top_decile_value, gap_top_decile, peer_value, gap_peers, gap_peers_low, gap_peers_high, '
        'target_value, gap_target, unit_cost, gap_median * unit_cost AS gap_median_pounds, gap_top_deci'
        'le * unit_cost AS gap_top_decile_pounds, gap_peers * unit_cost AS gap_peers_pounds, gap_target'
        ' * unit_cost AS gap_target_pounds, synthetic FROM (SELECT i.indicator, o.level, o.code AS org_'
        'code, p.period, p.numerator, p.denominator, CASE WHEN p.denominator > 0 THEN p.numerator / p.d'
        'enominator END AS value, d.p50 AS median_value, CASE WHEN (d.p50) IS NULL THEN NULL WHEN abs(('
        "CASE WHEN i.polarity = 'high-is-good' THEN (d.p50) * p.denominator - p.numerator ELSE p.numera"
        "tor - (d.p50) * p.denominator END)) < CAST('1e-06' AS DOUBLE) THEN CAST('0.0' AS DOUBLE) ELSE "
        "greatest((CASE WHEN i.polarity = 'high-is-good' THEN (d.p50) * p.denominator - p.numerator ELS"
        "E p.numerator - (d.p50) * p.denominator END), CAST('0.0' AS DOUBLE)) END AS gap_median, CASE W"
        "HEN i.polarity = 'high-is-good' THEN d.p90 ELSE d.p10 END AS top_decile_value, CASE WHEN (CASE"
        " WHEN i.polarity = 'high-is-good' THEN d.p90 ELSE d.p10 END) IS NULL THEN NULL WHEN abs((CASE "
        "WHEN i.polarity = 'high-is-good' THEN (CASE WHEN i.polarity = 'high-is-good' THEN d.p90 ELSE d"
        ".p10 END) * p.denominator - p.numerator ELSE p.numerator - (CASE WHEN i.polarity = 'high-is-go"
        "od' THEN d.p90 ELSE d.p10 END) * p.denominator END)) < CAST('1e-06' AS DOUBLE) THEN CAST('0.0'"
        " AS DOUBLE) ELSE greatest((CASE WHEN i.polarity = 'high-is-good' THEN (CASE WHEN i.polarity = "
        "'high-is-good' THEN d.p90 ELSE d.p10 END) * p.denominator - p.numerator ELSE p.numerator - (CA"
        "SE WHEN i.polarity = 'high-is-good' THEN d.p90 ELSE d.p10 END) * p.denominator END), CAST('0.0"
        "' AS DOUBLE)) END AS gap_top_decile, p.peer_value, CASE WHEN (p.peer_value) IS NULL THEN NULL "
        "WHEN abs((CASE WHEN i.polarity = 'high-is-good' THEN (p.peer_value) * p.denominator - p.numera"
        "tor ELSE p.numerator - (p.peer_value) * p.denominator END)) < CAST('1e-06' AS DOUBLE) THEN CAS"
        "T('0.0' AS DOUBLE) ELSE greatest((CASE WHEN i.polarity = 'high-is-good' THEN (p.peer_value) * "
        "p.denominator - p.numerator ELSE p.numerator - (p.peer_value) * p.denominator END), CAST('0.0'"
        ' AS DOUBLE)) END AS gap_peers, CASE WHEN (p.peer_value) IS NULL THEN NULL WHEN abs((CASE WHEN '
        "i.polarity = 'high-is-good' THEN (p.peer_value) * p.denominator - (CASE WHEN i.polarity = 'hig"
        "h-is-good' THEN p.ci95_high ELSE p.ci95_low END) * p.denominator ELSE (CASE WHEN i.polarity = "
        "'high-is-good' THEN p.ci95_high ELSE p.ci95_low END) * p.denominator - (p.peer_value) * p.deno"
        "minator END)) < CAST('1e-06' AS DOUBLE) THEN CAST('0.0' AS DOUBLE) ELSE greatest((CASE WHEN i."
        "polarity = 'high-is-good' THEN (p.peer_value) * p.denominator - (CASE WHEN i.polarity = 'high-"
        "is-good' THEN p.ci95_high ELSE p.ci95_low END) * p.denominator ELSE (CASE WHEN i.polarity = 'h"
        "igh-is-good' THEN p.ci95_high ELSE p.ci95_low END) * p.denominator - (p.peer_value) * p.denomi"
        "nator END), CAST('0.0' AS DOUBLE)) END AS gap_peers_low, CASE WHEN (p.peer_value) IS NULL THEN"
        " NULL WHEN abs((CASE WHEN i.polarity = 'high-is-good' THEN (p.peer_value) * p.denominator - (C"
        "ASE WHEN i.polarity = 'high-is-good' THEN p.ci95_low ELSE p.ci95_high END) * p.denominator ELS"
        "E (CASE WHEN i.polarity = 'high-is-good' THEN p.ci95_low ELSE p.ci95_high END) * p.denominator"
        " - (p.peer_value) * p.denominator END)) < CAST('1e-06' AS DOUBLE) THEN CAST('0.0' AS DOUBLE) E"
        "LSE greatest((CASE WHEN i.polarity = 'high-is-good' THEN (p.peer_value) * p.denominator - (CAS"
        "E WHEN i.polarity = 'high-is-good' THEN p.ci95_low ELSE p.ci95_high END) * p.denominator ELSE "
        "(CASE WHEN i.polarity = 'high-is-good' THEN p.ci95_low ELSE p.ci95_high END) * p.denominator -"
        " (p.peer_value) * p.denominator END), CAST('0.0' AS DOUBLE)) END AS gap_peers_high, i.target A"
        "S target_value, CASE WHEN (i.target) IS NULL THEN NULL WHEN abs((CASE WHEN i.polarity = 'high-"
        "is-good' THEN (i.target) * p.denominator - p.numerator ELSE p.numerator - (i.target) * p.denom"
        "inator END)) < CAST('1e-06' AS DOUBLE) THEN CAST('0.0' AS DOUBLE) ELSE greatest((CASE WHEN i.p"
        "olarity = 'high-is-good' THEN (i.target) * p.denominator - p.numerator ELSE p.numerator - (i.t"
        "arget) * p.denominator END), CAST('0.0' AS DOUBLE)) END AS gap_target, i.unit_cost, i.syntheti"
        'c FROM result_points AS p JOIN result_indicators AS i USING (indicator_id) JOIN result_organis'
        'ations AS o USING (org_id) JOIN result_deciles AS d ON d.indicator = i.indicator AND d.level ='
        " o.level AND d.period = p.period WHERE i.polarity <> 'no-judgement' AND p.ci95_low IS NOT NULL"
        " AND o.level <> 'england' AND p.comparison <> 8)"
    ),
}
