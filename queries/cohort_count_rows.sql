-- grain: school × year
-- params: $region, $year_from, $year_to
-- every school of the cohort's counties and years with what decides which left-behind and migrant counts may be
-- published (junheng/rules/published_counts.py): the same cells as the left-behind page
with final as (
    select
        year,
        county_code,
        school_id,
        township,
        urban_rural_code,
        school_type,
        is_boarding,
        is_public,
        left_behind_students,
        migrant_students
    from schools
    where starts_with(county_code, $region)
      and year between $year_from and $year_to
)

select * from final
order by year, county_code, school_id
