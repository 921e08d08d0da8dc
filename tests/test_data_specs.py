"""Spec parsing: errors that say what is wrong; concatenation of several datasets."""
from __future__ import annotations

import pytest

from engine.data import open_dataset
from engine.data.specs import parse_spec
from engine.errors import SpecError
from test_data_humanml3d import make_humanml3d_folder


@pytest.mark.parametrize("spec, message", [
    ("", "empty dataset spec"),
    ("amass:/x", "unknown dataset scheme 'amass'"),
    ("bvh:", "bvh needs a path"),
    ("bandai:/definitely/not/here.tar.xz", "does not exist"),
    ("synthetic?n=ten", "n must be an integer"),
    ("synthetic?n=0", "n must be at least 1"),
    ("synthetic?colour=red", "unknown option"),
    ("synthetic:/some/path", "takes no path"),
])
def test_spec_errors(spec, message):
    with pytest.raises(SpecError, match=message):
        open_dataset(spec)


def test_parse_spec(tmp_path):
    assert parse_spec("synthetic?n=50&seed=3") == ("synthetic", "", {"n": "50", "seed": "3"})
    assert parse_spec(f"bvh:{tmp_path}?labels=l.csv") == ("bvh", str(tmp_path), {"labels": "l.csv"})


def test_concat_prefixes_ids_and_routes_motions(tmp_path):
    a = make_humanml3d_folder(tmp_path / "a")
    b = make_humanml3d_folder(tmp_path / "b")
    joint = open_dataset(f"humanml3d:{a}, kitml:{b}")
    ids = [c.id for c in joint.clips]
    assert len(ids) == len(set(ids)) == 8
    assert "humanml3d/000001@1-3" in ids and "kitml/000003" in ids
    assert joint.motion("humanml3d/000001@1-3").frames == 40
    assert joint.fingerprint() != open_dataset(f"humanml3d:{a}").fingerprint()
    with pytest.raises(SpecError, match="no clip"):
        joint.motion("humanml3d/nope")
