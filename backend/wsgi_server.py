"""The dashboard's production WSGI server: gunicorn, threaded, serving an app built in-process.

``flowlens ui`` (and so ``flowlens up`` and the compose ``ui`` service) serves through it:
``FLOWLENS_UI_WORKERS`` processes of ``FLOWLENS_UI_THREADS`` threads each; access logs only
with ``FLOWLENS_ACCESS_LOG=true``.
"""

from __future__ import annotations

from gunicorn.app.base import BaseApplication

from backend.config import Settings


class _Server(BaseApplication):
    def __init__(self, wsgi_app, options: dict) -> None:
        self.wsgi_app = wsgi_app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.wsgi_app


def options(settings: Settings) -> dict:
    """gunicorn's settings for the dashboard."""
    return {
        "bind": f"{settings.ui_host}:{settings.ui_port}",
        "workers": settings.ui_workers,
        "worker_class": "gthread",
        "threads": settings.ui_threads,
        "timeout": 120,  # a page's callback waits on the API, which may be busy
        "graceful_timeout": 10,
        "accesslog": "-" if settings.access_log else None,
        "errorlog": "-",
        "loglevel": "info" if settings.access_log else "warning",
        "proc_name": "flowlens-ui",
    }


def serve(wsgi_app, settings: Settings) -> None:
    """Serve ``wsgi_app`` until SIGTERM/SIGINT."""
    _Server(wsgi_app, options(settings)).run()
