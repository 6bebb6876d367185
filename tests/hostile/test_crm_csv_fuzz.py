"""Hypothesis input for the CRM CSV parser behind `frontdesk import-crm` (issue 10, 5c).

Whatever the bytes, the importer answers with rows loaded and problems (line, field, reason), never
an exception; problem lines stay within the file, and nothing loads under a bad header. (That a
file with any problem loads nothing at all is the CLI's job, checked end to end in test_crm.py.)
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.crm import model as m
from frontdesk.crm.csvimport import RowProblem, import_csv
from frontdesk.crm.data import CrmData

pytestmark = pytest.mark.slow

COLLECTIONS = sorted(m.FIELDS)
CELL = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["", " ", '"', '""', "a,b", "x\ny", "\r", "\x00", "+1 (555) 222-3434", "a@b.example", "1QA2-X"]
    ),
    st.just("y" * 140_000),  # beyond the csv module's field size limit
)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[str, str]:
    collection = draw(st.sampled_from(COLLECTIONS))
    known = sorted(m.FIELDS[collection])
    header = draw(st.lists(st.one_of(st.sampled_from(known), st.text(max_size=12)), min_size=0, max_size=6))
    rows = draw(st.lists(st.lists(CELL, max_size=len(header) + 2), max_size=8))
    sep = draw(st.sampled_from(["\n", "\r\n"]))

    def line(cells: list[str]) -> str:
        if draw(st.booleans()):
            return ",".join('"' + c.replace('"', '""') + '"' for c in cells)
        return ",".join(cells)  # unquoted: commas, quotes and newlines in cells break the shape

    text = sep.join([line(header), *(line(r) for r in rows)])
    if draw(st.booleans()):
        text = "\ufeff" + text
    return collection, text


def _hash(password: str) -> str:
    return "hash:" + password


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_files())
def test_import_never_raises_and_reports_problems_within_the_file(case: tuple[str, str]) -> None:
    collection, text = case
    data = CrmData("t", "FD")
    count, problems = import_csv(data, collection, text, _hash)
    assert isinstance(count, int) and count >= 0
    assert all(isinstance(p, RowProblem) and p.reason for p in problems)
    lines = max(1, text.count("\n") + text.count("\r") + 1)
    assert all(1 <= p.line <= lines for p in problems), problems
    header_broken = any(p.line == 1 for p in problems)
    assert not (header_broken and count), "rows were loaded under a bad header"
