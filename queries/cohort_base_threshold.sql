-- grain: threshold
-- params: none
-- The privacy threshold the cohort base was published with (no row without a base for the current data).
select min_count
from cohort_base_threshold
