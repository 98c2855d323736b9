-- grain: county × group
-- params: $year, $region, $min_count
with final as (
    select
        county_code,
        "group",
        migrant_students,
        migrant_public,
        status,
        county_status,
        public_status,
        private_status
    from migrant_groups
    where year = $year
      and starts_with(county_code, $region)
      and min_count = $min_count
)

select * from final
order by county_code, "group"
