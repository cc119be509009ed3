"""The FastAPI application: REST API under /api, OpenAPI at /docs."""

from __future__ import annotations

import logging
import math

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from sqlalchemy.orm.exc import StaleDataError
from starlette.concurrency import run_in_threadpool

from backend.api.deps import RESULTS_CACHE_BYTES, JsonCache
from backend.api.middleware import (
    BodySizeLimitMiddleware,
    SameOriginMiddleware,
    SecurityHeadersMiddleware,
    TrustedHostMiddleware,
)
from backend.api.routes import (
    artifacts,
    datasets,
    evaluations,
    frontier,
    imports,
    jobs,
    labels,
    metrics,
    models,
    probes,
    projections,
    relation,
    run_names,
    runs,
    similarity,
    snapshots,
    sweeps,
    system,
    train_geometry,
)
from backend.auth import needs_token, require_token
from backend.config import Settings, get_settings
from backend.errors import FieldError

log = logging.getLogger("flowlens.api")

# multipart framing around an upload of max_upload_bytes (boundaries, form fields)
UPLOAD_SLACK_BYTES = 1024 * 1024
OUT_OF_RANGE = "a value is out of range for the database (ids and integers must fit in 32 bits)"


def data_error_detail(exc: DataError) -> str:
    """What the database refused, by its cause: PostgreSQL's SQLSTATE, or psycopg's own check."""
    code = getattr(exc.orig, "sqlstate", None)
    if code == "22003":  # numeric_value_out_of_range
        return OUT_OF_RANGE
    if "NUL" in str(exc.orig):
        return "text may not contain NUL characters"
    if code == "22001":  # string_data_right_truncation
        return "a text value is longer than the database column allows"
    return f"the database refused a value: {str(exc.orig).splitlines()[0]}"


def located(err: dict) -> dict:
    """A request model's FieldError (``ctx["error"]``) at its field's own ``loc``, with its
    message: ``body.params`` + "params.grad_clip" -> ``body.params.grad_clip``."""
    error = err.get("ctx", {}).get("error")
    if not isinstance(error, FieldError):
        return err
    path = [int(p) if p.isdigit() else p for p in error.field.split(".")]
    loc = list(err["loc"])
    if loc and loc[-1] == path[0]:
        loc.pop()
    return {**err, "loc": (*loc, *path), "msg": error.message, "ctx": {}}


ECHO_CHARS = 200  # of a refused text shown back in a 422
ECHO_ITEMS = 20  # members of a refused list or object shown back


def shown(value, nested: bool = False):
    """A refused input as a 422 shows it: numbers as they are (NaN and infinities by name), text
    cut at ECHO_CHARS, a list or object with its first ECHO_ITEMS members and nested ones by
    their size only. Never walked further: a deep or huge body is not rendered again (it was a
    RecursionError, so a 500, for a body nested 500 deep)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bool | float | None):
        return value
    if isinstance(value, dict | list | tuple):
        if nested:
            return f"({type(value).__name__} of {len(value)})"
        if isinstance(value, dict):
            return {
                str(k)[:ECHO_CHARS]: shown(v, True) for k, v in list(value.items())[:ECHO_ITEMS]
            }
        return [shown(v, True) for v in list(value)[:ECHO_ITEMS]]
    text = value if isinstance(value, str) else str(value) if isinstance(value, int) else None
    if text is None:
        return shown(repr(value), nested)
    if len(text) > ECHO_CHARS:
        return text[:ECHO_CHARS] + "..."
    return value


def rendered(err: dict) -> dict:
    """A validation error ready for JSON: at its field (``located``), its input ``shown``."""
    err = located(err)
    if "input" in err:
        err = {**err, "input": shown(err["input"])}
    return err


async def token_guard(request: Request) -> None:
    """``require_token`` in a worker thread (it may query the database), and only where a token
    is needed: a public read takes no thread for it."""
    if needs_token(request.app.state.settings, request.method):
        await run_in_threadpool(require_token, request)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="FlowLens API",
        description="Jobs, models, datasets, spectra and evaluations of the FlowLens dashboard.",
        version="0.1.0",
    )
    app.state.settings = settings
    app.state.results = JsonCache(RESULTS_CACHE_BYTES)
    guard = [Depends(token_guard)]
    routers = (
        system.router,
        jobs.router,
        train_geometry.router,
        models.router,
        datasets.router,
        similarity.router,
        runs.router,
        projections.router,
        probes.router,
        run_names.router,
        imports.router,  # before evaluations: /evaluations/import is not an evaluation id
        evaluations.router,
        labels.router,
        sweeps.router,
        relation.router,
        frontier.router,
        metrics.router,
        artifacts.router,
        snapshots.router,
    )
    for router in routers:
        app.include_router(router, prefix="/api", dependencies=guard)

    # added last = outermost: security headers wrap the Host check, then the Origin check, CORS
    # and the size guard
    app.add_middleware(
        BodySizeLimitMiddleware, limit=settings.max_upload_bytes + UPLOAD_SLACK_BYTES
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type"],
        allow_credentials=False,
        max_age=600,
    )
    app.add_middleware(SameOriginMiddleware, origins=settings.cors_origins)
    app.add_middleware(TrustedHostMiddleware, hosts=settings.trusted_hosts)
    app.add_middleware(SecurityHeadersMiddleware)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # the refused input may be NaN or infinite (JSON bodies may spell them), deep or huge
        return JSONResponse(
            status_code=422,
            content={"detail": jsonable_encoder([rendered(e) for e in exc.errors()])},
        )

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> JSONResponse:
        # SQLite: an integer beyond 64 bits in a path, query or body
        log.info("value out of range on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(status_code=422, content={"detail": OUT_OF_RANGE})

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        log.info("value refused on %s %s: %s", request.method, request.url.path, exc.orig)
        return JSONResponse(status_code=422, content={"detail": data_error_detail(exc)})

    @app.exception_handler(StaleDataError)
    async def _changed(request: Request, exc: StaleDataError) -> JSONResponse:
        # a row changed (an evaluation reclassified) between this request's read and its write
        log.info("row changed meanwhile on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            status_code=409, content={"detail": "it changed while this request ran: try again"}
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(status_code=500, content={"detail": "internal error (see server log)"})

    return app
