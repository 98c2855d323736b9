-- grain: county × year × level × urban-rural code
-- params: $junior_weight, $senior_weight (materialised as a table when the data are opened; see junheng/data/db.py)
with school_sizes as (
    -- the 高中 share of a 完全中学 / 十二年一贯制 school is taken out: its students count in both totals
    select
        *,
        coalesce(senior_students, 0) as senior_count,
        primary_students + $junior_weight * junior_students
            + $senior_weight * coalesce(senior_students, 0) as weighted_students,
        primary_students + junior_students + coalesce(senior_students, 0) as all_students
    from schools
),

levels as (
    -- a combined school counts in both levels. Resources not recorded per level are shared out: the five
    -- facility indicators' resources by weighted enrolment 1 : junior_weight : senior_weight, the rest
    -- (teachers, multimedia rooms) by plain enrolment (the same rule as junheng/rules/indicators.py split_levels)
    select
        *,
        'primary' as level,
        primary_students as students,
        primary_students / weighted_students as facility_share,
        primary_students / all_students as enrolment_share
    from school_sizes
    where primary_students > 0
    union all
    select
        *,
        'junior' as level,
        junior_students as students,
        $junior_weight * junior_students / weighted_students as facility_share,
        junior_students / all_students as enrolment_share
    from school_sizes
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
        sum(teachers * enrolment_share)::double as teachers,
        sum(teachers_above_degree * enrolment_share)::double as teachers_above_degree,
        sum(teachers_senior_title * enrolment_share)::double as teachers_senior_title,
        sum(backbone_teachers * enrolment_share)::double as backbone_teachers,
        sum(pe_arts_teachers * enrolment_share)::double as pe_arts_teachers,
        sum(psych_teachers * enrolment_share)::double as psych_teachers,
        sum(building_area_m2 * facility_share)::double as building_area_m2,
        sum(sports_area_m2 * facility_share)::double as sports_area_m2,
        sum(equipment_value_cny * facility_share)::double as equipment_value_cny,
        sum(computers * facility_share)::double as computers,
        sum(books * facility_share)::double as books,
        sum(multimedia_rooms * enrolment_share)::double as multimedia_rooms
    from levels
    group by county_code, year, level, urban_rural_code
)

select * from final
order by county_code, year, level, urban_rural_code
