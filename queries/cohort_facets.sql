-- grain: cohort × facet × value
-- params: $region, $year_from, $year_to
-- `cohort` is replaced by a cohort's published rows, one per school-year and facet column: `facet` (the column's
-- name) and `value` (its value as text); as written, the region's school types
with cohort as (
    select 'a' as cohort, 'school_type' as facet, school_type as value
    from schools
    where starts_with(county_code, $region) and year between $year_from and $year_to
),

final as (
    select
        cohort,
        facet,
        value,
        count(*) as school_years
    from cohort
    where value is not null
    group by cohort, facet, value
)

select * from final
order by cohort, facet, value
