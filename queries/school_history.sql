-- grain: school × year
-- params: $region
with final as (
    select *
    from schools_by_county($region)
    where starts_with(county_code, $region)
)

select * from final
order by county_code, school_id, year
