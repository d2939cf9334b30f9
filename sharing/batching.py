"""Group commit for one kind of small write: items queue up while a batch commits, and
the next batch applies all of them in one transaction (one commit, one fsync).

Each caller is answered only after the transaction holding its item has committed, so
durability is that of a transaction per item; ``apply`` decides each item's outcome in
arrival order, so limits (a share's ``max_uses``) stay exact.  Nothing is kept between
batches: on PostgreSQL each process batches its own requests and the row locks taken by
``apply`` order them against every other process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from vault import Database

I = TypeVar("I")  # noqa: E741 — the usual name for an item type
R = TypeVar("R")


class WriteBatcher(Generic[I, R]):
    """Batches items for ``apply(session, items) -> outcomes`` (one per item, in order;
    an outcome that is an exception is raised to that item's caller alone, and writes
    nothing of that item: ``apply`` decides before it writes).  If ``apply`` itself
    raises, the whole batch is undone and every caller of it gets the error.

    On SQLite two batches may be in flight: the next one waits in the database's own
    commit queue (in order, behind the one committing) instead of being handed over only
    once the event loop has answered the previous batch, which left the single writer
    idle between commits.  On PostgreSQL batches run one at a time, so they reach the
    row locks in arrival order."""

    def __init__(
        self,
        db: Database,
        apply: Callable[[Session, Sequence[I]], list[R | Exception]],
        *,
        max_batch: int = 256,
    ) -> None:
        self._db = db
        self._apply = apply
        self._max = max_batch
        self._depth = 2 if db.is_sqlite else 1
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[tuple[I, asyncio.Future[R]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: I) -> R:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests): start afresh
            self._loop, self._pending, self._tasks = loop, [], set()
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, future))
        if len(self._tasks) < self._depth:
            task = loop.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        # Note: shielded, so a cancelled request still learns nothing half-done: its item
        # is committed or not with its batch, like any transaction.
        return await asyncio.shield(future)

    def _unit(self, items: Sequence[I]) -> Callable[[Session], list[R | Exception]]:
        return lambda session: self._apply(session, items)

    async def _drain(self) -> None:
        while self._pending:
            batch = self._pending[: self._max]
            del self._pending[: len(batch)]
            items = [item for item, _ in batch]
            try:
                outcomes = await self._db.run_write(self._unit(items))
            except BaseException as exc:
                for _, future in batch:
                    if future.done():
                        continue
                    if isinstance(exc, asyncio.CancelledError):
                        future.cancel()
                    else:
                        future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, Exception):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
