-- grain: cohort × year
-- params: $region, $year_from, $year_to
-- `cohort` is replaced by a cohort's published rows: `cohort`, `year`, `students` and `value` (the measure), one
-- per school-year; as written, the region's students per teacher
with cohort as (
    select
        'a' as cohort,
        year,
        primary_students + junior_students as students,
        (primary_students + junior_students + coalesce(senior_students, 0)) / nullif(teachers, 0) as value
    from schools
    where starts_with(county_code, $region) and year between $year_from and $year_to
),

flagged as (
    select
        cohort,
        year,
        students,
        students::double as weight,
        value::double as value,
        value is not null and not isnan(value::double) and students is not null as is_valid
    from cohort
),

statistics as (
    select
        cohort,
        year,
        count(*) as school_count,
        coalesce(sum(students), 0) as students,
        count(*) filter (where is_valid) as schools,
        case when sum(weight) filter (where is_valid) > 0
            then sum(value * weight) filter (where is_valid) / sum(weight) filter (where is_valid)
        end as mean,
        quantile_cont(value, [0.5, 0.1, 0.9]) filter (where is_valid) as quantiles
    from flagged
    group by cohort, year
),

final as (
    select
        * exclude (quantiles),
        quantiles[1] as median,
        quantiles[2] as p10,
        quantiles[3] as p90
    from statistics
)

select * from final
order by cohort, year
