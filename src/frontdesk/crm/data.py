"""One tenant's CRM records in memory, indexed for matching (spec/crmod-cti.md §3.5-3.6, §7).

Every change is synchronous (atomic on the event loop, §10.6) and is remembered as a dirty row;
``drain()`` hands the rows to the caller, who writes them in the same store transaction as the
decision that caused them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from frontdesk.crm import model as m
from frontdesk.crm.model import RecordError

META_ID = "~meta"
USER_PREFIX = "~user:"
_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SLOT_TYPES = {
    "ContactId": "Contact",
    "LeadId": "Lead",
    "AccountId": "Account",
    "ServiceRequestId": "Service Request",
    "CampaignId": "Campaign",
    "OpportunityId": "Opportunity",
}
# §3.6: the first filled slot in this order is the screen pop.
POP_ORDER = ("ServiceRequestId", "CampaignId", "ContactId", "LeadId", "AccountId")


def b36(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = _B36[r] + out
        if n == 0:
            break
    return out.rjust(5, "0")


def b36_value(text: str) -> int | None:
    try:
        return int(text, 36) if text and text.isalnum() else None
    except ValueError:
        return None


@dataclass(slots=True)
class Interaction:
    """The fields of one CTIActivityInsert interaction after validation (§3.1)."""

    interaction_id: str
    agent_offer_time: int
    channel: m.Channel
    origin: str | None = None
    destination: str | None = None
    priority: str | None = None
    queue: str | None = None
    ivr_begin: int | None = None
    queue_begin: int | None = None
    associated_id: str | None = None
    associated_type: str | None = None
    campaign_source_code: str | None = None
    contact_phone: str | None = None
    sr_number: str | None = None
    create_sr: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class InsertResult:
    status: str
    activity: dict[str, Any] | None = None


class CrmData:
    def __init__(self, tenant_id: str, id_prefix: str = "FD") -> None:
        self.tenant_id = tenant_id
        self.id_prefix = id_prefix
        self.next_id = b36_value("10000") or 0
        self.next_sr = 1
        self.priorities = ["1-High", "2-Medium", "3-Low"]
        self.records: dict[str, dict[str, Any]] = {}
        self.kinds: dict[str, str] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.phones: dict[str, dict[str, set[str]]] = {c: {} for c in m.PHONE_FIELDS}
        self.emails: dict[str, dict[str, set[str]]] = {c: {} for c in m.EMAIL_FIELDS}
        self.sr_numbers: dict[str, str] = {}
        self.source_codes: dict[str, str] = {}
        self.keys: dict[tuple[str, int], list[str]] = {}
        self.interactions: dict[str, list[str]] = {}
        self.activity_count = 0
        self.dirty: dict[str, tuple[str, dict[str, Any]] | None] = {}
        self.cleared = False

    # -- persistence rows ------------------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        return {
            "idPrefix": self.id_prefix,
            "nextId": self.next_id,
            "nextSrNumber": self.next_sr,
            "priorities": self.priorities,
        }

    def _touch(self, row_id: str, collection: str | None, rec: dict[str, Any] | None) -> None:
        self.dirty[row_id] = (collection, rec) if collection is not None and rec is not None else None

    def _touch_meta(self) -> None:
        self.dirty[META_ID] = ("_meta", self.meta())

    def drain(self) -> tuple[bool, list[tuple[str, str, str, str]], list[tuple[str, str]]]:
        """(clear the tenant first?, rows to put, rows to delete) since the last drain."""
        puts: list[tuple[str, str, str, str]] = []
        deletes: list[tuple[str, str]] = []
        for key, item in self.dirty.items():
            if item is None:
                deletes.append((self.tenant_id, key))
            else:
                puts.append((self.tenant_id, key, item[0], json.dumps(item[1], separators=(",", ":"))))
        cleared, self.cleared = self.cleared, False
        self.dirty = {}
        return cleared, puts, deletes

    def load_rows(self, rows: list[tuple[str, str, str]]) -> None:
        """Rebuild from stored (row id, collection, json) rows."""
        for _row_id, collection, raw in rows:
            data = json.loads(raw)
            if collection == "_meta":
                self.id_prefix = str(data.get("idPrefix", self.id_prefix))
                self.next_id = int(data.get("nextId", self.next_id))
                self.next_sr = int(data.get("nextSrNumber", self.next_sr))
                self.priorities = list(data.get("priorities", self.priorities))
            elif collection == "users":
                self.users[str(data["SignInId"]).lower()] = data
            else:
                self._index(collection, data)
        self.dirty = {}

    # -- ids ---------------------------------------------------------------------------------
    def new_id(self) -> str:
        while True:
            candidate = f"{self.id_prefix}-{b36(self.next_id)}"
            self.next_id += 1
            if candidate not in self.records:
                self._touch_meta()
                return candidate

    def new_sr_number(self) -> str:
        while True:
            candidate = f"1-{self.next_sr:07d}"
            self.next_sr += 1
            if candidate.lower() not in self.sr_numbers:
                self._touch_meta()
                return candidate

    # -- indexes -----------------------------------------------------------------------------
    def _index(self, collection: str, rec: dict[str, Any]) -> None:
        rid = rec["Id"]
        self.records[rid] = rec
        self.kinds[rid] = collection
        for f in m.PHONE_FIELDS.get(collection, ()):
            p = m.norm_phone(rec.get(f))
            if p:
                self.phones[collection].setdefault(p, set()).add(rid)
        for f in m.EMAIL_FIELDS.get(collection, ()):
            e = m.norm_email(rec.get(f))
            if e:
                self.emails[collection].setdefault(e, set()).add(rid)
        if collection == "serviceRequests" and rec.get("SRNumber"):
            self.sr_numbers[str(rec["SRNumber"]).lower()] = rid
        if collection == "campaigns" and rec.get("SourceCode"):
            self.source_codes[str(rec["SourceCode"]).lower()] = rid
        if collection == "activities":
            self.keys.setdefault((rec["InteractionId"], int(rec["AgentOfferTime"])), []).append(rid)
            self.interactions.setdefault(rec["InteractionId"], []).append(rid)
            self.activity_count += 1

    def _unindex(self, rid: str) -> dict[str, Any] | None:
        rec = self.records.pop(rid, None)
        collection = self.kinds.pop(rid, None)
        if rec is None or collection is None:
            return None
        for f in m.PHONE_FIELDS.get(collection, ()):
            p = m.norm_phone(rec.get(f))
            if p and p in self.phones[collection]:
                self.phones[collection][p].discard(rid)
        for f in m.EMAIL_FIELDS.get(collection, ()):
            e = m.norm_email(rec.get(f))
            if e and e in self.emails[collection]:
                self.emails[collection][e].discard(rid)
        if collection == "serviceRequests" and rec.get("SRNumber"):
            self.sr_numbers.pop(str(rec["SRNumber"]).lower(), None)
        if collection == "campaigns" and rec.get("SourceCode"):
            self.source_codes.pop(str(rec["SourceCode"]).lower(), None)
        if collection == "activities":
            key = (rec["InteractionId"], int(rec["AgentOfferTime"]))
            if rid in self.keys.get(key, []):
                self.keys[key].remove(rid)
            if rid in self.interactions.get(rec["InteractionId"], []):
                self.interactions[rec["InteractionId"]].remove(rid)
            self.activity_count -= 1
        return rec

    # -- reads -------------------------------------------------------------------------------
    def get(self, collection: str, rid: str) -> dict[str, Any] | None:
        if collection == "users":
            return self.users.get(rid.lower())
        if self.kinds.get(rid) != collection:
            return None
        return self.records[rid]

    def of_type(self, rtype: str, rid: str) -> dict[str, Any] | None:
        collection = m.RECORD_COLLECTION.get(rtype)
        return self.get(collection, rid) if collection else None

    def items(self, collection: str) -> list[dict[str, Any]]:
        if collection == "users":
            return [self.users[k] for k in sorted(self.users)]
        return [self.records[rid] for rid in sorted(self.records) if self.kinds[rid] == collection]

    def name_of(self, rid: str | None) -> str:
        if not rid or rid not in self.records:
            return ""
        return m.display_name(self.kinds[rid], self.records[rid])

    # -- writes ------------------------------------------------------------------------------
    def check_refs(self, collection: str, rec: dict[str, Any]) -> None:
        for name, (kind, arg) in m.FIELDS[collection].items():
            if kind == "ref" and rec.get(name) is not None and self.kinds.get(rec[name]) != arg:
                raise RecordError(name, f"no {m.COLLECTIONS[arg]} with id {rec[name]}")

    def _check_unique(
        self, collection: str, rec: dict[str, Any], replacing: str | None, dup_key: bool
    ) -> None:
        rid = rec.get("Id")
        if rid is not None and rid != replacing and rid in self.records:
            raise RecordError("Id", "already used", "conflict")
        if collection == "serviceRequests" and rec.get("SRNumber"):
            other = self.sr_numbers.get(str(rec["SRNumber"]).lower())
            if other is not None and other != replacing:
                raise RecordError("SRNumber", "already used", "conflict")
        if collection == "campaigns" and rec.get("SourceCode"):
            other = self.source_codes.get(str(rec["SourceCode"]).lower())
            if other is not None and other != replacing:
                raise RecordError("SourceCode", "already used", "conflict")
        if collection == "activities" and not dup_key:
            ids = self.keys.get((rec["InteractionId"], int(rec["AgentOfferTime"])), [])
            if any(i != replacing for i in ids):
                raise RecordError(
                    "key", "an activity with this InteractionId and AgentOfferTime exists", "conflict"
                )

    def put_user(self, raw: dict[str, Any], hasher: Any, replacing: str | None = None) -> dict[str, Any]:
        rec = m.clean_record("users", raw)
        folded = str(rec["SignInId"]).lower()
        if replacing is not None and folded != replacing.lower():
            raise RecordError("SignInId", "cannot be changed")
        old = self.users.get(folded)
        if replacing is None and old is not None:
            raise RecordError("SignInId", "already used", "conflict")
        password = rec.pop("Password", None)
        if password is not None:
            rec["PasswordHash"] = hasher(password)
        elif "PasswordHash" not in rec:
            if old is None or "PasswordHash" not in old:
                raise RecordError("Password", "is required")
            rec["PasswordHash"] = old["PasswordHash"]
        self.users[folded] = rec
        self._touch(USER_PREFIX + folded, "users", rec)
        return rec

    def create(self, collection: str, raw: dict[str, Any], *, dup_key: bool = False) -> dict[str, Any]:
        rec = m.clean_record(collection, raw)
        self._check_unique(collection, rec, None, dup_key)
        self.check_refs(collection, rec)
        self._fill_defaults(collection, rec)
        self._index(collection, rec)
        self._touch(rec["Id"], collection, rec)
        return rec

    def _fill_defaults(self, collection: str, rec: dict[str, Any]) -> None:
        if "Id" not in rec:
            rec["Id"] = self.new_id()
        if collection == "serviceRequests":
            if "SRNumber" not in rec:
                rec["SRNumber"] = self.new_sr_number()
            rec.setdefault("Status", "Open")
        if collection == "activities":
            rec.setdefault("Subject", rec["ChannelType"])

    def replace(
        self, collection: str, rid: str, raw: dict[str, Any], *, dup_key: bool = False
    ) -> dict[str, Any]:
        if self.get(collection, rid) is None:
            raise RecordError("Id", "not found", "not_found")
        body = dict(raw)
        if body.get("Id") not in (None, "", rid):
            raise RecordError("Id", "does not match the path")
        body["Id"] = rid
        rec = m.clean_record(collection, body)
        self._check_unique(collection, rec, rid, dup_key)
        self.check_refs(collection, rec)
        self._fill_defaults(collection, rec)
        self._unindex(rid)
        self._index(collection, rec)
        self._touch(rid, collection, rec)
        return rec

    def delete(self, collection: str, rid: str) -> None:
        if collection == "users":
            if self.users.pop(rid.lower(), None) is None:
                raise RecordError("SignInId", "not found", "not_found")
            self._touch(USER_PREFIX + rid.lower(), None, None)
            return
        if self.get(collection, rid) is None:
            raise RecordError("Id", "not found", "not_found")
        self._unindex(rid)
        self._touch(rid, None, None)
        for other_id, other in list(self.records.items()):
            if rid in other.values():
                refs = {n for n, (kind, _) in m.FIELDS[self.kinds[other_id]].items() if kind == "ref"}
                changed = {k: v for k, v in other.items() if not (v == rid and k in refs)}
                if changed != other:
                    kind = self.kinds[other_id]
                    self._unindex(other_id)
                    self._index(kind, changed)
                    self._touch(other_id, kind, changed)

    def update_activity(self, rid: str, changes: dict[str, Any]) -> dict[str, Any]:
        rec = dict(self.records[rid])
        for k, v in changes.items():
            if v is None:
                rec.pop(k, None)
            else:
                rec[k] = v
        self.records[rid] = rec
        self._touch(rid, "activities", rec)
        return rec

    def clear(self) -> None:
        self.__init__(self.tenant_id, self.id_prefix)  # type: ignore[misc]
        self.cleared = True

    # -- matching (§3.5) ---------------------------------------------------------------------
    def _unique(self, ids: set[str] | None) -> str | None:
        return next(iter(ids)) if ids is not None and len(ids) == 1 else None

    def associate(self, it: Interaction, match_campaigns: bool) -> dict[str, str]:
        slots: dict[str, str] = {}

        def fill(slot: str, rid: str | None) -> None:
            if rid and slot not in slots:
                slots[slot] = rid

        # A. passed-in record
        if it.associated_id and it.associated_type:
            rec = self.of_type(it.associated_type, it.associated_id)
            if rec is not None:
                t = it.associated_type
                if t == "Activity":
                    slots["ParentActivityId"] = rec["Id"]
                else:
                    slot = next(s for s, st in SLOT_TYPES.items() if st == t)
                    fill(slot, rec["Id"])
                if t == "Service Request":
                    fill("ContactId", rec.get("ContactId"))
                    fill("AccountId", rec.get("AccountId"))
                if t == "Opportunity":
                    fill("AccountId", rec.get("AccountId"))
                return slots
        # B. IVR parameters
        if it.sr_number:
            sr_id = self.sr_numbers.get(it.sr_number.strip().lower())
            if sr_id is not None:
                fill("ServiceRequestId", sr_id)
                sr = self.records[sr_id]
                fill("ContactId", sr.get("ContactId"))
                fill("AccountId", sr.get("AccountId"))
        if it.campaign_source_code:
            fill("CampaignId", self.source_codes.get(it.campaign_source_code.strip().lower()))
        if it.contact_phone:
            p = m.norm_phone(it.contact_phone)
            if p:
                fill("ContactId", self._unique(self.phones["contacts"].get(p)))
        # C. ANI/DNIS
        customer, company = self.sides(it)
        if customer:
            is_mail = "@" in customer
            key = m.norm_email(customer) if is_mail else m.norm_phone(customer)
            index = self.emails if is_mail else self.phones
            if key:
                for slot, collection in (
                    ("ContactId", "contacts"),
                    ("LeadId", "leads"),
                    ("AccountId", "accounts"),
                ):
                    fill(slot, self._unique(index[collection].get(key)))
        if company and match_campaigns:
            is_mail = "@" in company
            key = m.norm_email(company) if is_mail else m.norm_phone(company)
            if key:
                fill(
                    "CampaignId",
                    self._unique((self.emails if is_mail else self.phones)["campaigns"].get(key)),
                )
        return slots

    @staticmethod
    def sides(it: Interaction) -> tuple[str | None, str | None]:
        """(customer-side value, company-side value) of table 3.3."""
        side = it.channel.customer
        if side == "origin":
            return it.origin, it.destination
        if side == "destination":
            return it.destination, it.origin
        if it.destination:
            return it.destination, it.origin
        return it.origin, None

    @staticmethod
    def screen_pop(activity: dict[str, Any]) -> tuple[str, str]:
        for slot in POP_ORDER:
            if activity.get(slot):
                return SLOT_TYPES[slot], str(activity[slot])
        return "Activity", str(activity["Id"])

    # -- CTIActivityInsert (§3.4) -----------------------------------------------------------
    def insert_activity(
        self, it: Interaction, owner: str, now: int, *, max_activities: int, match_campaigns: bool
    ) -> InsertResult:
        too_long = len(it.interaction_id) > 30 or any(
            v is not None and len(v) > 100
            for v in (
                it.origin,
                it.destination,
                it.associated_id,
                it.campaign_source_code,
                it.contact_phone,
                it.sr_number,
            )
        )
        if too_long or (it.queue is not None and len(it.queue) > 250):
            return InsertResult("Unable to create activity")
        existing = self.keys.get((it.interaction_id, it.agent_offer_time))
        if existing:
            return InsertResult("Activity already exists", self.records[sorted(existing)[0]])
        if self.activity_count >= max_activities:
            return InsertResult("Unable to create activity")
        slots = self.associate(it, match_campaigns)
        customer, _ = self.sides(it)
        subject = f"{it.channel.name} from {customer}" if customer else it.channel.name
        activity_id = self.new_id()
        if (
            it.create_sr
            and not it.sr_number
            and it.associated_type != "Service Request"
            and "ServiceRequestId" not in slots
        ):
            sr: dict[str, Any] = {
                "Id": self.new_id(),
                "SRNumber": self.new_sr_number(),
                "Subject": subject[:250],
                "Status": "Open",
            }
            for slot in ("ContactId", "AccountId"):
                if slot in slots:
                    sr[slot] = slots[slot]
            self._index("serviceRequests", sr)
            self._touch(sr["Id"], "serviceRequests", sr)
            slots["ServiceRequestId"] = sr["Id"]
        priority = None
        if it.priority:
            priority = next((p for p in self.priorities if m.lov_key(p) == m.lov_key(it.priority)), None)
        rec: dict[str, Any] = {
            "Id": activity_id,
            "InteractionId": it.interaction_id,
            "AgentOfferTime": it.agent_offer_time,
            "ChannelType": it.channel.name,
            "Type": it.channel.type,
            "Origin": it.origin,
            "Destination": it.destination,
            "Priority": priority,
            "Queue": it.queue,
            "IVRBeginTime": it.ivr_begin if it.ivr_begin is not None else it.agent_offer_time,
            "QueueBeginTime": it.queue_begin if it.queue_begin is not None else it.agent_offer_time,
            "Owner": owner,
            **slots,
            "AssociatedRecordId": it.associated_id,
            "AssociatedRecordType": it.associated_type,
            "CampaignSourceCode": it.campaign_source_code,
            "ContactPhoneNumber": it.contact_phone,
            "ServiceRequestNumber": it.sr_number,
            "Subject": subject[:250],
            "Status": "In Progress",
            "WrappedUp": False,
            "CreatedTime": now,
            **it.extra,
        }
        rec = {k: v for k, v in rec.items() if v is not None}
        self._index("activities", rec)
        self._touch(activity_id, "activities", rec)
        return InsertResult("OK", rec)

    # -- CTIActivityWrapUp (§4.3) -----------------------------------------------------------
    def find_key(
        self, interaction_id: str, agent_offer_time: int, channel_name: str | None
    ) -> list[dict[str, Any]]:
        ids = self.keys.get((interaction_id, agent_offer_time), [])
        found = [self.records[i] for i in sorted(ids)]
        if channel_name is not None:
            found = [r for r in found if r.get("ChannelType") == channel_name]
        return found

    def wrap_up(
        self, rec: dict[str, Any], user: str, now: int, changes: dict[str, Any] | None = None
    ) -> bool:
        """Conditional update WrappedUp false -> true; False when it was already wrapped up."""
        if rec.get("WrappedUp"):
            return False
        update = {"WrappedUp": True, "WrapUpTime": now, "WrappedUpBy": user, "Status": "Completed"}
        update.update(changes or {})
        self.update_activity(rec["Id"], update)
        return True

    # -- search ------------------------------------------------------------------------------
    def search(
        self, collection: str, q: str | None, phone: str | None, email: str | None
    ) -> list[dict[str, Any]]:
        out = self.items(collection)
        if phone:
            p = m.norm_phone(phone)
            fields = m.PHONE_FIELDS.get(collection, ())
            out = [r for r in out if p and any(m.norm_phone(r.get(f)) == p for f in fields)]
        if email:
            e = m.norm_email(email)
            fields = m.EMAIL_FIELDS.get(collection, ())
            out = [r for r in out if e and any(m.norm_email(r.get(f)) == e for f in fields)]
        if q:
            needle = q.strip().lower()
            digits = "".join(ch for ch in needle if ch.isdigit())
            out = [r for r in out if _matches(collection, r, needle, digits)]
        return out


_SEARCH_TEXT = (
    "Id",
    "SignInId",
    "FullName",
    "FirstName",
    "LastName",
    "Name",
    "Company",
    "Email",
    "SRNumber",
    "SourceCode",
    "Subject",
    "InteractionId",
)


def _matches(collection: str, rec: dict[str, Any], needle: str, digits: str) -> bool:
    for f in _SEARCH_TEXT:
        v = rec.get(f)
        if isinstance(v, str) and needle in v.lower():
            return True
    if collection in ("contacts", "leads") and needle in m.full_name(rec).lower():
        return True
    if digits and len(digits) == len(needle.replace(" ", "").replace("-", "").replace("+", "")):
        for f in m.PHONE_FIELDS.get(collection, ()):
            v = rec.get(f)
            if isinstance(v, str) and digits in "".join(ch for ch in v if ch.isdigit()):
                return True
    return False
