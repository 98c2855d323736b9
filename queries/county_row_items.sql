-- grain: county × item
-- params: $year, $region
with final as (
    select *
    from county_row_items
    where year = $year
      and starts_with(county_code, $region)
)

select * exclude (year) from final
order by county_code, item
