-- grain: school
-- params: $year, $region
with final as (
    select *
    from schools
    where year = $year
      and starts_with(county_code, $region)
)

select * from final
order by county_code, school_id
