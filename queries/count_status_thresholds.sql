-- grain: threshold
-- params: none
-- the privacy thresholds whose count decisions are stored with the data (junheng/data/db.py `evaluated`)
with final as (
    select distinct min_count
    from school_count_status
)

select * from final
order by min_count
