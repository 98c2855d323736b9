-- grain: cohort × facet × value
-- params: $region, $year_from, $year_to
-- `cohort` is replaced by a cohort's published rows: `cohort`, `year`, `school_id`, `students` and each facet column
-- as text; as written, the region's school types. One row for the cohort's size (facet and value null: schools,
-- school-years, students and rows of its last year), then one per facet value with its school-years.
with cohort as materialized (
    select
        'a' as cohort,
        year,
        school_id,
        primary_students + junior_students as students,
        school_type::varchar as school_type
    from schools
    where starts_with(county_code, $region) and year between $year_from and $year_to
),

last_year as (
    select cohort, max(year) as year
    from cohort
    group by cohort
),

sizes as (
    select
        cohort.cohort,
        null::varchar as facet,
        null::varchar as value,
        count(*) as school_years,
        count(distinct cohort.school_id) as schools,
        coalesce(sum(cohort.students) filter (where cohort.year = last_year.year), 0) as students,
        any_value(last_year.year) as year,
        count(*) filter (where cohort.year = last_year.year) as last_year_rows
    from cohort
    inner join last_year on cohort.cohort = last_year.cohort
    group by cohort.cohort
),

facet_values as (
    unpivot (select * exclude (year, school_id, students) from cohort)
    on columns(* exclude (cohort))
    into name facet value value
),

facets as (
    select
        cohort,
        facet,
        value,
        count(*) as school_years,
        null::bigint as schools,
        null::hugeint as students,
        null::integer as year,
        null::bigint as last_year_rows
    from facet_values
    where value is not null
    group by cohort, facet, value
),

final as (
    select * from sizes
    union all by name
    select * from facets
)

select * from final
order by cohort, facet nulls first, value
