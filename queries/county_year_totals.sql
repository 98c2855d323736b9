-- grain: county × year
-- params: (none: materialised as a table when the data are opened; see junheng/db.py)
-- 教学点 (teaching points) are not schools: counted apart, and left out of the school counts and shares.
-- A school counts as standardized in a year only from its standardized_year on (a later year set in the row
-- says it was not standardized yet).
with school_rows as (
    select
        *,
        school_type = 'teaching_point' as is_teaching_point,
        coalesce(standardized_year <= year, false) as is_standardized
    from schools
),

final as (
    select
        county_code,
        year,
        count(*) filter (where not is_teaching_point) as schools,
        count(*) filter (where is_teaching_point) as teaching_points,
        sum(primary_students + junior_students)::bigint as students,
        sum(primary_students)::bigint as primary_students,
        sum(junior_students)::bigint as junior_students,
        sum(primary_classes + junior_classes)::bigint as classes,
        sum(classes_56_65)::bigint as classes_56_65,
        sum(classes_66_plus)::bigint as classes_66_plus,
        sum(teachers)::bigint as teachers,
        sum(teachers_above_degree)::bigint as teachers_above_degree,
        sum(teachers_senior_title)::bigint as teachers_senior_title,
        sum(backbone_teachers)::bigint as backbone_teachers,
        sum(pe_arts_teachers)::bigint as pe_arts_teachers,
        sum(psych_teachers)::bigint as psych_teachers,
        sum(building_area_m2)::double as building_area_m2,
        sum(sports_area_m2)::double as sports_area_m2,
        sum(equipment_value_cny)::double as equipment_value_cny,
        sum(computers)::bigint as computers,
        sum(books)::bigint as books,
        sum(multimedia_rooms)::bigint as multimedia_rooms,
        sum(left_behind_students)::bigint as left_behind_students,
        sum(migrant_students)::bigint as migrant_students,
        sum(boarding_students)::bigint as boarding_students,
        count(*) filter (where not is_teaching_point and is_standardized) as standardized_schools,
        count(*) filter (where not is_teaching_point and is_public) as public_schools,
        count(*) filter (where not is_teaching_point and is_public and is_standardized)
            as public_standardized_schools,
        count(*) filter (where is_teaching_point and is_standardized) as standardized_teaching_points
    from school_rows
    group by county_code, year
)

select * from final
order by county_code, year
