"""The FastAPI application: REST API under /api, OpenAPI at /docs."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from backend.api.routes import datasets, jobs, models, runs, system
from backend.config import Settings, get_settings

log = logging.getLogger("flowlens.api")


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(
        title="FlowLens API",
        description="Jobs, models, datasets, spectra and evaluations of the FlowLens dashboard.",
        version="0.1.0",
    )
    app.state.settings = settings or get_settings()
    for router in (system.router, jobs.router, models.router, datasets.router, runs.router):
        app.include_router(router, prefix="/api")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(status_code=500, content={"detail": "internal error (see server log)"})

    return app
