-- grain: county × year
-- params: $years, $region, $scope
with schools_in_scope as (
    select *
    from schools
    where year in (select unnest($years))
      and starts_with(county_code, $region)
      and county_code in (select unnest($scope))
),

final as (
    select
        county_code,
        year,
        count(*) as schools,
        sum(primary_students + junior_students) as students,
        sum(primary_students) as primary_students,
        sum(junior_students) as junior_students,
        sum(primary_classes + junior_classes) as classes,
        sum(classes_56_65) as classes_56_65,
        sum(classes_66_plus) as classes_66_plus,
        sum(teachers) as teachers,
        sum(teachers_above_degree) as teachers_above_degree,
        sum(teachers_senior_title) as teachers_senior_title,
        sum(backbone_teachers) as backbone_teachers,
        sum(pe_arts_teachers) as pe_arts_teachers,
        sum(psych_teachers) as psych_teachers,
        sum(building_area_m2) as building_area_m2,
        sum(sports_area_m2) as sports_area_m2,
        sum(equipment_value_cny) as equipment_value_cny,
        sum(computers) as computers,
        sum(books) as books,
        sum(multimedia_rooms) as multimedia_rooms,
        sum(left_behind_students) as left_behind_students,
        sum(migrant_students) as migrant_students,
        sum(boarding_students) as boarding_students,
        count(*) filter (where standardized_year is not null) as standardized_schools,
        count(*) filter (where is_public) as public_schools,
        count(*) filter (where is_public and standardized_year is not null) as public_standardized_schools
    from schools_in_scope
    group by county_code, year
)

select * from final
order by county_code, year
