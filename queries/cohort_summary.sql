-- grain: cohort × measure
-- params: $region, $year_from, $year_to
-- `cohort` is replaced by a cohort's published rows, one per school-year and measure: `measure`, `value` and
-- `weight` (its students); as written, the region's students per teacher
with cohort as (
    select
        'a' as cohort,
        'students_per_teacher' as measure,
        (primary_students + junior_students + coalesce(senior_students, 0)) / nullif(teachers, 0) as value,
        primary_students + junior_students as weight
    from schools
    where starts_with(county_code, $region) and year between $year_from and $year_to
),

valid as (
    select
        cohort,
        measure,
        value::double as value,
        weight::double as weight
    from cohort
    where value is not null
      and not isnan(value::double)
      and weight is not null
),

statistics as (
    select
        cohort,
        measure,
        count(*) as schools,
        case when sum(weight) > 0 then sum(value * weight) / sum(weight) end as mean,
        quantile_cont(value, [0.5, 0.1, 0.9]) as quantiles  -- one pass for the three
    from valid
    group by cohort, measure
),

final as (
    select
        cohort,
        measure,
        schools,
        mean,
        quantiles[1] as median,
        quantiles[2] as p10,
        quantiles[3] as p90
    from statistics
)

select * from final
order by cohort, measure
