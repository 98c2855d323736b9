-- grain: county × year
-- params: $years, $region, $min_count
-- The county totals as the overview publishes them (issue 23): a left-behind or migrant total that the protection
-- marks "<5" (status primary) or withholds (complementary) is null; a county-year with no stored decision is
-- withheld. min_count 0 (analysts allowed exact counts): every total shown.
with totals as (
    select *
    from county_year_totals
    where year in (select unnest($years))
      and starts_with(county_code, $region)
),

county_cells as (
    select
        county_code,
        year,
        measure,
        case status when 'small' then 'primary' when 'withheld' then 'complementary' else status end as status
    from published_cells
    where kind = 'county'
      and min_count = $min_count
      and year in (select unnest($years))
      and starts_with(county_code, $region)
),

statuses as (
    select
        totals.county_code,
        totals.year,
        case when $min_count <= 0 then 'shown' else coalesce(left_behind.status, 'complementary') end
            as left_behind_status,
        case when $min_count <= 0 then 'shown' else coalesce(migrant.status, 'complementary') end as migrant_status
    from totals
    left join county_cells as left_behind
        on left_behind.county_code = totals.county_code
        and left_behind.year = totals.year
        and left_behind.measure = 'left_behind_students'
    left join county_cells as migrant
        on migrant.county_code = totals.county_code
        and migrant.year = totals.year
        and migrant.measure = 'migrant_students'
),

final as (
    select
        totals.* replace (
            case when statuses.left_behind_status = 'shown' then totals.left_behind_students end
                as left_behind_students,
            case when statuses.migrant_status = 'shown' then totals.migrant_students end as migrant_students
        ),
        statuses.left_behind_status,
        statuses.migrant_status
    from totals
    inner join statuses
        on statuses.county_code = totals.county_code
        and statuses.year = totals.year
)

select * from final
order by county_code, year
