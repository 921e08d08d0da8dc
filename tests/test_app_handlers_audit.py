"""Audit tab handlers with the shipped model on a small procedural library: the report's figures and table, no
empty box for the base-encoder comparison the exported checkpoint cannot make (a line says why), a clip opened,
a bad spec cleared to one message."""
import pytest

from app import audit_tab
from app.feedback import is_error
from tests.app_fixtures import NoProgress

SPEC = "synthetic?n=40"


@pytest.fixture(scope="module")
def audited(engine):
    return audit_tab.run_audit(engine, SPEC, progress=NoProgress())


def test_audit_report(audited):
    status, terms, summary, usage, base, base_note, rows, report = audited
    assert "Audited 40 clips" in status and [t.type for t in terms.data] == ["bar", "bar"]
    assert "Left / right balance" in summary and f"`{SPEC}`" in summary and "&amp;" not in summary
    assert len(usage.data) == 2 and len(rows) == 20 and rows[0][0] == 1
    assert base["visible"] is False and base["value"] is None          # hidden, not an empty box
    assert "not shown" in base_note and "lexmlm" in base_note


def test_open_a_disagreeing_clip(engine, audited):
    report = audited[-1]
    figure, words = audit_tab.show_clip(engine, SPEC, report, 1)
    assert report["disagreements"][0]["id"] in figure.layout.title.text and "The motion shows" in words
    assert audit_tab.show_clip(engine, SPEC, None, 1)[1].startswith("Run the audit")


def test_a_bad_spec_clears_the_old_report(engine):
    status, terms, summary, usage, base, base_note, rows, report = audit_tab.run_audit(
        engine, "bvh:/no/such/folder", progress=NoProgress())
    assert is_error(status) and status.count("ml-error") == 1
    assert terms is None and summary == "" and usage is None and rows == [] and report is None
    assert base["visible"] is False
