"""The "how was this calculated" text of each figure: method, with its source. Shown in an NHS.UK details
component under every figure, with the figure's inputs and the load batch its data came from."""

from __future__ import annotations

#: what a page says of a share-only indicator (values published without their counts), where the intervals,
#: funnel, comparisons and opportunity would be
SHARE_ONLY_NOTE = (
    "This indicator is published as values only: the counts behind each value (numerator and denominator) are "
    "not published. Without them there is no confidence interval, no funnel plot, no comparison with England "
    "and no opportunity, because each needs to know how many items or patients a value rests on. Deciles, maps, "
    "SPC charts, changes and adoption are shown. An area's and England's value is the unweighted "
    "mean of its organisations' values, not a pooled rate."
)


METHODS: dict[str, str] = {
    "value": (
        "Each organisation's value is its pooled numerator divided by its pooled denominator for the period. "
        "Figures for ICBs, NHS regions and England are rolled up through the organisation hierarchy by adding "
        "numerators and denominators (not by averaging rates), so a large organisation counts for more."
    ),
    "interval": (
        "95% and 99.8% confidence intervals: the Wilson score interval for proportions; Byar's method for counts "
        "and rates (exact Poisson below 10 events), as in PHE/OHID Fingertips technical guidance."
    ),
    "share_only": SHARE_ONLY_NOTE,
    "improvement": (
        "Improvement ranking: each organisation's value at the end of the chosen period minus its value at the "
        "start (percentage points for a proportion), largest improvement first by the indicator's polarity "
        "(largest rise when it has none). The 95% interval of the change: for a proportion, Newcombe's hybrid "
        "score interval for the difference of two independent proportions, built from the two Wilson intervals "
        "(Newcombe 1998, method 10); for a rate, the difference of two Poisson rates with a normal approximation "
        "(variance numerator / denominator squared at each end). The two periods are treated as independent "
        "samples: where the same patients appear at both ends the interval is somewhat wide. Share-only "
        "indicators have no counts, so their change has no interval. 'Clear improvement' or 'clear decline' "
        "when the interval excludes 0, else 'no clear change'. Organisations without a value at both ends are "
        "not ranked."
    ),
    "deciles": (
        "Percentiles of the organisations' values at this level in each period (10th to 90th). The band on the "
        "chart is the spread between the 10th and 90th percentile organisations, as OpenPrescribing draws it."
    ),
    "comparison": (
        "Compared with England: 'similar' when England's value is inside the organisation's 95% interval, "
        "otherwise better or worse according to the indicator's polarity (or higher/lower when it has none); "
        "'(99.8%)' when outside the 99.8% interval too. Where organisations differ from each other far more "
        "than chance allows (the funnel plot's over-dispersion), the comparison is the funnel plot's: the value "
        "against its random-effects limits around England (Spiegelhalter 2005), so the table and the funnel "
        "give one answer; the plain interval's judgement is kept in the downloads (comparison_plain)."
    ),
    "map": (
        "Each area is shaded by its value in the period (darker is better; for 'lower is better' indicators the "
        "scale is reversed). Boundaries: ONS/NHS England boundaries bundled with Uptake, simplified; no map "
        "tiles are used."
    ),
    "funnel": (
        "Funnel plot (Spiegelhalter 2005): each organisation's value against its denominator, with control "
        "limits around England's value at 95% and 99.8%. Where the data are over-dispersed the limits are "
        "widened by the additive random-effects adjustment (Spiegelhalter 2005, winsorised at 10%)."
    ),
    "spc": (
        "SPC chart in the NHS England Making Data Count style: an XmR chart with the mean and process limits "
        "(mean ± 2.66 × mean moving range). Special cause is flagged by the four rules: a point outside the "
        "limits; a shift of 7 or more points on one side of the mean; a trend of 7 or more points rising or "
        "falling; two of three points close to a limit. Icons summarise the latest variation and, where a "
        "target exists, whether the process will reliably meet it (assurance). For an innovation whose national "
        "uptake is an S-curve (DOACs) each organisation's difference from England is charted instead, with new "
        "limits each April, so that the chart shows where it moved differently from England rather than the "
        "national trend."
    ),
    "league": (
        "Organisations ordered so that the best value comes first (by the indicator's polarity), with the "
        "decile of each (10 = top 10%) and its comparison with England."
    ),
    "peers": (
        "The 10 most similar organisations of the same type (NHS RightCare method): nearest neighbours on "
        "standardised characteristics of their registered populations, from published data only: deprivation "
        "(IMD), population or list size, the share aged 65 or over and rurality (areas take their practices' "
        "values weighted by list size). Trusts and stroke units, which have no registered population, are "
        "matched on the size of the groups the real indicators measure there. Synthetic data never choose "
        "peers."
    ),
    "nearby": (
        "The 10 nearest organisations of the same type by straight-line distance between their coordinates, "
        "ordered best first by the indicator's polarity: who close by already does it well."
    ),
    "opportunity": (
        "Opportunity: the extra numerator if each organisation below a benchmark reached it, counted in "
        "what the indicator's numerator counts (prescription items, stroke admissions, daily doses, "
        "achievement points, people: never patients unless it counts patients): (benchmark − value) × "
        "denominator, counting positive gaps only; and in pounds where the indicator defines a unit cost: "
        "the extra numerator × the unit cost, shown as a cost (+) or a saving (−) as the indicator states. "
        "Benchmarks: the median, the top decile, the mean of the best 5 of the organisation's 10 peers, and "
        "the stated target."
    ),
    "adoption": (
        "An organisation adopts in the first period its value crosses the indicator's adoption threshold. "
        "Adopter categories follow Rogers (innovators 2.5%, early adopters 13.5%, early majority 34%, late "
        "majority 34%, laggards 16%) by the order of adoption; organisations that have not crossed the "
        "threshold are 'not yet'."
    ),
    "forecast": (
        "A Bass diffusion curve (Bass 1969: value = m F(t), F the share of the potential m reached t months "
        "after take-off, p the coefficient of innovation and q of imitation) is fitted to each organisation's "
        "series by least squares, all series at once. The take-off date is one per indicator, from England's "
        "series. Each organisation's (m, p, q) is pooled towards its ICB's curve (or England's) by empirical-"
        "Bayes shrinkage: a short or noisy series stays near its parent's curve, a long clean one keeps its "
        "own ('share of the fit from its own data'). The 95% band is a prediction interval: draws of the "
        "parameters from the fit's approximate posterior plus the series' own month-to-month noise, then "
        "widened by how far a forecast made within the data missed the months held back. Series with fewer "
        "than 6 values have no curve. It extrapolates today's pace: a new policy or a shortage is not in it. "
        "Full method and out-of-sample errors: docs/forecasts.md."
    ),
    "forecast_target": (
        "Time to target: the first month the fitted curve reaches the commitment's target (never, if the "
        "curve levels off below it); the range is when the band's upper and lower edges reach it. Probability "
        "of meeting the deadline: the chance that the value for the deadline's month is at or above the "
        "target, reading the 95% prediction band as a normal distribution on each side of the forecast. "
        "'Likely' is 90% or more, 'more likely than not' 50-90%, 'unlikely' 10-50%, 'very unlikely' under 10%."
    ),
    "forecast_categories": (
        "Adopter category from the fitted curve: each organisation's fitted adoption date (when its curve "
        "reaches the adoption threshold, projected for those not there yet) cut into Rogers' categories by "
        "the mean and standard deviation of those dates; beside it, today's category from the first period "
        "its observed value crossed the threshold. 'Not on the curve': its curve levels off below the threshold."
    ),
    "changes": (
        "Changes are found as OpenPrescribing finds them (Walker et al., BMC Medical Informatics and Decision "
        "Making 2018): a CUSUM on each organisation's percentile among organisations of the same type, period by "
        "period. The reference is the mean and standard deviation of its first 12 periods; movements of more than "
        "half a standard deviation away from the reference are added up, upwards and downwards separately, and a "
        "change is detected when a sum passes 5 standard deviations. After an alert the reference moves to the "
        "latest 12 periods. A change runs from its first to its latest alert in a row; it started in the period "
        "after the sum last stood at zero (the usual CUSUM estimate of when a shift began), and its size is the "
        "percentile at the latest alert minus the percentile just before it started. It is ongoing when the "
        "latest alert is in the period shown. A percentile measures the organisation against the others, so a "
        "change may come from other organisations moving as well as from its own value."
    ),
    "equity": (
        "Slope index of inequality (SII; Low and Low, Journal of Public Health 2004; the OHID Fingertips "
        "method): organisations are grouped by the deprivation quintile of their area (Index of Multiple "
        "Deprivation; 1 = most deprived). Each quintile's value is its organisations' numerators over their "
        "denominators. The quintiles are placed along the population ranked from most to least deprived, each at "
        "the middle of its share of the denominator, and a straight line is fitted weighted by those shares. The "
        "SII is the fitted value at the least deprived end minus the fitted value at the most deprived end: "
        "positive means higher values in less deprived areas. The relative index (RII) is the SII divided by the "
        "average value. The 95% interval comes from simulation (as OHID does): each quintile's value is "
        "redrawn 1,000 times from the spread its numerator and denominator allow by chance (binomial draws "
        "for proportions, Poisson for rates), the line refitted to each draw, and the middle 95% of the "
        "refitted SIIs kept; an interval that includes 0 means the gap may be chance. Deprivation is the "
        "organisation's (its area's or practice's IMD), not each patient's."
    ),
    "s_curve": (
        "England's value over time (numerators and denominators of every organisation added up), each NHS "
        "region's, and the spread of organisations between the 10th and 90th percentile."
    ),
    "outcomes": (
        "Outcomes of closing the gap: the gap (extra units of the indicator at the benchmark, per organisation or "
        "in England) times the outcome model's draws per unit (10,000 draws of its parameters, each drawn from "
        "its stated 95% interval), summarised as the mean and the 2.5th and 97.5th percentiles. Outcomes are "
        "linear in the gap, so an organisation's interval is its gap times the per-unit interval; the gap itself "
        "is taken as measured. Where the indicator counts prescription items, items become patient-years at 12 "
        "to 13.04 items per patient a year. Models, parameters and sources: docs/outcomes.md."
    ),
    "deciles_chart": (
        "OpenPrescribing's deciles chart: the organisation's value each period (the solid line) drawn over the "
        "10th, 20th ... 90th percentiles of every organisation of its level in England that period (dashed: the "
        "10th and 90th; thick dashed: the median; dotted: the others). Percentiles are computed by the pipeline "
        "from the organisations' values (result_deciles); the organisation's decile is 1 (lowest tenth) to 10."
    ),
    "spine": (
        "Fingertips' spine chart: for each indicator, the spread of every organisation of the same level in the "
        "benchmark's area in the organisation's latest period: the light bar from the worst (or lowest) to the "
        "best (or highest) value, the dark bar from the 25th to the 75th percentile (linear interpolation), the "
        "black line the benchmark's own value. Each side is scaled so that the organisation furthest from the "
        "benchmark reaches the end, so better is always to the right (higher, where the indicator has no better "
        "direction). The marker is the organisation's value, coloured and shaped by its comparison with the "
        "benchmark (the comparison method above); organisations that do not provide the service are left out."
    ),
    "trend": (
        "The recent trend is the latest point of the organisation's SPC chart (Making Data Count's variation "
        "icon): 'improving' or 'getting worse' when its latest point is a special cause (outside the process "
        "limits, a run of points on one side of the mean, or a trend of points rising or falling), with the "
        "arrow saying which way; 'no significant change' when it is common-cause variation; '-' when the series "
        "is too short to judge (fewer than 13 points). For indicators charted on their difference from England "
        "(spreading innovations), the trend is relative to England. 'Worse and getting worse' (Fingertips): "
        "worse than the benchmark (its 95% interval wholly on the worse side) and getting worse."
    ),
    "rug": (
        "Fingertips' tartan rug: each organisation of the chosen level in the area (rows) on each indicator "
        "(columns), in the indicator's latest period at that level, each cell coloured by the organisation's "
        "comparison with England (green better, red worse, amber similar, blue higher or lower where the "
        "indicator has no better direction, white not compared); the area's own value and England's are the "
        "first rows. The value is written in every cell, so the rug is read without colour too."
    ),
}
