-- grain: year × level × urban-rural code
-- params: $years, $region
with final as (
    select
        year,
        level,
        urban_rural_code,
        sum(schools)::bigint as schools,
        sum(students)::bigint as students,
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
        sum(multimedia_rooms) as multimedia_rooms
    from county_level_group_totals
    where year in (select unnest($years))
      and starts_with(county_code, $region)
    group by year, level, urban_rural_code
)

select * from final
order by year, level, urban_rural_code
