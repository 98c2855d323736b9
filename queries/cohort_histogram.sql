-- grain: cohort × bin
-- params: $region, $year_from, $year_to, $bins
-- `cohort` is replaced by the cohorts' published rows: `cohort` and `value` (the measure); as written, the
-- region's students per teacher. Bins span p0.5–p99.5 of all the values (the value nearest to each, as Polars'
-- quantile takes it), so that a few extreme schools do not squash the rest; the end bins are open.
with cohort as (
    select
        'a' as cohort,
        (primary_students + junior_students + coalesce(senior_students, 0)) / nullif(teachers, 0) as value
    from schools
    where starts_with(county_code, $region) and year between $year_from and $year_to
),

valid as (
    select cohort, value::double as value
    from cohort
    where value is not null and not isnan(value::double)
),

ranked as (
    select
        value,
        row_number() over (order by value) - 1 as position,
        count(*) over () as n
    from valid
),

bounds as (
    select
        max(value) filter (where position = round((n - 1) * 0.005)) as q_low,
        max(value) filter (where position = round((n - 1) * 0.995)) as q_high,
        min(value) as v_min,
        max(value) as v_max
    from ranked
),

edges as (
    select
        case when q_high > q_low then q_low else v_min end as low,
        case when q_high > q_low then q_high when v_max = v_min then v_max + 1 else v_max end as high
    from bounds
),

binned as (
    select
        valid.cohort,
        -- times the width's reciprocal, as Polars divides by a number: a value on a bin edge falls in the same bin
        least(greatest(floor((valid.value - edges.low) * (1 / ((edges.high - edges.low) / $bins))), 0), $bins - 1)
            ::bigint as bin
    from valid
    cross join edges
),

final as (
    select
        binned.cohort,
        binned.bin,
        count(*) as count,
        any_value(edges.low) as low,
        any_value(edges.high) as high
    from binned
    cross join edges
    group by binned.cohort, binned.bin
)

select * from final
order by cohort, bin
