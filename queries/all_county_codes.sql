-- grain: county
-- params: (none) the full scope before any access control narrows it
select county_code
from counties
order by county_code
