"""Markdown tables of engine/evaluation/generation.py's section, shared by the generation benchmarks.

`rows_table`: one row per generator (ground truth first), mean ± 95% interval of each measure.
`physical_table`: each generator's physical checks beside the ground truth's, as ratios, against the bar of the
generation issue (skating and jitter within 1.5x the data's, floor penetration under 2 cm, bones within 5%); where
the data's value is ~0 (RATIO_FLOORS) the value itself is shown and held to 1.5x the floor.
"""
from __future__ import annotations

ROW_KEYS = ("top1", "top2", "top3", "mm_dist", "fid", "diversity", "multimodality", "skating_ratio", "jitter_ms2",
            "reward")
RATIO_BAR = 1.5          # skating and jitter: at most 1.5x the ground truth's
PENETRATION_BAR_M = 0.02
BONE_BAR = 0.05
# Below these the data's own value is no scale for a ratio (Bandai's takes never skate): the bar is then 1.5x the floor.
RATIO_FLOORS = {"skating_ratio": 0.01, "jitter_ms2": 0.1}


def cell(row: dict, key: str) -> str:
    return f"{row[key]['mean']:.3f} ± {row[key]['interval']:.3f}" if key in row else "-"


def rows_table(evaluation: dict, keys=ROW_KEYS) -> list[str]:
    lines = ["| row | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name in evaluation["order"]:
        lines.append(f"| {name} | " + " | ".join(cell(evaluation["rows"][name], k) for k in keys) + " |")
    return lines


def physical_table(evaluation: dict) -> list[str]:
    rows = evaluation["rows"]
    truth = rows["ground_truth"]
    lines = ["| generator | skating (x data) | jitter (x data) | penetration max (m) | bone-length error | "
             "meets the bar |", "|---|---|---|---|---|---|"]
    for name in evaluation["order"]:
        if name == "ground_truth":
            continue
        r = rows[name]
        skate, skate_ok = multiple_of_data(r, truth, "skating_ratio")
        jitter, jitter_ok = multiple_of_data(r, truth, "jitter_ms2")
        pen, bone = r["penetration_max_m"]["mean"], r["bone_length_error"]["mean"]
        meets = skate_ok and jitter_ok and pen <= PENETRATION_BAR_M and bone <= BONE_BAR
        lines.append(f"| {name} | {skate} | {jitter} | {pen:.3f} | {100 * bone:.1f}% | {'yes' if meets else 'no'} |")
    return lines


def multiple_of_data(row: dict, truth: dict, key: str) -> tuple[str, bool]:
    """The cell (the multiple of the data's value, or the value itself where the data's is below its floor) and
    whether it is within the bar."""
    value, data, floor = row[key]["mean"], truth[key]["mean"], RATIO_FLOORS[key]
    if data < floor:
        return f"{value:.3f} (data {data:.3f})", value <= RATIO_BAR * floor
    return f"{value / data:.2f}", value / data <= RATIO_BAR
