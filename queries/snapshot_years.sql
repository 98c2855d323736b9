-- grain: year
-- params: $scope
select
    year,
    count(*) as schools
from schools
where county_code in (select unnest($scope))
group by year
order by year
