"""Markdown tables of engine/evaluation/generation.py's section, shared by the generation benchmarks.

`rows_table`: one row per generator (ground truth first), mean ± 95% interval of each measure.
`physical_table`: each generator's physical checks beside the ground truth's, as ratios, against the bar of the
generation issue (skating and jitter within 1.5x the data's, floor penetration under 2 cm, bones within 5%).
"""
from __future__ import annotations

ROW_KEYS = ("top1", "top2", "top3", "mm_dist", "fid", "diversity", "multimodality", "skating_ratio", "jitter_ms2",
            "reward")
RATIO_BAR = 1.5          # skating and jitter: at most 1.5x the ground truth's
PENETRATION_BAR_M = 0.02
BONE_BAR = 0.05


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
        skate = r["skating_ratio"]["mean"] / max(truth["skating_ratio"]["mean"], 1e-9)
        jitter = r["jitter_ms2"]["mean"] / max(truth["jitter_ms2"]["mean"], 1e-9)
        pen, bone = r["penetration_max_m"]["mean"], r["bone_length_error"]["mean"]
        meets = skate <= RATIO_BAR and jitter <= RATIO_BAR and pen <= PENETRATION_BAR_M and bone <= BONE_BAR
        lines.append(f"| {name} | {skate:.2f} | {jitter:.2f} | {pen:.3f} | {100 * bone:.1f}% | "
                     f"{'yes' if meets else 'no'} |")
    return lines
