"""The CRM dataset document (spec/crmod-cti.md §7.4): load all-or-nothing, export without passwords."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from frontdesk.crm import model as m
from frontdesk.crm.data import CrmData, b36, b36_value
from frontdesk.crm.model import RecordError

DATASET_KEYS = ("idPrefix", "nextId", "nextSrNumber", "priorities", *m.COLLECTIONS)
# Records are created in this order so that references resolve.
LOAD_ORDER = (
    "users",
    "accounts",
    "contacts",
    "leads",
    "opportunities",
    "campaigns",
    "serviceRequests",
    "activities",
)


class DatasetError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def load_dataset(
    tenant_id: str, doc: dict[str, Any], hasher: Callable[[str], str], default_prefix: str = "FD"
) -> CrmData:
    """A new CrmData holding the document's records; DatasetError lists every problem."""
    problems: list[str] = []
    if not isinstance(doc, dict):
        raise DatasetError(["the dataset must be a mapping"])
    for key in doc:
        if key not in DATASET_KEYS:
            problems.append(f"{key}: unknown dataset key")
    prefix = doc.get("idPrefix", default_prefix)
    data = CrmData(tenant_id, str(prefix))
    if not isinstance(prefix, str) or not m.valid_id(prefix + "-0"):
        problems.append("idPrefix: must be letters and digits")
    next_id = doc.get("nextId")
    if next_id is not None:
        value = b36_value(str(next_id))
        if value is None:
            problems.append("nextId: must be a base-36 number")
        else:
            data.next_id = value
    nsr = doc.get("nextSrNumber")
    if nsr is not None:
        if isinstance(nsr, bool) or not isinstance(nsr, int) or nsr < 1:
            problems.append("nextSrNumber: must be a positive integer")
        else:
            data.next_sr = nsr
    prio = doc.get("priorities")
    if prio is not None:
        if not isinstance(prio, list) or not all(isinstance(p, str) and p.strip() for p in prio):
            problems.append("priorities: must be a list of strings")
        else:
            data.priorities = [p.strip() for p in prio]
    for collection in LOAD_ORDER:
        items = doc.get(collection) or []
        if not isinstance(items, list):
            problems.append(f"{collection}: must be a list")
            continue
        for i, raw in enumerate(items):
            where = f"{collection}[{i}]"
            if not isinstance(raw, dict):
                problems.append(f"{where}: must be a mapping")
                continue
            label = raw.get("SignInId") if collection == "users" else raw.get("Id")
            if label:
                where = f"{collection}[{i}] ({label})"
            try:
                if collection == "users":
                    data.put_user(raw, hasher)
                else:
                    data.create(collection, raw, dup_key=True)
            except RecordError as exc:
                problems.append(f"{where}.{exc.field}: {exc.message}")
    if problems:
        raise DatasetError(problems)
    data.dirty = {}
    return data


def export_dataset(data: CrmData) -> dict[str, Any]:
    out: dict[str, Any] = {
        "idPrefix": data.id_prefix,
        "nextId": b36(data.next_id),
        "nextSrNumber": data.next_sr,
        "priorities": list(data.priorities),
    }
    for collection in m.COLLECTIONS:
        items = data.items(collection)
        if collection == "users":
            items = [public_user(u) for u in items]
        out[collection] = items
    return out


def public_user(user: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in user.items() if k not in ("Password", "PasswordHash")}


def all_rows(data: CrmData) -> list[tuple[str, str, str, str]]:
    """Every row of the tenant, for a full rewrite (seed load, dataset replace, reset)."""
    data.dirty = {}
    data._touch_meta()
    for folded, user in data.users.items():
        data._touch("~user:" + folded, "users", user)
    for rid, rec in data.records.items():
        data._touch(rid, data.kinds[rid], rec)
    _, puts, _ = data.drain()
    return puts
