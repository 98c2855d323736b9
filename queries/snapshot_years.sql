-- grain: year
-- params: $scope
select
    year,
    sum(schools) as schools
from county_year_totals
where county_code in (select unnest($scope))
group by year
order by year
