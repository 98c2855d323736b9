-- grain: county × year × level × urban-rural code
-- params: $years, $region
with final as (
    select *
    from county_level_group_totals
    where year in (select unnest($years))
      and starts_with(county_code, $region)
)

select * from final
order by county_code, year, level, urban_rural_code
