-- grain: year × urban-rural code
-- params: $years, $region, $large_school_max, $combined_school_max, $small_school_min
with schools_in_scope as (
    select
        *,
        primary_students + junior_students as students,
        -- 九年一贯制 and 十二年一贯制 schools may be larger (优质均衡: 2500 against 2000)
        case when school_type in ('nine_year', 'twelve_year') then $combined_school_max
            else $large_school_max end as size_max
    from schools
    where year in (select unnest($years))
      and starts_with(county_code, $region)
),

final as (
    select
        year,
        urban_rural_code,
        count(*) as schools,
        sum(students)::bigint as students,
        sum(primary_classes + junior_classes)::bigint as classes,
        sum(classes_56_65)::bigint as classes_56_65,
        sum(classes_66_plus)::bigint as classes_66_plus,
        count(*) filter (where students > size_max) as schools_over_max,
        count(*) filter (where students < $small_school_min) as schools_under_min
    from schools_in_scope
    group by year, urban_rural_code
)

select * from final
order by year, urban_rural_code
