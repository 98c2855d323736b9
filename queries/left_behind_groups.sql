-- grain: county × group
-- params: $year, $region, $by, $min_count
with final as (
    select
        county_code,
        "group",
        schools,
        students,
        left_behind_students,
        boarding_students,
        psych_teachers,
        status,
        county_status
    from left_behind_groups
    where year = $year
      and starts_with(county_code, $region)
      and breakdown = $by
      and min_count = $min_count
)

select * from final
order by county_code, "group"
