"""Keeping a sick subgraph from making the gateway sick: breakers, retries, in-flight dedupe.

`ResilientFetcher` is the resilience stage of the fetch pipeline (observe → propagate headers
→ resilience → HTTP). It puts together small, clock-injectable pieces, kept per subgraph by a
`SubgraphGuards` that outlives supergraph reloads:

- `CircuitBreaker`: closed → open when the failure rate of the last seconds' calls passes a
  threshold with enough volume (fail fast) → half-open after a cool-down, letting a trickle
  of trial calls decide between closed and open again. Each subgraph has one, and each
  operation on it has its own: a subgraph's breaker judges the subgraph (its failures must
  come from more than one operation), so one client's query that keeps timing out is failed
  fast alone. Shed and cancelled fetches give no verdict;
- `RetryBudget`: retries may add at most a fraction of the traffic, so retrying cannot turn a
  struggling subgraph into a dead one;
- `InflightDeduper`: identical subgraph queries in flight at once share one fetch.

Only queries are retried or shared, never mutations: the request says which it is
(`SubgraphRequest.idempotent`, from the plan), so nothing here reads the operation text.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from federation.execution.merge import copy_json
from federation.subgraphs.breakers import BreakerState, CircuitBreaker
from federation.subgraphs.concurrency import ConcurrencyLimiter, Overloaded, VegasLimit
from federation.subgraphs.fetcher import Fetcher, SubgraphFetchError, SubgraphRequest

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "InflightDeduper",
    "Resilience",
    "ResilientFetcher",
    "RetryBudget",
    "SubgraphGuards",
]

T = TypeVar("T")
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Resilience:
    """How the resilience stage treats every subgraph; each part can be switched off."""

    #: failures within `window` that may open a subgraph's breaker, if they are also at least
    #: `failure_rate` of its calls there (None: no breaker)
    failure_threshold: int | None = 10
    #: share of a window's calls that must have failed for its breaker to open
    failure_rate: float = 0.5
    #: seconds of calls a breaker judges (a sliding window)
    window: float = 10.0
    #: seconds a breaker stays open before letting trial calls through
    reset_timeout: float = 3.0
    #: trial calls in flight at once while half-open (a trickle): one success closes, one
    #: failure opens again
    half_open_calls: int = 3
    #: each subgraph operation (the text a fetch sends) has its own breaker too, and a
    #: subgraph's breaker needs failures from two operations (or traffic from one only): one
    #: client's expensive query that times out fails fast alone, not every client's
    per_operation: bool = True
    #: fetches in flight to each subgraph follow its latency (federation/subgraphs/concurrency.py)
    adaptive_concurrency: bool = True
    #: a subgraph's concurrency limit: at first, at least and at most
    initial_concurrency: int = 100
    min_concurrency: int = 10
    max_concurrency: int = 1000
    #: fetches that may wait for a slot past the limit, and for how many seconds at most (never
    #: past the fetch's own deadline: it would only time out); the rest are shed at once
    #: (OVERLOADED)
    queue_size: int = 1000
    queue_timeout: float = 5.0
    #: extra attempts after a failed query (mutations never retry)
    max_retries: int = 2
    #: retries may add this fraction of the fetches to each subgraph
    retry_ratio: float = 0.2
    #: retries always allowed per subgraph, whatever the traffic, so a quiet subgraph can retry
    retry_reserve: int = 10
    #: seconds before the first retry; doubles for each further one
    retry_backoff: float = 0.02
    #: identical in-flight queries to one subgraph share one fetch
    dedupe: bool = True
    #: identical in-flight client queries (same text, operation name, variables and forwarded
    #: headers) share one execution and its answer
    dedupe_inbound: bool = False

    def __post_init__(self) -> None:
        if self.failure_threshold is not None and self.failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if self.reset_timeout <= 0 or self.half_open_calls < 1 or self.window <= 0:
            raise ValueError("reset_timeout, window and half_open_calls must be positive")
        if not 0 < self.failure_rate <= 1:
            raise ValueError("failure_rate must be above 0 and at most 1")
        if self.max_retries < 0 or self.retry_ratio < 0 or self.retry_backoff < 0:
            raise ValueError("retry settings must not be negative")
        if not 1 <= self.min_concurrency <= self.initial_concurrency <= self.max_concurrency:
            raise ValueError("need 1 <= min_concurrency <= initial_concurrency <= max_concurrency")
        if self.queue_size < 0 or self.queue_timeout <= 0:
            raise ValueError("queue_size must not be negative, queue_timeout must be positive")


class RetryBudget:
    """A token bucket of retries: each first attempt deposits `ratio`, each retry takes one.

    `reserve` tokens are always there to start with and the balance never grows past
    `reserve` plus what a burst of `reserve / ratio` fetches deposits, so a long quiet period
    does not bank an unbounded retry storm.
    """

    def __init__(self, *, ratio: float = 0.2, reserve: int = 10) -> None:
        self.ratio = ratio
        self.reserve = reserve
        self._balance = float(reserve)
        self._cap = float(reserve) * 2

    @property
    def balance(self) -> float:
        """Retries available now."""
        return self._balance

    def deposit(self) -> None:
        """A first attempt was made."""
        self._balance = min(self._cap, self._balance + self.ratio)

    def withdraw(self) -> bool:
        """Take one retry, if the budget has one."""
        if self._balance < 1:
            return False
        self._balance -= 1
        return True


class InflightDeduper:
    """Shares one in-flight call among identical concurrent callers.

    `run(key, call)` starts `call()` unless a call with the same key is already running, in
    which case it waits for that one. The call runs in its own task, so a caller that gives
    up (its client went away) neither cancels it for the others nor sees their outcome. The
    entry goes when the call ends: nothing is cached past it.
    """

    def __init__(self) -> None:
        self._running: dict[Hashable, _Inflight] = {}
        #: callers answered by a call another caller had started
        self.shared = 0

    def __len__(self) -> int:
        return len(self._running)

    async def run(self, key: Hashable, call: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """The call's result, and whether more than one caller received it (then each must
        treat it as read-only or copy it: the others hold the same object)."""
        entry = self._running.get(key)
        if entry is None:
            task: asyncio.Task[Any] = asyncio.ensure_future(_awaited(call))
            entry = self._running[key] = _Inflight(task)
            task.add_done_callback(lambda done: self._forget(key, done))
        else:
            entry.callers += 1
            self.shared += 1
        result: T = await asyncio.shield(entry.task)
        # By the time the task is done, every caller that will share it has joined.
        return result, entry.callers > 1

    def _forget(self, key: Hashable, task: asyncio.Task[Any]) -> None:
        entry = self._running.get(key)
        if entry is not None and entry.task is task:
            del self._running[key]
        if not task.cancelled():
            task.exception()  # retrieved: a failure nobody awaited is not logged as lost


@dataclass(slots=True)
class _Inflight:
    task: asyncio.Task[Any]
    callers: int = 1


async def _awaited(call: Callable[[], Awaitable[T]]) -> T:
    return await call()


#: operations whose breakers each subgraph keeps (the least recently used go first)
MAX_OPERATION_BREAKERS = 256


class SubgraphGuards:
    """Per subgraph name: its circuit breaker (and one per operation), its retry budget, and
    the fetches in flight.

    Built once with the app and shared by the resilience stage of every engine it builds, so
    a reloaded supergraph keeps each subgraph's state.
    """

    def __init__(self, policy: Resilience | None = None, *, clock: Clock = time.monotonic) -> None:
        self.policy = policy if policy is not None else Resilience()
        self._clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}
        self._operation_breakers: OrderedDict[tuple[str, Hashable], CircuitBreaker] = OrderedDict()
        self._budgets: dict[str, RetryBudget] = {}
        self._limiters: dict[str, ConcurrencyLimiter] = {}
        self.inflight = InflightDeduper()

    def limiter(self, service_name: str) -> ConcurrencyLimiter | None:
        """The subgraph's adaptive concurrency limiter (None when that is off)."""
        policy = self.policy
        if not policy.adaptive_concurrency:
            return None
        limiter = self._limiters.get(service_name)
        if limiter is None:
            limit = VegasLimit(
                initial=policy.initial_concurrency,
                min_limit=policy.min_concurrency,
                max_limit=policy.max_concurrency,
            )
            limiter = self._limiters[service_name] = ConcurrencyLimiter(
                limit,
                queue_size=policy.queue_size,
                queue_timeout=policy.queue_timeout,
                clock=self._clock,
            )
        return limiter

    def breaker(self, service_name: str) -> CircuitBreaker | None:
        """The subgraph's circuit breaker (None when breakers are off)."""
        breaker = self._breakers.get(service_name)
        if breaker is None:
            breaker = self._new_breaker(spread=2 if self.policy.per_operation else 1)
            if breaker is None:
                return None
            self._breakers[service_name] = breaker
        return breaker

    def operation_breaker(self, service_name: str, op: Hashable) -> CircuitBreaker | None:
        """The breaker of one operation on the subgraph (None when those are off)."""
        if not self.policy.per_operation:
            return None
        key = (service_name, op)
        breaker = self._operation_breakers.get(key)
        if breaker is not None:
            self._operation_breakers.move_to_end(key)
            return breaker
        breaker = self._new_breaker(spread=1)
        if breaker is None:
            return None
        self._operation_breakers[key] = breaker
        if len(self._operation_breakers) > MAX_OPERATION_BREAKERS:
            self._operation_breakers.popitem(last=False)
        return breaker

    def _new_breaker(self, *, spread: int) -> CircuitBreaker | None:
        policy = self.policy
        if policy.failure_threshold is None:
            return None
        return CircuitBreaker(
            failure_threshold=policy.failure_threshold,
            failure_rate=policy.failure_rate,
            window=policy.window,
            reset_timeout=policy.reset_timeout,
            half_open_calls=policy.half_open_calls,
            spread=spread,
            clock=self._clock,
        )

    def budget(self, service_name: str) -> RetryBudget:
        """The subgraph's retry budget."""
        budget = self._budgets.get(service_name)
        if budget is None:
            budget = self._budgets[service_name] = RetryBudget(
                ratio=self.policy.retry_ratio, reserve=self.policy.retry_reserve
            )
        return budget

    def breaker_states(self, subgraphs: list[str]) -> dict[str, str]:
        """Each named subgraph's breaker state (none when breakers are off), for on-call."""
        states: dict[str, str] = {}
        for name in subgraphs:
            breaker = self.breaker(name)
            if breaker is not None:
                states[name] = breaker.state
        return states


class ResilientFetcher:
    """The resilience stage: each fetch goes through its subgraph's breaker, a query is retried
    (within the budget) after a failure another attempt may not repeat, and identical queries
    in flight at once (same subgraph, body and headers) share one fetch. `inner` makes each
    attempt; the subgraph's timeout (`timeout`, or its entry in `timeouts`) bounds the whole
    fetch, retries included."""

    def __init__(
        self,
        inner: Fetcher,
        guards: SubgraphGuards,
        *,
        timeout: float = 10.0,
        timeouts: Mapping[str, float] | None = None,
    ) -> None:
        if timeout <= 0 or any(value <= 0 for value in (timeouts or {}).values()):
            raise ValueError("timeout must be positive")
        self.inner = inner
        self.guards = guards
        self._timeout = timeout
        self._timeouts = dict(timeouts or {})

    def timeout_for(self, service_name: str) -> float:
        """Seconds a whole fetch to this subgraph may take, retries included."""
        return self._timeouts.get(service_name, self._timeout)

    def breaker(self, service_name: str) -> CircuitBreaker | None:
        """The subgraph's circuit breaker (None when breakers are off)."""
        return self.guards.breaker(service_name)

    @property
    def shared_fetches(self) -> int:
        """Fetches answered by sharing an identical one already in flight."""
        return self.guards.inflight.shared

    async def fetch(self, request: SubgraphRequest) -> dict[str, Any]:
        """The subgraph's answer, through its breaker, retries and in-flight sharing."""
        if not request.idempotent:
            return await self._guarded(request)
        return await self._shared(request)

    async def _shared(self, request: SubgraphRequest) -> dict[str, Any]:
        """A query's answer, shared with identical ones in flight at the same time."""
        if not self.guards.policy.dedupe:
            return await self._guarded(request)
        # The forwarded headers are part of the key: two members' identical queries differ.
        key = (
            request.service_name,
            orjson.dumps(request.body),
            tuple(sorted(request.headers.items())),
        )
        response, shared = await self.guards.inflight.run(key, lambda: self._guarded(request))
        # Callers merge into (and so mutate) what they get: each sharer gets its own copy.
        return copy_json(response) if shared else response

    async def _guarded(self, request: SubgraphRequest) -> dict[str, Any]:
        """One fetch through the breakers, retried (queries only) within budget and deadline."""
        service_name = request.service_name
        # The operation is the text the fetch sends: the same client operation always plans
        # the same text, and another operation's text differs.
        op = request.body.get("query")
        breakers = self._admit(service_name, op if isinstance(op, str) else None)
        try:
            response = await self._attempts(request)
        except SubgraphFetchError as error:
            for breaker in breakers:
                if error.code == "OVERLOADED":
                    breaker.release()  # shed before reaching the subgraph: no verdict on it
                else:
                    breaker.record_failure(op)
            raise
        except BaseException:
            # Cancelled (the client went away): no verdict on the subgraph, but a half-open
            # trial slot must not stay taken.
            for breaker in breakers:
                breaker.release()
            raise
        for breaker in breakers:
            breaker.record_success(op)
        return response

    def _admit(self, service_name: str, op: str | None) -> list[CircuitBreaker]:
        """The breakers that let this fetch through; raises CIRCUIT_OPEN if one does not."""
        admitted: list[CircuitBreaker] = []
        candidates = [
            (self.guards.breaker(service_name), "calls to it"),
            (
                self.guards.operation_breaker(service_name, op) if op is not None else None,
                "this operation's calls to it",
            ),
        ]
        for breaker, what in candidates:
            if breaker is None:
                continue
            if not breaker.allow():
                for taken in admitted:
                    taken.release()
                raise SubgraphFetchError(
                    service_name,
                    "CIRCUIT_OPEN",
                    f'Subgraph "{service_name}" is failing; {what} are suspended for '
                    f"{breaker.retry_after():.1f}s.",
                )
            admitted.append(breaker)
        return admitted

    async def _attempts(self, request: SubgraphRequest) -> dict[str, Any]:
        """The first attempt and the retries the policy and the budget allow, within the
        subgraph's timeout."""
        service_name = request.service_name
        policy = self.guards.policy
        budget = self.guards.budget(service_name)
        budget.deposit()
        timeout = self.timeout_for(service_name)
        limiter = self.guards.limiter(service_name)
        deadline = asyncio.get_running_loop().time() + timeout
        try:
            async with asyncio.timeout_at(deadline):
                attempt = 0
                while True:
                    try:
                        return await self._attempt(request, limiter, deadline)
                    except SubgraphFetchError as error:
                        if not (
                            request.idempotent
                            and error.retryable
                            and attempt < policy.max_retries
                            and budget.withdraw()
                        ):
                            raise
                    # Jittered, so that retries from many requests do not arrive in lockstep.
                    delay = policy.retry_backoff * 2**attempt
                    await asyncio.sleep(delay * (0.5 + random.random()))
                    attempt += 1
        except TimeoutError as exc:
            raise SubgraphFetchError(
                service_name,
                "SUBGRAPH_TIMEOUT",
                f'Subgraph "{service_name}" did not answer within {timeout:g}s.',
            ) from exc

    async def _attempt(
        self, request: SubgraphRequest, limiter: ConcurrencyLimiter | None, deadline: float
    ) -> dict[str, Any]:
        """One attempt, in a slot of the subgraph's concurrency limit (or shed: OVERLOADED)."""
        if limiter is None:
            return await self.inner.fetch(request)
        service_name = request.service_name
        op = request.body.get("query")
        try:
            left = deadline - asyncio.get_running_loop().time()
            async with limiter.slot(op if isinstance(op, str) else None, wait=left) as slot:
                try:
                    return await self.inner.fetch(request)
                except SubgraphFetchError as error:
                    # A timeout or an "overloaded" status is the load signal; a refused
                    # connection or a bad answer came back at once and says nothing.
                    slot.outcome = "dropped" if _is_drop(error) else "ignore"
                    raise
                except asyncio.CancelledError:
                    if asyncio.get_running_loop().time() >= deadline:
                        slot.outcome = "dropped"  # the subgraph's deadline, not the client
                    raise
        except Overloaded as exc:
            raise SubgraphFetchError(
                service_name,
                "OVERLOADED",
                f'Subgraph "{service_name}" has {limiter.inflight} fetches in flight (its '
                f"limit) and {limiter.queued} waiting; this one was shed.",
            ) from exc


def _is_drop(error: SubgraphFetchError) -> bool:
    return error.code == "SUBGRAPH_TIMEOUT" or (
        error.code == "SUBGRAPH_HTTP_ERROR" and error.retryable
    )
