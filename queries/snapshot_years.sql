-- grain: year
-- params: (none)
select
    year,
    sum(schools) as schools
from county_year_totals
group by year
order by year
