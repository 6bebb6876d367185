"""Rate limits hold across nodes: every node forwards with the real client address, and the engine
node counts every request of the cluster (issue 10, item 4).

The client binds to 127.0.0.2 while the nodes reach each other from 127.0.0.1, which is exempt here:
if the engine node counted the forwarding node instead of the client, nothing would be refused.
Three nodes with per-node counters would each see a third of the burst, and refuse nothing either.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cluster.conftest import Cluster, RoundRobin
from tests_support import SP_AUTH, sp_url

pytestmark = pytest.mark.slow

BURST = 12


def _limited(cfg: dict[str, Any]) -> None:
    cfg["server"]["limits"]["rate_limit"] = {
        "requests_per_second": 1,
        "burst": BURST,
        "exempt_networks": ["127.0.0.1/32"],
    }


def test_rate_limit_counts_every_node(cluster_factory: Callable[..., Cluster]) -> None:
    cluster = cluster_factory(_limited)
    owner = cluster.owner()
    transport = RoundRobin(httpx.HTTPTransport(local_address="127.0.0.2"), cluster)
    headers = {"Authorization": SP_AUTH.format(client_id="limits")}
    refused: Counter[int] = Counter()
    answered: Counter[int] = Counter()
    with httpx.Client(base_url=owner.base_url, transport=transport, timeout=10, headers=headers) as http:
        for _ in range(3 * BURST):
            r = http.get(sp_url("/availability"))
            assert r.status_code in (200, 429), r.text
            port = r.request.url.port
            assert port is not None
            (refused if r.status_code == 429 else answered)[port] += 1
            if r.status_code == 429:
                assert int(r.headers["Retry-After"]) >= 1
                assert "5500" in r.text
    assert sum(answered.values()) <= BURST + 2  # the burst, plus what refilled meanwhile
    followers = [n.port for n in cluster.nodes if n is not owner]
    assert all(refused[p] > 0 for p in followers), (refused, answered)
    # a client on the exempt address is never limited, whichever node it asks
    with cluster.client(timeout=10, headers=headers) as http:
        assert all(http.get(sp_url("/availability")).status_code == 200 for _ in range(3 * BURST))
