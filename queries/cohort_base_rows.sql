-- grain: school × year
-- params: $region, $year_from, $year_to
-- The cohort's rows from the cohort base (junheng/data/cohort.py `write_base`): the published rows of every
-- year, narrow (keys, students, the facets and the derived measures), small counts already suppressed for the
-- base's threshold; `school_id` is the school's number within the base (statistics count and match schools by
-- it, nothing shows it). The same markers as cohort_rows.sql, whose conditions and columns it takes.
with final as (
    select *
    from cohort_base
    where starts_with(county_code, $region)
      and year between $year_from and $year_to
    -- conditions
)

select *  -- columns
from final
order by county_code, school_id, year
