"""Rate limits for public endpoints: in-process token buckets keyed by client address, and a lockout after failures.

In-process on purpose: one worker needs nothing else. With several workers each keeps its own buckets, so the
effective limit is the per-worker limit times the workers; put a proxy's limit in front for a hard global one.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_TRACKED = 50_000  # addresses kept per bucket; full (idle) buckets are dropped first when there are more


@dataclass(frozen=True)
class Rate:
    capacity: int  # requests allowed in a burst
    per_second: float  # refill speed

    @classmethod
    def per(cls, count: int, seconds: float) -> Rate:
        return cls(count, count / seconds)


@dataclass(frozen=True)
class Limits:
    """Per client address. The defaults suit a privacy center; tests and busy sites pass their own."""

    submit: Rate = Rate(10, 10 / 3600)  # new data-subject requests: 10 an hour
    code: Rate = Rate(20, 20 / 3600)  # verification code checks and resends: 20 an hour
    login: Rate = Rate(10, 10 / 900)  # 10 in 15 minutes
    banner: Rate = Rate(120, 2.0)  # consent choices from the banner (many visitors can share one address)
    lockout_failures: int = 10  # wrong codes from one address within the window ...
    lockout_window_s: float = 900.0
    lockout_s: float = 900.0  # ... lock it out of code checks this long


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class TokenBucket:
    rate: Rate
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str) -> float:
        """Take one token for `key`: 0.0 when allowed, else the seconds until one is available."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= MAX_TRACKED:
                    self._prune(now)
                bucket = self._buckets[key] = _Bucket(float(self.rate.capacity), now)
            else:
                refill = (now - bucket.updated) * self.rate.per_second
                bucket.tokens = min(float(self.rate.capacity), bucket.tokens + refill)
                bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate.per_second if self.rate.per_second > 0 else math.inf

    def _prune(self, now: float) -> None:
        full = [k for k, b in self._buckets.items()
                if b.tokens + (now - b.updated) * self.rate.per_second >= self.rate.capacity]  # fmt: skip
        for key in full or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[key]


@dataclass
class Lockout:
    """Counts failures per key; after `failures` within `window` the key is refused for `duration` seconds."""

    failures: int
    window: float
    duration: float
    clock: Callable[[], float] = time.monotonic
    _seen: dict[str, list[float]] = field(default_factory=dict)
    _until: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def locked_for(self, key: str) -> float:
        now = self.clock()
        with self._lock:
            until = self._until.get(key, 0.0)
            if until <= now:
                self._until.pop(key, None)
                return 0.0
            return until - now

    def failed(self, key: str) -> None:
        now = self.clock()
        with self._lock:
            recent = [t for t in self._seen.get(key, []) if now - t < self.window]
            recent.append(now)
            if len(recent) >= self.failures:
                self._until[key] = now + self.duration
                self._seen.pop(key, None)
            else:
                if len(self._seen) >= MAX_TRACKED:
                    self._seen.clear()
                self._seen[key] = recent


@dataclass
class Limiter:
    limits: Limits
    clock: Callable[[], float] = time.monotonic
    buckets: dict[str, TokenBucket] = field(init=False)
    lockout: Lockout = field(init=False)

    def __post_init__(self) -> None:
        rates = {"submit": self.limits.submit, "code": self.limits.code, "login": self.limits.login,
                 "banner": self.limits.banner}  # fmt: skip
        self.buckets = {name: TokenBucket(rate, self.clock) for name, rate in rates.items()}
        self.lockout = Lockout(self.limits.lockout_failures, self.limits.lockout_window_s, self.limits.lockout_s,
                               self.clock)  # fmt: skip

    def take(self, bucket: str, client: str) -> float:
        return self.buckets[bucket].take(client)
