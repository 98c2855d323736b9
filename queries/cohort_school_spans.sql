-- grain: school
-- params: $region
with school_years as (
    select
        school_id,
        year,
        parent_school_id
    from schools
    where starts_with(county_code, $region)
),

final as (
    select
        school_id,
        min(year) as first_year,
        max(year) as last_year,
        count(distinct year) as years_present,
        arg_max(parent_school_id, year) as last_parent_school_id
    from school_years
    group by school_id
)

select * from final
order by school_id
