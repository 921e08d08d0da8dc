"""The generation benchmarks' tables: rows with intervals, physical checks as multiples of the data's."""
import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "generation_tables", Path(__file__).resolve().parents[1] / "bench" / "generation_tables.py")
tables = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tables)


def _row(**means):
    return {k: {"mean": v, "interval": 0.01} for k, v in means.items()}


def test_physical_table_gives_multiples_of_the_data_and_the_verdict():
    physical = dict(penetration_max_m=0.004, bone_length_error=0.013)
    evaluation = {"order": ["ground_truth", "base", "smooth"], "rows": {
        "ground_truth": _row(skating_ratio=0.1, jitter_ms2=5.0, penetration_max_m=0.0, bone_length_error=0.0),
        "base": _row(skating_ratio=0.2, jitter_ms2=19.0, **physical),
        "smooth": _row(skating_ratio=0.14, jitter_ms2=7.0, **physical)}}
    lines = tables.physical_table(evaluation)
    assert lines[2] == "| base | 2.00 | 3.80 | 0.004 | 1.3% | no |"
    assert lines[3] == "| smooth | 1.40 | 1.40 | 0.004 | 1.3% | yes |"
    rows = tables.rows_table(evaluation, keys=("skating_ratio",))
    assert rows[2] == "| ground_truth | 0.100 ± 0.010 |" and rows[3] == "| base | 0.200 ± 0.010 |"


def test_data_that_never_skates_is_no_scale_for_a_ratio():
    """Bandai's takes skate 0: the generated value is shown and held to 1.5x the floor, not divided by ~0."""
    physical = dict(jitter_ms2=1.0, penetration_max_m=0.002, bone_length_error=0.01)
    evaluation = {"order": ["ground_truth", "still", "sliding"], "rows": {
        "ground_truth": _row(skating_ratio=0.0, jitter_ms2=1.0, penetration_max_m=0.0, bone_length_error=0.0),
        "still": _row(skating_ratio=0.0, **physical), "sliding": _row(skating_ratio=0.02, **physical)}}
    lines = tables.physical_table(evaluation)
    assert lines[2] == "| still | 0.000 (data 0.000) | 1.00 | 0.002 | 1.0% | yes |"
    assert lines[3] == "| sliding | 0.020 (data 0.000) | 1.00 | 0.002 | 1.0% | no |"


def test_model_card_states_each_generators_skating_against_the_data():
    spec = importlib.util.spec_from_file_location(
        "model_card", Path(__file__).resolve().parents[1] / "bench" / "model_card.py")
    card = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(card)
    results = {"synthetic": {"generation": {"order": ["ground_truth", "base", "sopo"], "rows": {
        "ground_truth": _row(skating_ratio=0.1), "base": _row(skating_ratio=0.127), "sopo": _row(skating_ratio=0.119)}}},
        "bandai": {"generation": {"order": ["ground_truth", "base"], "rows": {
            "ground_truth": _row(skating_ratio=0.0), "base": _row(skating_ratio=0.004)}}},
        "other": {"retrieval": {}}}
    assert card.skating_sentence(results) == ("Foot skating as a multiple of the data's: base 1.27, sopo 1.19 on the "
                                              "synthetic test split; base 0.004 (data 0.000) on the bandai test split. ")
    assert card.skating_sentence({"synthetic": {}}) == ""
