-- grain: county × measure × cell
-- params: $year, $region, $min_count
with final as (
    select
        county_code,
        year,
        measure,
        cell_id,
        kind,
        status,
        value,
        sums
    from published_cells
    where year = $year
      and starts_with(county_code, $region)
      and min_count = $min_count
)

select * from final
order by county_code, measure, kind, cell_id
