"""The ``flowlens`` console script: up, api, ui, worker, migrate, submit, jobs, token, gc.

Commands that talk to a running server (submit, jobs) go through the REST API, like the UI.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from backend.config import Settings, get_settings
from backend.errors import format_api_errors
from backend.job_text import event_line, job_text, params_help
from backend.jobs.kinds import KINDS

KEEP_ALIVE_SECONDS = 75


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from backend import migrate

    migrate.upgrade(settings.database_url)
    print(f"database at head: {settings.database_url}")
    return 0


def cmd_token(settings: Settings, args: argparse.Namespace) -> int:
    """Create, list or revoke API tokens directly in the database (like ``migrate``)."""
    from backend import auth
    from backend.db import session_scope, write_session

    if args.action in ("create", "revoke") and not args.name:
        print(f"error: token {args.action} needs a name (--name NAME)", file=sys.stderr)
        return 2
    try:
        if args.action == "create":
            with write_session(settings.database_url) as session:
                token = auth.create_token(session, args.name)
            print(token)
            print(
                f"token {args.name!r} created; it is shown only this once. Send it as "
                "'Authorization: Bearer <token>' (FLOWLENS_API_TOKEN for the CLI and UI).",
                file=sys.stderr,
            )
            return 0
        if args.action == "revoke":
            with write_session(settings.database_url) as session:
                auth.revoke_token(session, args.name)
            print(f"token {args.name!r} revoked")
            return 0
        with session_scope(settings.database_url) as session:
            rows = auth.list_tokens(session)
            print(f"{'name':<24} {'status':<8} {'created':<20} {'last used':<20}")
            for row in rows:
                print(
                    f"{row.name:<24} {'revoked' if row.revoked_at else 'active':<8} "
                    f"{_when(row.created_at):<20} {_when(row.last_used_at):<20}"
                )
            print(f"({len(rows)} tokens)")
        return 0
    except auth.TokenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def cmd_gc(settings: Settings, args: argparse.Namespace) -> int:
    """List (dry run) or, with --delete, remove artifacts no row points to and stale
    temporaries (backend/gc.py)."""
    from backend.artifacts import ArtifactStore
    from backend.db import session_scope
    from backend.gc import find_garbage, remove_garbage

    store = ArtifactStore(settings.artifact_root)
    with session_scope(settings.database_url) as session:
        garbage = find_garbage(session, store)
    for item in garbage:
        print(f"{item.size / 2**20:>10.1f} MiB  {item.key}  ({item.why})")
    total = sum(item.size for item in garbage) / 2**20
    if args.delete:
        remove_garbage(store, garbage)
        print(f"removed {len(garbage)} entries, {total:.1f} MiB")
    else:
        print(f"{len(garbage)} entries, {total:.1f} MiB (dry run: --delete removes them)")
    return 0


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def cmd_api(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from backend.api.main import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info" if settings.access_log else "warning",
        access_log=settings.access_log,
        # idle keep-alive connections outlive common proxy idle timeouts (60 s) and busy
        # clients, which then never send a request on a connection the API is just closing
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    return 0


def cmd_ui(settings: Settings, args: argparse.Namespace) -> int:
    """Serve the dashboard with gunicorn (threads; ``--dev``: Flask's development server)."""
    from frontend.app import create_app

    app = create_app(
        settings.api_url, api_token=settings.api_token or None, public_url=settings.public_url
    )
    if args.dev:
        if not settings.access_log:
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
        app.run(host=settings.ui_host, port=settings.ui_port, debug=False, threaded=True)
        return 0
    from backend.wsgi_server import serve

    serve(app.server, settings)
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from worker.runner import WorkerLoop, WorkerOptions

    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()] if args.kinds else None
    try:
        loop = WorkerLoop(settings, WorkerOptions(concurrency=args.concurrency, kinds=kinds))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    loop.run()
    return 0


def cmd_up(settings: Settings, args: argparse.Namespace) -> int:
    """Migrate, then run API, one worker and UI as child processes until Ctrl-C.

    The children run in their own sessions so that Ctrl-C reaches only ``up``, which then
    stops them in order (the worker gives its running job back to the queue). The terminal gets
    one line per job event (``JobWatcher``); the worker's own output (its lines, its jobs'
    warnings and tracebacks) goes to ``worker.log`` beside the artifact folder."""
    from sqlalchemy.exc import SQLAlchemyError

    from backend import migrate
    from backend.db import session_scope, write_session
    from backend.demo import seed_demo
    from backend.job_text import JobWatcher

    migrate.upgrade(settings.database_url)
    if args.demo:
        with write_session(settings.database_url) as session:
            queued = seed_demo(session)
        if queued:
            print(f"empty database: queued the demo study (jobs {queued})", flush=True)
    env = {**os.environ, **_env_of(settings)}
    me = [sys.executable, "-m", "backend.cli"]
    worker_log = Path(settings.artifact_root).parent / "worker.log"
    worker_log.parent.mkdir(parents=True, exist_ok=True)
    with worker_log.open("ab") as log:
        worker = subprocess.Popen(
            [*me, "worker", "--concurrency", str(args.concurrency)],
            env=env,
            start_new_session=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    children = {
        "api": subprocess.Popen([*me, "api"], env=env, start_new_session=True),
        "worker": worker,
        "ui": subprocess.Popen([*me, "ui"], env=env, start_new_session=True),
    }
    _wait_for(f"{settings.api_url}/api/health", children["api"])
    print(
        f"\nFlowLens is up.\n  dashboard: http://{settings.ui_host}:{settings.ui_port}/\n"
        f"  API:       {settings.api_url}/api  (OpenAPI: {settings.api_url}/docs)\n"
        f"  database:  {settings.database_url}\n"
        f"  worker:    its log in {worker_log}\n"
        "One line per job event follows. Press Ctrl-C to stop.\n",
        flush=True,
    )
    stopping = False

    def _stop(*_a) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    watcher = JobWatcher()
    with session_scope(settings.database_url) as session:
        watcher.prime(session)
    while not stopping and all(p.poll() is None for p in children.values()):
        time.sleep(1.0)
        try:
            with session_scope(settings.database_url) as session:
                lines = watcher.poll(session)
        except SQLAlchemyError:  # the database is busy or restarting: tell it next time
            lines = []
        for line in lines:
            print(line, flush=True)
    for name, proc in children.items():
        if proc.poll() is not None and not stopping:
            said = f" (its log: {worker_log})" if name == "worker" else ""
            print(
                f"{name} exited with code {proc.returncode}{said}; stopping the others", flush=True
            )
    for proc in children.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in children.values():
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    print("FlowLens stopped.", flush=True)
    return 0


def _env_of(settings: Settings) -> dict[str, str]:
    return {f"FLOWLENS_{k.upper()}": str(v) for k, v in settings.model_dump().items()}


def _wait_for(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the API did not start ({url})")


def _api(settings: Settings, method: str, path: str, **kwargs) -> dict | list:
    try:
        headers = {"Authorization": f"Bearer {settings.api_token}"} if settings.api_token else {}
        response = httpx.request(
            method, f"{settings.api_url}/api{path}", timeout=30, headers=headers, **kwargs
        )
    except httpx.HTTPError as exc:
        raise SystemExit(f"error: cannot reach the API at {settings.api_url}: {exc}") from None
    if response.status_code >= 400:
        raise SystemExit(f"error {response.status_code}: {_error_text(response)}")
    return response.json()


def _error_text(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        return response.text
    return format_api_errors(detail)


def _parse_params(pairs: list[str], raw: str | None) -> dict:
    params = json.loads(raw) if raw else {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"error: --param {pair!r} is not key=value")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


def cmd_submit(settings: Settings, args: argparse.Namespace) -> int:
    body = {
        "kind": args.kind,
        "params": _parse_params(args.param, args.params),
        "priority": args.priority,
        "depends_on": args.depends_on,
    }
    job = _api(settings, "POST", "/jobs", json=body)
    print(f"job {job['id']} queued ({job['kind']})")
    return _follow(settings, job["id"]) if args.wait else 0


def _follow(settings: Settings, job_id: int) -> int:
    from tqdm import tqdm

    with tqdm(total=1000, desc=f"job {job_id}", unit="‰") as bar:
        while True:
            job = _api(settings, "GET", f"/jobs/{job_id}")
            bar.n = round(job["progress"] * 1000)
            bar.set_postfix_str(f"{job['status']} {job['message'][-40:]}")
            if job["status"] in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.5)
    print(event_line(job))
    return 0 if job["status"] == "succeeded" else 1


def cmd_jobs(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "list":
        params = {k: v for k, v in (("status", args.status), ("kind", args.kind)) if v}
        page = _api(settings, "GET", "/jobs", params={**params, "limit": args.limit})
        print(f"{'id':>6}  {'kind':<18} {'status':<10} {'progress':>8}  message")
        for job in page["data"]:
            print(
                f"{job['id']:>6}  {job['kind']:<18} {job['status']:<10} "
                f"{job['progress']:>8.0%}  {(job['error'] or job['message'])[:60]}"
            )
        print(f"({len(page['data'])} of {page['count']})")
        return 0
    if args.id is None:
        raise SystemExit(f"error: jobs {args.action} needs a job id")
    if args.action == "show":
        job = _api(settings, "GET", f"/jobs/{args.id}")
        print(json.dumps(job, indent=2) if args.json else job_text(job))
        return 0
    job = _api(settings, "POST", f"/jobs/{args.id}/{args.action}")
    print(f"job {job['id']} {job['status']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowlens", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply the Alembic migrations").set_defaults(fn=cmd_migrate)
    p = sub.add_parser("up", help="embedded default: migrate, API + one worker + UI")
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument(
        "--no-demo", dest="demo", action="store_false", help="do not queue the demo study"
    )
    p.set_defaults(fn=cmd_up)
    p = sub.add_parser("api", help="serve the REST API")
    p.add_argument("--host", help="bind address (FLOWLENS_HOST)")
    p.add_argument("--port", type=int, help="port (FLOWLENS_PORT)")
    p.set_defaults(fn=cmd_api)
    p = sub.add_parser("ui", help="serve the Dash dashboard")
    p.add_argument("--host", dest="ui_host", help="bind address (FLOWLENS_UI_HOST)")
    p.add_argument("--port", dest="ui_port", type=int, help="port (FLOWLENS_UI_PORT)")
    p.add_argument("--dev", action="store_true", help="Flask's development server, not gunicorn")
    p.set_defaults(fn=cmd_ui)
    p = sub.add_parser("worker", help="claim and run jobs")
    p.add_argument("--concurrency", type=int, default=1, help="jobs run at once")
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (FLOWLENS_DEVICE)")
    p.add_argument(
        "--devices",
        help="several devices for one job, e.g. cuda:0,cuda:1 (cpu,cpu: gloo, for tests); "
        "fine-tunes run one torchrun rank on each, other jobs use the first",
    )
    p.add_argument("--kinds", help="comma-separated job kinds to take (default: all)")
    p.set_defaults(fn=cmd_worker)
    p = sub.add_parser(
        "submit",
        help="submit a job through the API",
        description="Submit a job: flowlens submit KIND -p key=value ... "
        "('flowlens submit KIND --help' lists its parameters).",
    )
    kinds = p.add_subparsers(dest="kind", required=True, metavar="KIND")
    for kind in KINDS.values():
        k = kinds.add_parser(
            kind.name,
            help=kind.description + (" (internal)" if kind.internal else ""),
            description=kind.description,
            epilog=params_help(kind.params),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        k.add_argument("-p", "--param", action="append", default=[], help="key=value (JSON value)")
        k.add_argument("--params", help="all parameters as a JSON object")
        k.add_argument("--priority", type=int, default=0)
        k.add_argument("--depends-on", type=int, nargs="*", default=[])
        k.add_argument(
            "--wait", action="store_true", help="follow the job; print its result's ids at the end"
        )
        k.add_argument("--api-url", help="API base URL (FLOWLENS_API_URL)")
        k.set_defaults(fn=cmd_submit)
    p = sub.add_parser("jobs", help="list, show, cancel or retry jobs")
    p.add_argument("action", nargs="?", default="list", choices=["list", "show", "cancel", "retry"])
    p.add_argument("id", nargs="?", type=int)
    p.add_argument("--status")
    p.add_argument("--kind")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true", help="show: the API's JSON")
    p.set_defaults(fn=cmd_jobs)
    p = sub.add_parser("token", help="create, list or revoke API tokens (in the database)")
    p.add_argument("action", choices=["create", "list", "revoke"])
    p.add_argument("pos_name", nargs="?", metavar="NAME", help="the token's name")
    p.add_argument("--name", dest="opt_name", help="the token's name")
    p.set_defaults(fn=cmd_token)
    p = sub.add_parser("gc", help="list or remove artifacts no database row points to")
    p.add_argument("--delete", action="store_true", help="remove them (default: list only)")
    p.set_defaults(fn=cmd_gc)
    for name in ("jobs", "ui"):
        sub.choices[name].add_argument("--api-url", help="API base URL (FLOWLENS_API_URL)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "token":
        args.name = args.opt_name or args.pos_name
    fields = ("host", "port", "ui_host", "ui_port", "api_url", "device")
    overrides = {key: getattr(args, key) for key in fields if getattr(args, key, None)}
    if getattr(args, "devices", None):
        if args.device:
            print("error: give --device or --devices, not both", file=sys.stderr)
            return 2
        overrides["device"] = args.devices
    settings = get_settings().model_copy(update=overrides)
    return args.fn(settings, args)


if __name__ == "__main__":
    sys.exit(main())
