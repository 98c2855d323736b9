-- grain: school
-- params: $year, $region
with final as (
    select
        county_code,
        school_id,
        school_name,
        classes_66_plus,
        classes_56_65,
        primary_classes + junior_classes as classes
    from schools
    where year = $year
      and classes_66_plus > 0
      and starts_with(county_code, $region)
)

select * from final
order by classes_66_plus desc, school_id
