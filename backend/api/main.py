"""The FastAPI application: REST API under /api, OpenAPI at /docs."""

from __future__ import annotations

import logging

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError

from backend.api.middleware import BodySizeLimitMiddleware, SecurityHeadersMiddleware
from backend.api.routes import (
    artifacts,
    datasets,
    evaluations,
    imports,
    jobs,
    labels,
    metrics,
    models,
    runs,
    sweeps,
    system,
)
from backend.auth import require_token
from backend.config import Settings, get_settings

log = logging.getLogger("flowlens.api")

# multipart framing around an upload of max_upload_bytes (boundaries, form fields)
UPLOAD_SLACK_BYTES = 1024 * 1024


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="FlowLens API",
        description="Jobs, models, datasets, spectra and evaluations of the FlowLens dashboard.",
        version="0.1.0",
    )
    app.state.settings = settings
    guard = [Depends(require_token)]
    routers = (
        system.router,
        jobs.router,
        models.router,
        datasets.router,
        runs.router,
        imports.router,  # before evaluations: /evaluations/import is not an evaluation id
        evaluations.router,
        labels.router,
        sweeps.router,
        metrics.router,
        artifacts.router,
    )
    for router in routers:
        app.include_router(router, prefix="/api", dependencies=guard)

    # added last = outermost: security headers wrap CORS, which wraps the size guard
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
    app.add_middleware(SecurityHeadersMiddleware)

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
        # e.g. an id beyond the database's integer range in a path, query or body
        log.info("value out of range on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            status_code=422,
            content={
                "detail": "a value is out of range for the database (ids and integers "
                "must fit in 32 bits)"
            },
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(status_code=500, content={"detail": "internal error (see server log)"})

    return app
