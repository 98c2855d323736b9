-- grain: school × year
-- params: $region, $year_from, $year_to
with school_years as (
    select *
    from schools
    where starts_with(county_code, $region)
      and year between $year_from and $year_to
),

enrolment as (
    select
        *,
        case
            when urban_rural_code in ('111', '112') then 'urban'
            when urban_rural_code in ('121', '122', '123') then 'town'
            when urban_rural_code in ('210', '220') then 'rural'
        end as urban_rural,
        primary_students + junior_students as students,
        primary_students + junior_students + coalesce(senior_students, 0) as all_students
    from school_years
),

measures as (
    -- the derived measures of junheng/rules/cohort_measures.toml, then the indicator registry's, per student
    -- of the whole school
    select
        *,
        left_behind_students / nullif(students, 0) as left_behind_share,
        migrant_students / nullif(students, 0) as migrant_share,
        boarding_students / nullif(students, 0) as boarding_share,
        primary_students / nullif(primary_classes, 0) as primary_class_size,
        junior_students / nullif(junior_classes, 0) as junior_class_size,
        (classes_56_65 + classes_66_plus) / nullif(primary_classes + junior_classes, 0) as large_class_share,
        all_students / nullif(teachers, 0) as students_per_teacher,
        building_area_m2 / nullif(all_students, 0) as building_area_per_student,
        sports_area_m2 / nullif(all_students, 0) as sports_area_per_student,
        equipment_value_cny / nullif(all_students, 0) as equipment_value_per_student,
        computers / nullif(all_students, 0) * 100 as computers_per_100,
        books / nullif(all_students, 0) as books_per_student,
        teachers / nullif(all_students, 0) as teachers_per_student,
        teachers_above_degree / nullif(all_students, 0) as above_degree_teachers_per_student,
        teachers_above_degree / nullif(all_students, 0) * 100 as above_degree_teachers_per_100,
        teachers_senior_title / nullif(all_students, 0) as senior_title_teachers_per_student,
        backbone_teachers / nullif(all_students, 0) * 100 as backbone_teachers_per_100,
        pe_arts_teachers / nullif(all_students, 0) * 100 as pe_arts_teachers_per_100,
        multimedia_rooms / nullif(all_students, 0) * 100 as multimedia_rooms_per_100
    from enrolment
),

final as (
    select *
    from measures
    where true
    -- conditions
)

select *  -- columns
from final
order by county_code, school_id, year
