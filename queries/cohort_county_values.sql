-- grain: county × measure
-- params: $region, $year_from, $year_to
-- `cohort` is replaced by a cohort's published rows, one per school-year and measure: `county_code`, `school_id`,
-- `weight` (its students), `measure` and `value`; as written, the region's students per teacher
with cohort as (
    select
        county_code,
        school_id,
        primary_students + junior_students as weight,
        'students_per_teacher' as measure,
        (primary_students + junior_students + coalesce(senior_students, 0)) / nullif(teachers, 0) as value
    from schools
    where starts_with(county_code, $region) and year between $year_from and $year_to
),

flagged as (
    select
        county_code,
        school_id,
        weight,
        measure,
        value::double as value,
        value is not null and not isnan(value::double) and weight is not null as is_valid
    from cohort
),

final as (
    select
        county_code,
        measure,
        count(distinct school_id) as schools,
        coalesce(sum(weight), 0) as students,
        case when sum(weight::double) filter (where is_valid) > 0
            then sum(value * weight::double) filter (where is_valid) / sum(weight::double) filter (where is_valid)
        end as mean
    from flagged
    group by county_code, measure
)

select * from final
order by county_code, measure
