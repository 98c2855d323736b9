-- grain: school × year
-- params: $region, $scope
with final as (
    select *
    from schools
    where starts_with(county_code, $region)
      and county_code in (select unnest($scope))
)

select * from final
order by county_code, school_id, year
