"""CRM records: normalisation (crmod-cti.md §7.3), ids (§7.2), the dataset (§7.4) and
`frontdesk import-crm TYPE FILE.csv` (all rows or none, every bad row reported)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from frontdesk.crm import model as m
from frontdesk.crm.csvimport import import_csv
from frontdesk.crm.data import CrmData, b36, b36_value
from frontdesk.crm.dataset import DatasetError, export_dataset, load_dataset

ROOT = Path(__file__).resolve().parents[2]


def _hash(password: str) -> str:
    return "hash:" + password


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("+1 (555) 222-3434", "1-555-222-3434", True),
        ("15552223434", "+1 555 222 3434 x12", True),
        ("5552223434", "15552223434", False),
        ("+1 555 222 3434 ext. 9", "15552223434", True),
    ],
)
def test_phone_normalisation(a: str, b: str, same: bool) -> None:
    assert (m.norm_phone(a) == m.norm_phone(b)) is same
    assert m.norm_phone("123-45") is None


def test_email_normalisation() -> None:
    assert m.norm_email("Priya <PRIYA.PATEL@example.net>") == "priya.patel@example.net"
    assert m.norm_email(" Fred.Hong@Example.com ") == "fred.hong@example.com"
    for bad in ("a@@b", "@b", "a@", "plain"):
        assert m.norm_email(bad) is None


def test_ids_are_base36_with_skips() -> None:
    assert b36(b36_value("S78VL") or 0) == "S78VL" and b36(b36_value("10000") or 0) == "10000"
    data = CrmData("t", "1QA2")
    data.next_id = b36_value("S78VL") or 0
    data.create("accounts", {"Id": "1QA2-S78VM", "Name": "Taken"})
    assert data.new_id() == "1QA2-S78VL" and data.new_id() == "1QA2-S78VN"


def test_demo_seed_loads_and_exports_without_passwords() -> None:
    demo = yaml.safe_load((ROOT / "src" / "frontdesk" / "demo.yaml").read_text())
    seed = demo["tenants"][0]["crm"]["seed"]
    data = load_dataset("example.com", seed, _hash)
    assert len(data.items("contacts")) == 4 and len(data.items("activities")) == 10
    out = export_dataset(data)
    assert out["nextId"] == "S78VL" and out["nextSrNumber"] == 102
    assert all("PasswordHash" not in u for u in out["users"])


def test_dataset_errors_name_record_and_field() -> None:
    with pytest.raises(DatasetError) as exc:
        load_dataset(
            "t", {"contacts": [{"Id": "C1", "Email": "nope"}, {"Id": "C2", "AccountId": "A9"}]}, _hash
        )
    assert exc.value.problems == [
        "contacts[0] (C1).Email: must be an e-mail address with exactly one @",
        "contacts[1] (C2).AccountId: no Account with id A9",
    ]


def test_csv_all_or_nothing_with_every_bad_row() -> None:
    data = CrmData("t", "FD")
    text = (
        "Id,FirstName,LastName,WorkPhone,Email\n"
        "C1,Ana,Ruiz,+44 20 7946 0000,ana@example.com\n"
        "C2,Bo,Li,12,bo@example.com\n"
        "C3,Cy,Oh,+1 555 000 0000,cy-at-example\n"
        "C1,Dup,Licate,,\n"
    )
    _, problems = import_csv(data, "contacts", text, _hash)
    assert [p.text() for p in problems] == [
        "line 3: WorkPhone: must be a phone number of at most 40 characters with at least 3 digits",
        "line 4: Email: must be an e-mail address with exactly one @",
        "line 5: Id: already used",
    ]
    _, problems = import_csv(CrmData("t", "FD"), "contacts", "Id,Nickname\nC1,x\n", _hash)
    assert [p.text() for p in problems] == ["line 1: Nickname: unknown field for contacts"]


def _config(tmp_path: Path) -> Path:
    cfg = yaml.safe_load((ROOT / "src" / "frontdesk" / "demo.yaml").read_text())
    cfg["server"]["data_dir"] = str(tmp_path / "var")
    path = tmp_path / "frontdesk.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "frontdesk", *args], capture_output=True, text=True, timeout=120
    )


def _contacts(tmp_path: Path) -> set[str]:
    conn = sqlite3.connect(tmp_path / "var" / "frontdesk.db")
    try:
        rows = conn.execute("SELECT id FROM crm_records WHERE collection='contacts'").fetchall()
    finally:
        conn.close()
    return {r[0] for r in rows}


def test_import_crm_command(tmp_path: Path) -> None:
    config = _config(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "FirstName,LastName,Email,AccountId\nAna,Ruiz,ana@example.com,1QA2-AC001\nBo,Li,bo@x,NOPE\nCy,Oh,,\n"
    )
    result = _run("import-crm", "contacts", str(bad), "--config", str(config))
    assert result.returncode == 1
    assert f"{bad}: line 3: AccountId: no Account with id NOPE" in result.stderr
    assert "nothing was imported" in result.stderr
    assert _contacts(tmp_path) == {"1QA2-RXQQC", "1QA2-D903L00", "1QA2-RXQR1", "1QA2-RXQR2"}
    good = tmp_path / "good.csv"
    good.write_text("Id,FirstName,LastName,HomePhone\nNEW-1,Ana,Ruiz,+1 555 123 4567\n,Bo,Li,\n")
    result = _run("import-crm", "Contact", str(good), "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "imported 2 contacts" in result.stdout
    ids = _contacts(tmp_path)
    assert "NEW-1" in ids and "1QA2-S78VL" in ids and len(ids) == 6
    assert _run("import-crm", "widgets", str(good), "--config", str(config)).returncode == 2
