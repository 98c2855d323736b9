-- grain: county × item
-- params: $year
select county_code, item, value
from county_items
where year = $year
order by county_code, item
