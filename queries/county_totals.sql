-- grain: county × year
-- params: $years, $region, $scope
with final as (
    select *
    from county_year_totals
    where year in (select unnest($years))
      and starts_with(county_code, $region)
      and county_code in (select unnest($scope))
)

select * from final
order by county_code, year
