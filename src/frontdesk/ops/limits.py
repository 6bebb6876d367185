"""The general rate limit (config ``server.limits.rate_limit``): token buckets per client address and
per client credential, behind a small counter interface.

``MemoryBuckets`` protects one node. A shared implementation (database or Redis) plugs in through
``RateCounters`` so that several nodes enforce one budget (ARCHITECTURE.md 10.6).
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from dataclasses import dataclass
from typing import Protocol

from frontdesk.config import RateLimitConfig


class RateCounters(Protocol):
    def take(self, key: str, rate: float, burst: int, now: float) -> float:
        """Take one token from ``key``'s bucket: 0 when allowed, else seconds until a token is free."""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class MemoryBuckets:
    """Token buckets in process memory; idle full buckets are dropped so memory stays bounded."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self._max_keys = max_keys
        self._last_prune = time.monotonic()

    def take(self, key: str, rate: float, burst: int, now: float) -> float:
        if now - self._last_prune > 60 or len(self._buckets) > self._max_keys:
            self._prune(now, rate, burst)
        b = self._buckets.get(key)
        if b is None:
            b = self._buckets[key] = _Bucket(float(burst), now)
        b.tokens = min(float(burst), b.tokens + (now - b.at) * rate)
        b.at = now
        if b.tokens >= 1.0:
            b.tokens -= 1.0
            return 0.0
        return (1.0 - b.tokens) / rate

    def _prune(self, now: float, rate: float, burst: int) -> None:
        self._last_prune = now
        full_after = burst / rate if rate > 0 else 0.0
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.at < full_after}


class RateLimiter:
    def __init__(self, cfg: RateLimitConfig, trusted_proxies: list[str], counters: RateCounters) -> None:
        self.rate = float(cfg.requests_per_second)
        self.burst = max(cfg.burst, 1)
        self.exempt = [ipaddress.ip_network(n, strict=False) for n in cfg.exempt_networks]
        self.trusted = [ipaddress.ip_network(n, strict=False) for n in trusted_proxies]
        self.counters = counters
        self._exempt_cache: dict[str, bool] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def client_address(self, peer: str, forwarded_for: str | None) -> str:
        """The peer, or the first ``X-Forwarded-For`` address when the peer is a trusted proxy."""
        if forwarded_for and self.trusted and _in(peer, self.trusted):
            first = forwarded_for.split(",")[0].strip()
            if first:
                return first
        return peer

    def is_exempt(self, address: str) -> bool:
        hit = self._exempt_cache.get(address)
        if hit is None:
            hit = _in(address, self.exempt)
            if len(self._exempt_cache) > 10_000:
                self._exempt_cache.clear()
            self._exempt_cache[address] = hit
        return hit

    def check(self, address: str, credential: str | None) -> float:
        """0 when the request may proceed, else the seconds to put in ``Retry-After``."""
        if not self.enabled or self.is_exempt(address):
            return 0.0
        now = time.monotonic()
        wait = self.counters.take("ip:" + address, self.rate, self.burst, now)
        if wait == 0.0 and credential:
            digest = hashlib.blake2b(credential.encode(), digest_size=12).hexdigest()
            wait = self.counters.take("client:" + digest, self.rate, self.burst, now)
        return wait


def _in(address: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in n for n in networks)
