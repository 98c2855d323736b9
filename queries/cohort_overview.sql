-- grain: cohort × facet × value
-- params: $region, $year_from, $year_to
-- `cohort` is replaced by a cohort's published rows: `cohort` (one), `year`, `school_id`, `students` and each facet
-- column; as written, the region's school types. One row for the cohort's size (facet and value null: schools,
-- school-years, students and rows of its last year), then one per facet value with its school-years.
with cohort as materialized (
    select
        'a' as cohort,
        year,
        school_id,
        primary_students + junior_students as students,
        school_type
    from schools
    where starts_with(county_code, $region) and year between $year_from and $year_to
),

last_year as (
    select max(year) as year from cohort
),

sizes as (
    select
        any_value(cohort) as cohort,
        null::varchar as facet,
        null::varchar as value,
        count(*) as school_years,
        count(distinct school_id) as schools,
        coalesce(sum(students) filter (where year = (select year from last_year)), 0) as students,
        (select year from last_year) as year,
        count(*) filter (where year = (select year from last_year)) as last_year_rows
    from cohort
    having count(*) > 0
),

-- the facet columns' combinations first (a few dozen), then each column's values: far fewer rows to unpivot
combinations as (
    select cohort, columns(* exclude (cohort, year, school_id, students)), count(*) as school_years
    from cohort
    group by all
),

facet_values as (
    unpivot (select cohort, school_years, columns(* exclude (cohort, school_years))::varchar from combinations)
    on columns(* exclude (cohort, school_years))
    into name facet value value
),

facets as (
    select
        cohort,
        facet,
        value,
        sum(school_years) as school_years,
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
