-- grain: county × year
-- params: $years, $region
with final as (
    select *
    from county_year_totals
    where year in (select unnest($years))
      and starts_with(county_code, $region)
)

select * from final
order by county_code, year
