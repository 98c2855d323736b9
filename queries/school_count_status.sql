-- grain: school × year
-- params: $region, $year_from, $year_to, $min_count
with final as (
    select
        year,
        county_code,
        school_id,
        left_behind_status,
        migrant_status
    from school_count_status
    where starts_with(county_code, $region)
      and year between $year_from and $year_to
      and min_count = $min_count
)

select * from final
order by county_code, school_id, year
