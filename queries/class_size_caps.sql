-- grain: county × year
-- params: $years, $region, $primary_max, $junior_max
-- A school whose average class at a level is above the cap has classes over it; 教学点 are not schools.
with school_rows as (
    select county_code, year, primary_students, primary_classes, junior_students, junior_classes
    from schools
    where year in (select unnest($years))
      and starts_with(county_code, $region)
      and school_type <> 'teaching_point'
),

final as (
    select
        county_code,
        year,
        count(*) filter (where primary_classes > 0) as primary_level_schools,
        count(*) filter (where primary_classes > 0 and primary_students > $primary_max * primary_classes)
            as primary_over_cap_schools,
        count(*) filter (where junior_classes > 0) as junior_level_schools,
        count(*) filter (where junior_classes > 0 and junior_students > $junior_max * junior_classes)
            as junior_over_cap_schools
    from school_rows
    group by county_code, year
)

select * from final
order by county_code, year
