"""Left-behind children: care capacity by hand, and small counts that no published table lets anyone work back."""
import io

import numpy as np
import polars as pl
import pytest

from junheng import settings
from junheng.i18n import labels, t
from junheng.reports import exports
from junheng.rules import indicators, left_behind, privacy
from tests.conftest import frame, school

RULES = settings.load_thresholds()
MIN = RULES["privacy"]["min_count"]
BIG = 10 ** 9


def test_care_capacity_by_hand():
    # 20 classes, 1 mental-health teacher: 0.5 per 10 classes (target 1); 40 left-behind children:
    # 40 per teacher; care gap 40 × (1 − 0.5) = 20. Boarding 10 of 40 left-behind: cover 0.25.
    care = left_behind.school_care(frame([school(primary_students=800, primary_classes=20, psych_teachers=1,
                                                 left_behind_students=40, boarding_students=10)]), RULES)
    row = care.row(0, named=True)
    assert row["psych_per_10_classes"] == pytest.approx(0.5)
    assert row["left_behind_per_psych_teacher"] == pytest.approx(40)
    assert row["care_gap"] == pytest.approx(20)
    assert row["boarding_cover"] == pytest.approx(0.25)
    assert row["left_behind_share"] == pytest.approx(0.05)


def test_school_at_the_target_has_no_care_gap_and_one_without_a_teacher_has_all():
    care = left_behind.school_care(frame([
        school(school_id="3707240001", primary_classes=10, psych_teachers=2, left_behind_students=30),
        school(school_id="3707240002", primary_classes=10, psych_teachers=0, left_behind_students=30)]), RULES)
    assert care["care_gap"].to_list() == [0, 30]
    assert care["left_behind_per_psych_teacher"].to_list() == [15, None]


def test_breakdown_totals_are_exact_sums():
    rows = frame([school(school_id="3707240001", township="城关街道", left_behind_students=10),
                  school(school_id="3707240002", township="城关街道", left_behind_students=7),
                  school(school_id="3707240003", township="柳山乡", left_behind_students=30)])
    out = left_behind.breakdown(left_behind.school_care(rows, RULES), "township")
    assert dict(zip(out["township"], out["left_behind_students"])) == {"柳山乡": 30, "城关街道": 17}


def statuses(counts: list[int], townships: list[str] | None = None) -> dict[str, str]:
    """Protect hand-made schools of one county (same 城乡 group, type and boarding unless said)."""
    rows = frame([school(school_id=f"37072400{i:02d}", left_behind_students=c,
                         township=(townships or ["城关街道"] * len(counts))[i]) for i, c in enumerate(counts)])
    care = left_behind.school_care(rows, RULES)
    shield = left_behind.protection(care, RULES)
    return dict(zip(shield.schools["value"].cast(pl.String) + "@" + shield.schools["school_id"].str.slice(-2),
                    shield.schools["status"]))


@pytest.mark.parametrize("count, status", [(0, "shown"), (1, "primary"), (MIN - 1, "primary"), (MIN, "shown")])
def test_a_lone_count_is_suppressed_below_the_threshold(count, status):
    # with schools of 50 and 60 so the county total is not itself the small count (with one other school alone,
    # that school would be the total minus a "<5": four values, and the "<5" itself would have to become "*")
    assert statuses([count, 50, 60])[f"{count}@00"] == status


def test_the_next_smallest_school_is_hidden_so_total_minus_others_gives_nothing():
    # 3, 10, 20 in one township: published total 33 − 10 − 20 would give the 3 back, so the 10 goes too; and then
    # the 10 would be 33 − 20 − "<5", one of 9..12 (four values, issue 23): the 20 goes as well.
    assert statuses([3, 10, 20]) == {"3@00": "primary", "10@01": "complementary", "20@02": "complementary"}


def test_two_ones_are_not_enough_on_their_own():
    # 1 + 1 with the others shown: the two suppressed cells add up to 2, so each must be 1; hide the 6 as well.
    out = statuses([1, 1, 6, 40])
    assert out["1@00"] == out["1@01"] == "primary" and out["6@02"] == "complementary" and out["40@03"] == "shown"


def test_a_small_township_total_is_itself_suppressed_and_protected():
    # 柳山乡 has one school with 2 children: its total is a small count, and the county total minus the other
    # township's total would give it back, so that township's total is hidden too; that total would then be 72
    # minus a "<5" (68..71, four values), so 柳山乡's total is withheld ("*") rather than "<5", and its school too.
    # The county total stays published.
    rows = frame([school(school_id="3707240001", township="柳山乡", left_behind_students=2),
                  school(school_id="3707240002", township="城关街道", left_behind_students=30),
                  school(school_id="3707240003", township="城关街道", left_behind_students=40)])
    shield = left_behind.protection(left_behind.school_care(rows, RULES), RULES)
    towns = dict(zip(shield.group_status("township")["group"], shield.group_status("township")["status"]))
    assert towns["柳山乡"] == "complementary" and towns["城关街道"] == "complementary"
    assert shield.counties["status"].to_list() == ["shown"]


def _care_2025(demo_frame, county=None):
    schools = demo_frame.filter(pl.col("year") == 2025)
    if county:
        schools = schools.filter(pl.col("county_code").str.starts_with(county))
    return left_behind.school_care(schools, RULES)


def test_suppressed_rows_lose_derived_columns_and_sort_last_by_name(demo_frame):
    care = _care_2025(demo_frame, "370724")
    shield = left_behind.protection(care, RULES)
    table = left_behind.care_gap_table(care, shield, RULES, "zh")
    hidden = table["留守儿童数"].is_in([f"<{MIN}", "*"])
    assert hidden.any() and not hidden[: (~hidden).sum()].any()  # every hidden row after every shown row
    tail = table.filter(hidden)
    assert tail["学校名称"].to_list() == sorted(tail["学校名称"].to_list())
    for derived in ("留守儿童占比（%）", "每名心理教师对应留守儿童", "关爱缺口（估算人数）"):
        assert tail[derived].null_count() == tail.height
    for name, data in (("csv", exports.csv_bytes(table)), ("xlsx", exports.xlsx_bytes({"t": table}))):
        schema = {"学校标识码": pl.String, "留守儿童数": pl.String}
        back = (pl.read_csv(io.BytesIO(data), schema_overrides=schema) if name == "csv"
                else pl.read_excel(io.BytesIO(data), engine="openpyxl", schema_overrides=schema))
        assert back["留守儿童数"].to_list() == table["留守儿童数"].to_list(), name
    for row in left_behind.school_map_rows(care, shield, RULES, "zh"):
        if row["tooltip"].endswith((f"<{MIN}", "*")):
            assert row["size"] == 0


# --- The attack: a curious reader's arithmetic on the published tables -------------------------------------

def _bounds(text) -> tuple[int, int]:
    if text == f"<{MIN}":
        return 1, MIN - 1
    if text == "*":
        return 0, BIG
    return int(text), int(text)


class Reader:
    """Knows every published number, which school is in which group, and does interval arithmetic on
    every published sum (a total minus the other cells, repeated), plus what the order of a sorted list says."""

    def __init__(self):
        self.cell: dict[tuple, list[int]] = {}
        self.sums: list[tuple[tuple, list[tuple]]] = []
        self.hidden: set[tuple] = set()

    def publish(self, key: tuple, text) -> None:
        lo, hi = _bounds(str(text))
        if key in self.cell:  # the same number in two tables
            self.cell[key] = [max(self.cell[key][0], lo), min(self.cell[key][1], hi)]
        else:
            self.cell[key] = [lo, hi]
        if lo != hi:
            self.hidden.add(key)

    def sum(self, total: tuple, parts: list[tuple]) -> None:
        self.sums.append((total, parts))

    def at_most(self, key: tuple, value: float) -> None:
        self.cell[key][1] = min(self.cell[key][1], int(value + 1e-9))

    def at_least(self, key: tuple, value: float) -> None:
        self.cell[key][0] = max(self.cell[key][0], -int(-value + 1e-9))

    def work_out(self) -> set[tuple]:
        for key in {k for total, parts in self.sums for k in (total, *parts)} - set(self.cell):
            self.cell[key] = [0, BIG]  # in a sum but never published: any count
        changed = True
        while changed:
            changed = False
            for total, parts in self.sums:
                cells = [self.cell[p] for p in parts]
                low, high = sum(c[0] for c in cells), sum(c[1] for c in cells)
                tot = self.cell[total]
                for i, bound in ((0, max(tot[0], low)), (1, min(tot[1], high))):
                    if bound != tot[i]:
                        tot[i], changed = bound, True
                for c in cells:
                    lo = max(c[0], tot[0] - (high - c[1]))
                    hi = min(c[1], tot[1] - (low - c[0]))
                    if (lo, hi) != (c[0], c[1]):
                        c[0], c[1], changed = lo, hi, True
        return {k for k in self.hidden if self.cell[k][0] == self.cell[k][1]}


GROUP_LABELS = {"urban_rural_group": labels("group", indicators.GROUPS, "zh"),
                "school_type": labels("type", indicators.SCHOOL_TYPES, "zh"),
                "is_boarding": {"true": t("boarding_yes", "zh"), "false": t("boarding_no", "zh")}}


def _label(by: str, value) -> str:
    value = str(value).lower() if isinstance(value, bool) else str(value)
    return GROUP_LABELS.get(by, {}).get(value, value)


def read_new_tables(reader: Reader, care: pl.DataFrame, prefecture: str) -> None:
    """What the page publishes now: every county view of the prefecture and the prefecture view."""
    counties = care.filter(pl.col("county_code").str.starts_with(prefecture))
    totals = counties.group_by("county_code").agg(pl.col("left_behind_students").sum(), pl.col("students").sum(),
                                                   pl.col("boarding_students").sum(), pl.col("psych_teachers").sum(),
                                                   pl.col("classes").sum())
    county_table = left_behind.county_care_table(totals, totals.select("county_code", pl.col("county_code").alias(
        "county_name")), RULES, "zh")
    for code, text in zip(county_table["县（区）"], county_table["留守儿童数"]):
        reader.publish(("county", code), text)
    for (code,), rows in counties.group_by("county_code"):
        shield = left_behind.protection(rows, RULES)
        _read_county(reader, rows, code, left_behind.care_gap_table(rows, shield, RULES, "zh"),
                     {by: left_behind.breakdown_table(left_behind.published_breakdown(rows, by, shield, RULES), by,
                                                      RULES, "zh") for by in left_behind.BREAKDOWNS})
    shield = left_behind.protection(counties, RULES)
    for by in left_behind.BREAKDOWNS[1:]:  # the prefecture view: sums of the split counties, the others as one row
        table = left_behind.breakdown_table(left_behind.published_breakdown(counties, by, shield, RULES), by, RULES,
                                            "zh")
        split = {c for c in counties["county_code"].unique() if not _hides_a_group(reader, c, by)}
        for label, text in zip(table[t(f"by_{by}", "zh")], table["留守儿童数"]):
            reader.publish(("region", by, label), text)
            if label == t("other_counties", "zh"):
                reader.sum(("region", by, label), [("county", c) for c in set(counties["county_code"]) - split])
            else:
                reader.sum(("region", by, label), [("group", c, by, label) for c in split])


def _hides_a_group(reader: Reader, code: str, by: str) -> bool:
    return any(k[0] == "group" and k[1] == code and k[2] == by for k in reader.hidden)


def _read_county(reader: Reader, rows: pl.DataFrame, code: str, gap_list: pl.DataFrame, tables: dict,
                 sort_attack: bool = True) -> None:
    for school_id, text in zip(gap_list["学校标识码"], gap_list["留守儿童数"]):
        reader.publish(("school", school_id), text)
    for by, table in tables.items():
        for label, text in zip(table[t(f"by_{by}", "zh")], table["留守儿童数"]):
            reader.publish(("group", code, by, label), text)
        members = rows.group_by(pl.col(by).map_elements(lambda v, b=by: _label(b, v), return_dtype=pl.String)
                                .alias("label")).agg("school_id")
        for label, ids in zip(members["label"], members["school_id"]):
            reader.sum(("group", code, by, label), [("school", i) for i in ids])
        reader.sum(("county", code), [("group", code, by, label) for label in members["label"]])
    reader.sum(("county", code), [("school", i) for i in rows["school_id"]])
    if sort_attack:  # a suppressed row between two shown rows of a list sorted by care gap
        gaps = gap_list["关爱缺口（估算人数）"].to_list()
        cover = gap_list["每10个班心理教师数"].to_list()
        for i, school_id in enumerate(gap_list["学校标识码"]):
            if ("school", school_id) not in reader.hidden or not 0 < i < len(gaps) - 1:
                continue
            above, below = gaps[i - 1], gaps[i + 1]
            lack = 1 - min(cover[i] or 0, 1)
            if above is not None and below is not None and lack > 0:
                reader.at_most(("school", school_id), (above + 0.5) / lack)
                reader.at_least(("school", school_id), (below - 0.5) / lack)


def read_old_tables(reader: Reader, care: pl.DataFrame, prefecture: str) -> None:
    """What the page published before: "<5" for a school count of 1–4, every other number exact, the care-gap
    list sorted by care gap with the suppressed rows in their place."""
    counties = care.filter(pl.col("county_code").str.starts_with(prefecture))
    for (code,), rows in counties.group_by("county_code"):
        reader.publish(("county", code), rows["left_behind_students"].sum())
        ordered = rows.sort("care_gap", "left_behind_students", descending=True, nulls_last=True)
        small = (pl.col("left_behind_students") > 0) & (pl.col("left_behind_students") < MIN)
        gap_list = ordered.select(
            pl.col("school_id").alias("学校标识码"),
            pl.when(small).then(pl.lit(f"<{MIN}")).otherwise(pl.col("left_behind_students").cast(pl.String))
            .alias("留守儿童数"),
            pl.when(small).then(None).otherwise(pl.col("care_gap")).alias("关爱缺口（估算人数）"),
            pl.col("psych_per_10_classes").alias("每10个班心理教师数"))
        tables = {}
        for by in left_behind.BREAKDOWNS:
            sums = rows.group_by(by).agg(pl.col("left_behind_students").sum())
            tables[by] = sums.select(
                pl.col(by).map_elements(lambda v, b=by: _label(b, v), return_dtype=pl.String)
                .alias(t(f"by_{by}", "zh")),
                pl.when((pl.col("left_behind_students") > 0) & (pl.col("left_behind_students") < MIN))
                .then(pl.lit(f"<{MIN}")).otherwise(pl.col("left_behind_students").cast(pl.String)).alias("留守儿童数"))
        _read_county(reader, rows, code, gap_list, tables)


@pytest.mark.parametrize("prefecture", ["3707", "3412", "2103", "3703"])
def test_the_attack_recovers_no_suppressed_count_from_the_published_tables(demo_frame, prefecture):
    care = _care_2025(demo_frame)
    reader = Reader()
    read_new_tables(reader, care, prefecture)
    small = care.filter(pl.col("county_code").str.starts_with(prefecture)
                        & pl.col("left_behind_students").is_between(1, MIN - 1))
    assert small.height > 20  # the demo data have such schools, so the attack has something to find
    assert reader.work_out() == set()


def test_the_attack_recovers_many_small_counts_from_plain_suppression(demo_frame):
    # The same reader against "<5" alone (the old tables): about four in ten small counts come back.
    care = _care_2025(demo_frame)
    reader = Reader()
    read_old_tables(reader, care, "3707")
    small = {k for k in reader.hidden if k[0] == "school"}
    recovered = {k for k in reader.work_out() if k[0] == "school"}
    assert len(small) > 20 and len(recovered) / len(small) > 0.25


def test_county_totals_exact_except_a_small_county():
    totals = pl.DataFrame({"county_code": ["370724", "370725"], "students": [50_000, 40_000],
                           "left_behind_students": [812, 3], "classes": [1000, 900], "psych_teachers": [20, 10],
                           "boarding_students": [100, 50]})
    names = pl.DataFrame({"county_code": ["370724", "370725"], "county_name": ["临朐县", "昌乐县"]})
    out = left_behind.county_care_table(totals, names, RULES, "zh")
    assert out["县（区）"].to_list() == ["临朐县", "昌乐县"]  # the suppressed county last
    assert out["留守儿童数"].to_list() == ["812", f"<{MIN}"]
    assert out.row(1, named=True)["留守儿童占比（%）"] is None
    # the region trend then depends only on published numbers: 812 + 2.5 for the small one, to the 10
    years = left_behind.region_years(totals.with_columns(pl.lit(2024).alias("year"), *[pl.lit(0).alias(c) for c in (
        "schools", "teachers", "migrant_students", "standardized_schools", "classes_56_65", "classes_66_plus")],
        *[pl.lit(0.0).alias(c) for c in ("teachers_above_degree", "teachers_senior_title", "backbone_teachers",
                                         "pe_arts_teachers", "building_area_m2", "sports_area_m2",
                                         "equipment_value_cny", "computers", "books", "multimedia_rooms")]), MIN)
    assert years["left_behind_students"][0] == 810


def test_region_breakdown_adds_only_published_county_figures(demo_frame):
    care = _care_2025(demo_frame, "3707")
    shield = left_behind.protection(care, RULES)
    published = left_behind.published_breakdown(care, "school_type", shield, RULES)
    assert published["left_behind_students"].sum() == care["left_behind_students"].sum()
    status = shield.group_status("school_type")
    unsplit = status.filter(pl.col("status") != "shown")["county_code"].unique()
    assert unsplit.len() > 0  # some county hides a type total, so the OTHER row is exercised
    other = published.filter(pl.col("group") == left_behind.OTHER)["left_behind_students"].item()
    assert other == shield.counties.filter(pl.col("county_code").is_in(unsplit.implode()))["value"].sum()


def test_migrant_table_hides_small_groups_and_public_shares_that_give_a_small_count_back():
    rows = frame([school(school_id="3707240001", urban_rural_code="111", migrant_students=300, is_public=True),
                  school(school_id="3707240002", urban_rural_code="111", migrant_students=3, is_public=False),
                  school(school_id="3707240003", urban_rural_code="121", migrant_students=40, is_public=True),
                  school(school_id="3707240004", urban_rural_code="220", migrant_students=2, is_public=True)])
    out = {r["urban_rural_group"]: r for r in left_behind.migrant_where(rows, RULES).iter_rows(named=True)}
    assert out["urban"]["public_share"] is None                     # 3 private
    assert out["rural"]["status"] == "primary"                      # 2 children
    assert out["town"]["status"] == "complementary"                 # else 345 − 303 − 40 gives the 2
    # and with 303 shown, the town's 40 would be 42 minus a "<5" (38..41, four values): 303 goes too (issue 23)
    assert out["urban"]["status"] == "complementary"
    shown = left_behind.migrant_table(left_behind.migrant_where(rows, RULES), RULES, "zh")
    assert shown["随迁子女数"].to_list() == ["*", "*", f"<{MIN}"]


def test_migrants_by_group_and_public_share():
    rows = frame([school(school_id="3707240001", urban_rural_code="111", migrant_students=80, is_public=True),
                  school(school_id="3707240002", urban_rural_code="111", migrant_students=20, is_public=False),
                  school(school_id="3707240003", urban_rural_code="220", migrant_students=100, is_public=True)])
    out = left_behind.migrant_where(rows, RULES)
    urban = out.filter(pl.col("urban_rural_group") == "urban").row(0, named=True)
    assert (urban["migrant_students"], urban["share_of_migrants"], urban["public_share"]) == (100, 0.5, 0.8)


def _every_sum_every_round(system, lo, hi, rounds=1000):
    """The reference: every sum worked out in every round (the solver's propagation before it skipped sums)."""
    eq, cell, coef = system.eq, system.cell, system.coef
    for _ in range(rounds):
        t_lo = np.where(coef > 0, lo[cell], -hi[cell])
        t_hi = np.where(coef > 0, hi[cell], -lo[cell])
        s_lo = np.bincount(eq, t_lo, system.n_eq)[eq] - t_lo
        s_hi = np.bincount(eq, t_hi, system.n_eq)[eq] - t_hi
        x_lo, x_hi = np.where(coef > 0, -s_hi, s_lo), np.where(coef > 0, -s_lo, s_hi)
        new_lo, new_hi = lo.copy(), hi.copy()
        np.maximum.at(new_lo, cell, np.ceil(x_lo - 1e-6))
        np.minimum.at(new_hi, cell, np.floor(x_hi + 1e-6))
        if np.array_equal(new_lo, lo) and np.array_equal(new_hi, hi):
            break
        lo, hi = new_lo, new_hi
    return lo, hi


@pytest.mark.parametrize("seed", range(6))
def test_propagation_of_only_the_changed_sums_equals_every_sum_every_round(seed):
    rng = np.random.default_rng(seed)
    n = 400
    rows = pl.DataFrame({"county_code": rng.choice(["370724", "370725", "370726"], n),
                         "school_id": [f"s{i:04d}" for i in range(n)],
                         "left_behind_students": rng.choice([0, 1, 2, 3, 4, 6, 9, 20, 40], n),
                         "township": rng.choice(["甲", "乙", "丙", "丁"], n),
                         "school_type": rng.choice(["primary", "junior"], n)})
    system, _ = privacy._built(rows, "left_behind_students", ("township", "school_type"), True)  # what protect solves
    for hidden in (0.1, 0.3, 0.6):  # some cells shown, some "<5", some "*"
        # as a reader knows them: "<5" only for a count of 1-4, "*" for any (the true counts fit every sum)
        small = (system.value > 0) & (system.value < 5)
        code = np.where(rng.random(len(system.value)) < hidden, 2, 0).astype(np.int8)
        code[small & (rng.random(len(system.value)) < 0.7)] = 1
        lo, hi = system.bounds(code, 5)
        before = (lo.copy(), hi.copy())
        got = system.propagate(lo, hi)
        want = _every_sum_every_round(system, lo, hi)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
        assert np.array_equal(lo, before[0]) and np.array_equal(hi, before[1])  # the caller's bounds kept
        assert not np.array_equal(got[1], hi)  # the sums did tighten some interval
        some = np.flatnonzero(rng.random(len(system.eq)) < 0.5)  # a subset of the terms, as solve passes
        counties = np.isin(system.term_county, np.unique(system.term_county[some]))
        got = system.propagate(lo, hi, counties)
        sub = privacy._System(system.eq[counties], system.cell[counties], system.coef[counties], system.n_eq,
                              system.value, system.kind, system.cell_county)
        want = _every_sum_every_round(sub, lo, hi)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
