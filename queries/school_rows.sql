-- grain: school
-- params: $year, $region, $scope
with final as (
    select *
    from schools
    where year = $year
      and starts_with(county_code, $region)
      and county_code in (select unnest($scope))
)

select * from final
order by county_code, school_id
