-- grain: county × year × level × urban-rural code
-- params: $junior_weight (materialised as a table when the data are opened; see junheng/db.py)
with levels as (
    -- a combined school counts in both levels; unsplit resources shared 小学:初中 = P : junior_weight × J
    select *, 'primary' as level, primary_students as students,
        primary_students / (primary_students + $junior_weight * junior_students) as level_share
    from schools
    where primary_students > 0
    union all
    select *, 'junior' as level, junior_students as students,
        $junior_weight * junior_students / (primary_students + $junior_weight * junior_students) as level_share
    from schools
    where junior_students > 0
),

final as (
    select
        county_code,
        year,
        level,
        urban_rural_code,
        count(*) as schools,
        sum(students)::bigint as students,
        sum(teachers * level_share)::double as teachers,
        sum(teachers_above_degree * level_share)::double as teachers_above_degree,
        sum(teachers_senior_title * level_share)::double as teachers_senior_title,
        sum(backbone_teachers * level_share)::double as backbone_teachers,
        sum(pe_arts_teachers * level_share)::double as pe_arts_teachers,
        sum(psych_teachers * level_share)::double as psych_teachers,
        sum(building_area_m2 * level_share)::double as building_area_m2,
        sum(sports_area_m2 * level_share)::double as sports_area_m2,
        sum(equipment_value_cny * level_share)::double as equipment_value_cny,
        sum(computers * level_share)::double as computers,
        sum(books * level_share)::double as books,
        sum(multimedia_rooms * level_share)::double as multimedia_rooms
    from levels
    group by county_code, year, level, urban_rural_code
)

select * from final
order by county_code, year, level, urban_rural_code
