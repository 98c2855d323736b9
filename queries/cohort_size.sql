-- grain: cohort
-- params: $region, $year_from, $year_to
-- `cohort` is replaced by a cohort's published rows (junheng/data/cohort.py); as written, the region's school-years
with cohort as (
    select 'a' as cohort, year, school_id, primary_students + junior_students as students
    from schools
    where starts_with(county_code, $region) and year between $year_from and $year_to
),

last_year as (
    select cohort, max(year) as year
    from cohort
    group by cohort
),

final as (
    select
        cohort.cohort,
        count(distinct cohort.school_id) as schools,
        count(*) as school_years,
        coalesce(sum(cohort.students) filter (where cohort.year = last_year.year), 0) as students,
        any_value(last_year.year) as year,
        count(*) filter (where cohort.year = last_year.year) as last_year_rows
    from cohort
    inner join last_year on cohort.cohort = last_year.cohort
    group by cohort.cohort
)

select * from final
order by cohort
