"""Dependencies as types (``SessionDep``, ``SettingsDep``) and the routes' shared reads: one row
or 404, a query filtered on the given values, one page of it (streamed); and JSON answers with a
strong ETag (304 on If-None-Match) and an in-process cache of results, keyed by the row they are
about, from which a write session's deletions are evicted once it commits."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Collection, Hashable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, NamedTuple, TypeVar

import anyio
from fastapi import Depends, HTTPException, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.db import new_session


async def get_settings(request: Request) -> Settings:
    """Async: a plain function dependency would take a worker thread per request."""
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


# Requests holding a database session at once. A request holds its pooled connection from its
# first query until its response is sent, and needs worker threads (40) for its route and its
# serialisation: with fewer sessions than threads and than pooled connections (60, backend/db.py),
# a burst of readers waits here, on the event loop and holding nothing, instead of exhausting the
# pool (docs/benchmarks.md).
MAX_SESSIONS = 32
_session_slots = anyio.Semaphore(MAX_SESSIONS)


@asynccontextmanager
async def _request_session(url: str, write: bool) -> AsyncIterator[Session]:
    """A session per request that connects at its first query, in the route's worker thread.
    Async on purpose: waiting for a slot and the cleanup (commit, returning the connection) run
    on the event loop and never queue for a thread."""
    async with _session_slots:
        session = new_session(url, write=write)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


async def get_db(settings: SettingsDep) -> AsyncIterator[Session]:
    async with _request_session(settings.database_url, write=False) as session:
        yield session


DELETED = "deleted"  # session.info key: table -> ids deleted by the session's transaction


async def get_write_db(request: Request) -> AsyncIterator[Session]:
    """A write session, committed before the response is sent (the dependency's function
    scope), then the cached answers about the rows it deleted are evicted
    (``session.info[DELETED]``): a read after the response never gets a deleted row's answer."""
    url = request.app.state.settings.database_url
    async with _request_session(url, write=True) as session:
        yield session
    request.app.state.results.evict(session.info.get(DELETED, {}))


SessionDep = Annotated[Session, Depends(get_db)]
WriteSessionDep = Annotated[Session, Depends(get_write_db, scope="function")]


Row = TypeVar("Row")


def not_found(what: str, ident: object) -> HTTPException:
    return HTTPException(status_code=404, detail=f"{what} {ident} not found")


def get_or_404(session: Session, table: type[Row], ident: int, what: str) -> Row:
    """The row of ``table`` with primary key ``ident``, or 404 "<what> <ident> not found"."""
    row = session.get(table, ident)
    if row is None:
        raise not_found(what, ident)
    return row


def comma_list(text: str | None, field: str, known: Collection[str] | None = None) -> list[str]:
    """The comma-separated values of a query parameter; 422 naming ``field`` for one not in
    ``known``."""
    values = [v.strip() for v in (text or "").split(",") if v.strip()]
    unknown = [v for v in values if known is not None and v not in known]
    if unknown:
        raise HTTPException(422, f"{field}: {unknown[0]!r} is not one of {', '.join(known)}")
    return values


def where_given(query: Select, *conditions: tuple[Any, Any]) -> Select:
    """``query`` filtered on ``column == value`` for each (column, value) whose value was given
    (neither None nor "")."""
    for column, value in conditions:
        if value is not None and value != "":
            query = query.where(column == value)
    return query


@dataclass
class Paging:
    """The ``limit`` and ``offset`` query parameters of a list (100 rows a page, 1000 at most)."""

    limit: int = Query(100, ge=1, le=1000)
    offset: int = Query(0, ge=0)


PagingDep = Annotated[Paging, Depends()]


STREAM_ROWS = 200  # rows read from the database and serialised per streamed chunk


def count_of(session: Session, query: Select) -> int:
    """How many rows ``query`` gives."""
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def paginate(
    session: Session,
    query: Select,
    schema: type[BaseModel],
    order_by,
    limit: int | None = None,
    offset: int = 0,
) -> StreamingResponse:
    """One page of ``query`` in ``order_by`` order as ``schema`` items, with the count of all:
    the JSON of ``Page(data, count)``, streamed. The count is taken here; the rows are read
    ``STREAM_ROWS`` at a time and serialised in worker threads while the body is sent, so a large
    page is never whole in memory and never serialised on the event loop. The request's session
    (``SessionDep``) stays open until the last chunk is sent."""
    count = count_of(session, query)
    page = query.order_by(order_by).limit(limit).offset(offset)
    rows = session.scalars(page.execution_options(yield_per=STREAM_ROWS))

    def chunks() -> Iterator[bytes]:
        yield b'{"data":['
        comma = b""
        for batch in rows.partitions():
            items = (schema.model_validate(r).model_dump_json().encode() for r in batch)
            yield comma + b",".join(items)
            comma = b","
        yield b'],"count":%d}' % count

    return StreamingResponse(chunks(), media_type="application/json")


# --- cached JSON answers ----------------------------------------------------------------------

IMMUTABLE = "max-age=60, immutable"  # short: a deleted result's id may be reused
REVALIDATE = "no-cache"  # may be stored, but asked again (304 when unchanged)


class Answer(NamedTuple):
    """A serialised JSON body and its strong ETag (the body's hash), computed once."""

    body: bytes
    etag: str


def answer_of(body: bytes) -> Answer:
    return Answer(body, f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"')


class JsonCache:
    """A bounded LRU of serialised JSON answers (at most ``max_bytes`` of bodies in all),
    thread-safe. A key starts with the table and id of the row the answer is about
    (``("runs", 5, "layers")``): :meth:`evict` drops every answer about deleted rows. Entries
    older than ``ttl`` seconds are dropped on read: a result deleted through another process
    (another API worker, a job) is answered from the database at most ``ttl`` seconds later (the
    HTTP max-age). ``loading`` holds the loads in progress (event loop only), one per key."""

    def __init__(self, max_bytes: int, ttl: float = 60.0) -> None:
        self.max_bytes = max_bytes
        self.ttl = ttl
        self.loading: dict[Hashable, _Load] = {}
        self.evictions = 0  # loads begun before an eviction are not stored
        self._items: OrderedDict[Hashable, tuple[float, Answer]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Answer | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if time.monotonic() - item[0] >= self.ttl:
                self._drop(key)
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: Hashable, body: bytes, evictions: int | None = None) -> Answer:
        """Keep ``body`` under ``key`` unless it is too large or something was evicted since
        ``evictions`` (then it may be about a row deleted meanwhile)."""
        answer = answer_of(body)
        if len(body) > self.max_bytes:
            return answer
        with self._lock:
            if evictions is not None and evictions != self.evictions:
                return answer
            if key in self._items:
                self._drop(key)
            self._items[key] = (time.monotonic(), answer)
            self._bytes += len(body)
            while self._bytes > self.max_bytes:
                self._drop(next(iter(self._items)))
        return answer

    def evict(self, deleted: dict[str, list[int]]) -> None:
        """Drop the answers about the rows ``deleted`` (table -> ids) and forget their loads in
        progress, so the next request reads the database (event loop only)."""
        rows = {(table, ident) for table, ids in deleted.items() for ident in ids}
        if not rows:
            return
        with self._lock:
            self.evictions += 1
            for key in [k for k in self._items if k[:2] in rows]:
                self._drop(key)
        for key in [k for k in self.loading if k[:2] in rows]:
            del self.loading[key]

    def _drop(self, key: Hashable) -> None:
        self._bytes -= len(self._items.pop(key)[1].body)


class _Load:
    """One load of a result from the database, awaited by every request that missed it."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.answer: Answer | None = None
        self.failed = False


RESULTS_CACHE_BYTES = 64 * 1024 * 1024


async def read_in_thread(request: Request, read: Callable[[Session], Row]) -> Row:
    """``read(session)`` in a worker thread, with a read session of its own."""
    url = request.app.state.settings.database_url
    async with _request_session(url, write=False) as session:
        return await anyio.to_thread.run_sync(read, session)


async def cached_result(
    request: Request, key: Hashable, load: Callable[[Session], bytes | None]
) -> Answer | None:
    """The JSON of a result from the application's cache, or ``load``-ed from the database in a
    worker thread and kept (None: no such result); ``key`` starts with the table and id of the
    row it is about (:class:`JsonCache`). A hit needs neither a thread nor a database
    connection: it is answered on the event loop. Requests that miss the same key while it loads
    wait for that one load (a burst of readers of a result not yet cached makes one query, not
    one each)."""
    cache: JsonCache = request.app.state.results
    answer = cache.get(key)
    if answer is not None:
        return answer
    pending = cache.loading.get(key)
    if pending is not None:
        await pending.done.wait()
        if not pending.failed:
            return pending.answer
    current = cache.loading[key] = _Load()
    evictions = cache.evictions
    try:
        body = await read_in_thread(request, load)
        current.answer = None if body is None else cache.put(key, body, evictions)
        return current.answer
    except BaseException:
        current.failed = True
        raise
    finally:
        if cache.loading.get(key) is current:
            del cache.loading[key]
        current.done.set()


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


def json_answer(request: Request, answer: Answer | bytes, cache_control: str) -> Response:
    """A JSON body with its strong ETag and ``cache_control``; 304 without a body when the
    request's If-None-Match holds that ETag."""
    body, etag = answer if isinstance(answer, Answer) else answer_of(answer)
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
