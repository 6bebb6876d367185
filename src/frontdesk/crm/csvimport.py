"""``frontdesk import-crm TYPE FILE.csv`` (native.md §10.3, crmod-cti.md §7.1): one record type per
file, header = that type's field names; the whole file is checked first and either every row is
loaded or none is, with every bad row reported (line, field, reason)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

from frontdesk.crm import model as m
from frontdesk.crm.data import CrmData

# Accepted TYPE spellings: the collection name, its singular, or the record type.
ALIASES: dict[str, str] = {}
for _c, _t in m.COLLECTIONS.items():
    ALIASES[_c.lower()] = _c
    ALIASES[_t.lower().replace(" ", "")] = _c
    ALIASES[_t.lower()] = _c
ALIASES["servicerequests"] = "serviceRequests"


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    field: str
    reason: str

    def text(self) -> str:
        return f"line {self.line}: {self.field}: {self.reason}"


def collection_of(name: str) -> str | None:
    return ALIASES.get(name.strip().lower().replace("_", "").replace("-", ""))


def import_csv(
    data: CrmData, collection: str, text: str, hasher: Callable[[str], str]
) -> tuple[int, list[RowProblem]]:
    """Apply every row to ``data`` or none: returns (rows loaded, problems). With problems, ``data``
    is left exactly as it was (the caller discards the copy it passed)."""
    problems: list[RowProblem] = []
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return 0, [RowProblem(1, "-", "the file is empty; the first line must be the header")]
    except csv.Error as exc:
        return 0, [RowProblem(1, "-", f"not CSV: {exc}")]
    header = [h.strip() for h in header]
    fields = m.FIELDS[collection]
    for h in header:
        if h not in fields:
            problems.append(RowProblem(1, h or "-", f"unknown field for {collection}"))
    if len(set(header)) != len(header):
        problems.append(RowProblem(1, "-", "a field name appears twice"))
    if problems:
        return 0, problems
    count = 0
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                problems.append(RowProblem(line, "-", f"expected {len(header)} values, found {len(row)}"))
                continue
            raw = {h: v for h, v in zip(header, row, strict=True) if v.strip() != ""}
            try:
                if collection == "users":
                    if data.get("users", str(raw.get("SignInId", ""))) is not None:
                        raise m.RecordError("SignInId", "already used")
                    data.put_user(raw, hasher)
                else:
                    data.create(collection, raw)
                count += 1
            except m.RecordError as exc:
                problems.append(RowProblem(line, exc.field, exc.message))
    except csv.Error as exc:
        problems.append(RowProblem(reader.line_num, "-", f"not CSV: {exc}"))
    return count, problems
