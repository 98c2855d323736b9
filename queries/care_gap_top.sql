-- grain: school
-- params: $year, $region, $min_count, $classes_per_psych_teacher, $limit
-- The care-gap list's first rows: the schools whose left-behind count is shown, by care gap (as
-- junheng/rules/left_behind.py school_care computes it, step for step), then the hidden ones by name. Ranked on
-- the few columns it needs; only the picked schools' rows are read whole.
with statuses as (
    select school_id, left_behind_status
    from school_count_status
    where year = $year
      and starts_with(county_code, $region)
      and min_count = $min_count
),

measures as (
    select
        schools.school_id,
        schools.school_name,
        coalesce(statuses.left_behind_status, 'shown') as left_behind_status,
        case when schools.primary_students + schools.junior_students > 0
            then schools.left_behind_students::double
                / (schools.primary_students + schools.junior_students)::double
        end as sort_share,
        schools.left_behind_students::double as left_behind,
        schools.psych_teachers::double / (schools.primary_classes + schools.junior_classes)::double
            * $classes_per_psych_teacher as cover
    from schools
    left join statuses on statuses.school_id = schools.school_id
    where schools.year = $year
      and starts_with(schools.county_code, $region)
),

ranked as materialized (
    select
        school_id,
        school_name,
        left_behind_status,
        sort_share,
        left_behind * (1 - least(case when isnan(cover) then 0 else coalesce(cover, 0) end, 1.0)) as sort_gap
    from measures
),

shown as (
    select school_id, left_behind_status
    from ranked
    where left_behind_status = 'shown'
    order by sort_gap desc nulls last, sort_share desc nulls last, school_id desc
    limit $limit
),

hidden as (
    select school_id, left_behind_status
    from ranked
    where left_behind_status <> 'shown'
    order by school_name, school_id
    limit $limit
),

picked as (
    select * from shown
    union all
    select * from hidden
),

final as (
    select
        schools.*,
        picked.left_behind_status
    from schools
    inner join picked on picked.school_id = schools.school_id
    where schools.year = $year
      and starts_with(schools.county_code, $region)
)

select * from final
order by county_code, school_id
