-- grain: county
-- params: (none)
with county_codes as (
    select distinct county_code
    from county_year_totals
),

final as (
    select
        counties.county_code,
        counties.county_name,
        counties.prefecture_code,
        counties.prefecture_name,
        counties.province_code,
        counties.province_name
    from counties
    inner join county_codes on county_codes.county_code = counties.county_code
)

select * from final
order by county_code
