"""Schemathesis against the OpenAPI document the running server publishes at /api/openapi.json.

Every operation gets schema-conforming (positive) and schema-violating (negative) requests, without
credentials, with a junk token, as an agent and as a supervisor/admin, and with the real ids of a
live chat and offer as well as generated ones. No answer may be a 5xx; every 4xx under /api/ is a
problem document (spec/native.md 2); the server stays healthy and logs no unhandled exception.
Before fuzzing, every /api/ route of the app's route table must be in the document, so a route
added later without documentation fails here instead of escaping the fuzzer.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hostile_support import app_routes, healthy, log_has_no_crash, record, roomy_limits
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests_support import SP_AUTH, sp_url

pytestmark = pytest.mark.slow

# About 2,400 requests in all (a minute on the 2-core CI machine), at least 20 per operation.
TOTAL_EXAMPLES = 2400
MIN_EXAMPLES = 20
PROBLEM = "application/problem+json"


def _norm(path: str) -> str:
    return re.sub(r"{[^}]+}", "{}", path)


class Tokens:
    def __init__(self, base: str) -> None:
        self.base = base
        self.by_user: dict[str, str] = {}
        self.refresh()

    def refresh(self) -> None:
        for login in ("alice", "sam"):
            r = httpx.post(
                self.base + "/api/v1/auth/login",
                json={"tenant": "example.com", "login": login, "password": "demo"},
                timeout=30,
            )
            # the admin API may have changed or removed the user meanwhile (admin operations run last)
            if r.status_code == 200:
                self.by_user[login] = r.json()["token"]
            else:
                self.by_user.setdefault(login, "revoked")

    def headers(self, who: str) -> dict[str, str]:
        if who == "none":
            return {}
        if who == "junk":
            return {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJzYW0ifQ."}
        return {"Authorization": "Bearer " + self.by_user[who]}


def live_ids(base: str, tokens: Tokens) -> dict[str, str]:
    """A customer chat offered to alice: its chat id and offer id, for path parameters."""
    auth = {"Authorization": SP_AUTH.format(client_id=uuid.uuid4())}
    r = httpx.post(base + sp_url("/chats"), json={}, headers=auth, timeout=30)
    assert r.status_code == 200, r.text
    chat_id = r.json()["chat_id"]
    alice = tokens.headers("alice")
    r = httpx.put(base + "/api/v1/agent/state", json={"state": "ready"}, headers=alice, timeout=30)
    assert r.status_code == 200, r.text
    ids = {"chat_id": chat_id, "login": "alice", "name": "support"}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "offer_id" not in ids:
        for offer in httpx.get(base + "/api/v1/agent/offers", headers=alice, timeout=30).json()["items"]:
            if offer["chat_id"] == chat_id:
                ids["offer_id"] = offer["offer_id"]
        time.sleep(0.05)
    return ids


def header(headers: Any, name: str) -> str:
    value = headers.get(name, "")
    return str(value[0] if isinstance(value, list) and value else value)


def order(operation: Any) -> tuple[int, int, str]:
    """Operations that can take the fuzzer's own credentials away (logout, administration of users
    and configuration) run last, so every other operation is fuzzed with working tokens."""
    path = str(operation.path)
    admin = path.startswith("/api/v1/admin")
    risky = operation.method.upper() == "DELETE" or any(w in path for w in ("/users", "reload", "config"))
    return (int(admin), int(admin and risky) + int(path.endswith("/logout")), f"{path} {operation.method}")


def test_openapi_fuzz_no_server_errors(server_factory: Any) -> None:
    srv = server_factory(roomy_limits, name="openapi")
    base = srv.base_url
    doc = httpx.get(base + "/api/openapi.json", timeout=30).json()
    served = {_norm(ep.path) for ep in app_routes() if ep.path.startswith("/api/")}
    documented = {_norm(p) for p in doc["paths"]}
    assert served <= documented, f"routes missing from the OpenAPI document: {sorted(served - documented)}"

    schema = schemathesis.openapi.from_dict(doc)
    tokens = Tokens(base)
    ids = live_ids(base, tokens)
    session = requests.Session()
    failures: list[str] = []
    stats = {"sent": 0, "unsendable": 0, "operations": 0}

    operations = sorted((r.ok() for r in schema.get_all_operations()), key=order)
    examples = max(MIN_EXAMPLES, TOTAL_EXAMPLES // max(1, len(operations)))
    for operation in operations:
        stats["operations"] += 1
        names = {p.name for p in operation.path_parameters}
        strategies = [
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        ]
        real = {k: v for k, v in ids.items() if k in names}
        if real and len(real) == len(names):
            strategies.append(operation.as_strategy(path_parameters=real))

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=st.one_of(strategies), who=st.sampled_from(["none", "junk", "alice", "sam"]))
        def fuzz(case: Any, who: str) -> None:
            op = case.operation
            try:
                response = case.call(base_url=base, session=session, headers=tokens.headers(who), timeout=60)
            except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL, UnicodeError):
                stats["unsendable"] += 1  # the client library refuses to send it: never reached the server
                return
            except requests.exceptions.RequestException as exc:
                failures.append(f"{op.method.upper()} {op.path} as {who}: no answer ({exc!r})")
                return
            stats["sent"] += 1
            code = response.status_code
            where = f"{op.method.upper()} {response.request.path_url[:200]} as {who}"
            if code >= 500:
                failures.append(f"{where}: {code} {response.text[:300]!r}")
            elif code >= 400 and op.method.upper() != "HEAD" and op.path.startswith("/api/"):
                ctype = header(response.headers, "content-type")
                if not ctype.startswith(PROBLEM):
                    failures.append(f"{where}: {code} without a problem document ({ctype!r})")

        fuzz()
        tokens.refresh()  # a fuzzed logout revokes the user's tokens
        healthy(base)

    healthy(base)
    assert srv.proc is not None and srv.proc.poll() is None
    log_has_no_crash(srv.log())
    record(
        "openapi_fuzz",
        requests_fuzzed=stats["sent"],
        openapi_operations=stats["operations"],
        unsendable_cases=stats["unsendable"],
        server_errors=sum(1 for f in failures if re.search(r": 5\d\d ", f)),
    )
    assert not failures, "\n".join(failures[:40]) + f"\n({len(failures)} failures)"
