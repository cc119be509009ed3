"""Fuzz every operation of the OpenAPI schema with schemathesis (valid and invalid inputs, with a
token so that writes get through): no request may get a 5xx. Bounded: a few examples per
operation and mode, and a time budget."""

from __future__ import annotations

import json
import time

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from hypothesis.stateful import (  # noqa: E402
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from schemathesis import GenerationMode  # noqa: E402

from backend import auth  # noqa: E402
from backend.api.main import create_app  # noqa: E402
from backend.config import Settings  # noqa: E402
from backend.db import write_session  # noqa: E402

EXAMPLES = 8  # per operation and generation mode
BUDGET_S = 50  # per database


def test_no_5xx_anywhere(database_url, tmp_path):
    settings = Settings(
        database_url=database_url,
        artifact_root=str(tmp_path / "artifacts"),
        auth="on",
        public_read=False,
        max_upload_bytes=200_000,
    )
    (tmp_path / "artifacts" / "runs").mkdir(parents=True)
    (tmp_path / "artifacts" / "runs" / "a.bin").write_bytes(b"\x00" * 100)
    with write_session(database_url) as session:
        token = auth.create_token(session, "fuzz")
    headers = {"Authorization": f"Bearer {token}"}
    app = create_app(settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    calls = 0
    deadline = time.monotonic() + BUDGET_S
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if time.monotonic() > deadline:
                break

            @given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis_settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def fuzz(case) -> None:
                nonlocal calls
                label = f"{case.method} {case.formatted_path} {case.meta.generation.mode.value}"

                if time.monotonic() > deadline:
                    return
                calls += 1
                try:
                    response = case.call(headers=headers)
                except Exception as exc:  # an unhandled server error surfaces here in-process
                    failures.append(f"{label}: {exc!r}")
                    return
                if response.status_code >= 500:
                    failures.append(
                        f"{label}: "
                        f"{response.status_code} {response.text[:200]} "
                        f"(query={case.query!r}, body={str(case.body)[:200]!r})"
                    )

            try:
                fuzz()
            except Unsatisfiable:  # nothing to make invalid (an operation without inputs)
                assert mode is GenerationMode.NEGATIVE, operation.path

    print(f"fuzz: {calls} requests over {len(operations)} operations")
    assert calls >= len(operations), calls
    assert not failures, "\n".join(failures[:20])


NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" + "0" * 400, "1e-400"]
# huge values: nested as deep as Python's json parses (a 500-deep list was a 500 when its 422
# echoed it back), 50k characters of text, a 5k-item list, a NUL
HUGE = ["[" * 900 + "]" * 900, '{"a":' * 900 + "1" + "}" * 900, '"' + "x" * 50_000 + '"']
HUGE += ["[" + "0," * 5_000 + "0]", '"a\\u0000b"']


def _json_values(schema: dict, spec: dict) -> list[str]:
    """Property names of a request body schema (resolving one $ref level)."""
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return list(schema.get("properties", {}))


def test_non_finite_and_huge_numbers_in_every_json_body_are_4xx(database_url, tmp_path):
    """Every JSON field of every POST/PUT body, and every job kind's params, given NaN,
    +-Infinity, 1e400, a 401-digit integer and 1e-400 (json parses all of them) and huge values
    (900 deep, 50k characters, 5k items, NUL): never a 5xx; non-finite numbers are 422 naming
    the field."""
    settings = Settings(
        database_url=database_url, artifact_root=str(tmp_path / "artifacts"), auth="off"
    )
    from fastapi.testclient import TestClient

    from backend.jobs.kinds import KINDS

    failures: list[str] = []
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        spec = client.get("/openapi.json").json()
        targets: list[tuple[str, str, str, list[str]]] = []
        for path, item in spec["paths"].items():
            for method, op in item.items():
                body = op.get("requestBody", {}).get("content", {}).get("application/json")
                if method in ("post", "put", "patch") and body:
                    concrete = path.replace("{", "").replace("}", "")
                    concrete = "/".join(
                        "1" if p.endswith("_id") else p for p in concrete.split("/")
                    )
                    for field in _json_values(body["schema"], spec):
                        targets.append((method, concrete, field, []))
        assert any(t[1] == "/api/jobs" for t in targets), targets
        for kind, job_kind in KINDS.items():
            for field in job_kind.params.model_json_schema().get("properties", {}):
                targets.append(("post", "/api/jobs", "params", [kind, field]))
        calls = 0
        for method, path, field, job in targets:
            for number in NON_FINITE + HUGE:
                if job:
                    raw = f'{{"kind": "{job[0]}", "params": {{"{job[1]}": {number}}}}}'
                else:
                    raw = f'{{"{field}": {number}}}'
                response = client.request(
                    method, path, content=raw, headers={"Content-Type": "application/json"}
                )
                calls += 1
                label = f"{method.upper()} {path} {raw[:80]}"
                if response.status_code >= 500:
                    failures.append(f"{label}: {response.status_code} {response.text[:200]}")
                elif number in ("NaN", "Infinity", "-Infinity", "1e400", "-1e400"):
                    if response.status_code != 422:
                        failures.append(f"{label}: {response.status_code}, not 422")
                    elif job:
                        locs = [e["loc"] for e in response.json()["detail"]]
                        if ["body", "params", job[1]] not in locs:
                            failures.append(f"{label}: no error at params.{job[1]}: {locs}")
    print(f"non-finite fuzz: {calls} requests")
    assert calls > 100
    assert not failures, "\n".join(failures[:20])


# --- stateful: create / read / cancel / retry / delete links, with a worker moving jobs -------

STATEFUL_EXAMPLES = 8  # state machines per database
STATEFUL_STEPS = 40  # rules per machine
FINISHED = ("succeeded", "failed", "cancelled")


def json_values(ids: st.SearchStrategy) -> st.SearchStrategy:
    """JSON values a client may send: ids of things that exist, any size of number, NaN and
    infinities, NUL and odd text, and nested lists and objects of them."""
    leaves = st.one_of(
        ids,
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.sampled_from([0, -1, 2**31, 2**63, 10**400]),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=20),
        st.sampled_from(["", "\x00", "a" * 300, "../../etc/passwd", "rules", "demo"]),
    )
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=6,
    )


def raw_json(value) -> bytes:
    """``value`` as JSON text, NaN and infinities spelled as JavaScript does (json accepts them)."""
    return json.dumps(value, allow_nan=True).encode()


def test_stateful_links_never_5xx(database_url, tmp_path):
    """A hypothesis state machine over the API's links: jobs created (valid echo jobs and
    fuzzed params of every kind, with ids 1-60 where the models, datasets and jobs made so far
    are), read, listed,
    cancelled and retried while a worker claims them and completes, fails, loses (a signal)
    or releases them; datasets uploaded, read, paged and deleted; models registered, read and
    deleted; ids of any size. No request gets a 5xx, and cancel/retry follow the job's status
    as read just before: cancel takes a queued or running job to cancelled (409 once finished),
    retry a failed or cancelled one back to queued (409 otherwise)."""
    from fastapi.testclient import TestClient

    from backend import queue
    from backend.jobs.kinds import KINDS

    settings = Settings(
        database_url=database_url, artifact_root=str(tmp_path / "artifacts"), auth="off"
    )
    model_root = tmp_path / "model"
    model_root.mkdir()
    (model_root / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    (model_root / "tokenizer.json").write_text("{}")
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    (model_root / "model.safetensors").write_bytes(
        len(header).to_bytes(8, "little") + header + b"\0" * 8
    )
    fields = {k: list(v.params.model_json_schema().get("properties", {})) for k, v in KINDS.items()}
    failures: list[str] = []
    counts = {"requests": 0, "cancelled": 0, "retried": 0, "claimed": 0}

    with TestClient(create_app(settings), raise_server_exceptions=False) as client:

        def call(method: str, path: str, **kwargs):
            counts["requests"] += 1
            response = client.request(method, path, **kwargs)
            if response.status_code >= 500:
                failures.append(f"{method} {path} {kwargs!r:.300}: {response.text[:300]}")
            return response

        class Links(RuleBasedStateMachine):
            jobs = Bundle("jobs")
            datasets = Bundle("datasets")
            models = Bundle("models")

            def __init__(self) -> None:
                super().__init__()
                self.leases: list = []

            @initialize(target=jobs)
            def a_job_cancelled_and_retried(self):
                job = self.submit_echo(0.0, 0)
                self.cancel(job, then_retry=True)
                return job

            @rule(target=jobs, sleep=st.floats(0, 5), priority=st.integers(-5, 5))
            def submit_echo(self, sleep, priority):
                body = {"kind": "echo", "params": {"sleep_seconds": sleep}, "priority": priority}
                response = call("POST", "/api/jobs", json=body)
                assert response.status_code == 201, response.text
                assert response.json()["status"] == "queued"
                return response.json()["id"]

            @rule(
                target=jobs,
                kind=st.sampled_from(sorted(KINDS)) | st.text(max_size=10),
                data=st.data(),
            )
            def submit_fuzzed(self, kind, data):
                ids = st.integers(1, 60)
                names = st.sampled_from(fields.get(kind) or ["x"])
                params = data.draw(st.dictionaries(names, json_values(ids), max_size=4))
                extra = data.draw(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "depends_on": st.lists(json_values(ids), max_size=3),
                            "priority": json_values(ids),
                            "max_attempts": json_values(ids),
                        },
                    )
                )
                body = raw_json({"kind": kind, "params": params, **extra})
                response = call(
                    "POST", "/api/jobs", content=body, headers={"Content-Type": "application/json"}
                )
                assert response.status_code in (201, 404, 409, 422), response.text
                return response.json()["id"] if response.status_code == 201 else -1

            @rule(job=jobs | st.integers(-(2**70), 2**70), suffix=st.sampled_from(["", "/metrics"]))
            def read_job(self, job, suffix):
                response = call("GET", f"/api/jobs/{job}{suffix}")
                assert response.status_code in (200, 404, 422)

            @rule(
                status=st.sampled_from(["", "queued", "running", "failed,cancelled", "nope"]),
                kind=st.sampled_from(["", "echo", "finetune,evaluate", "x"]),
                limit=st.integers(-1, 600),
                offset=st.integers(-1, 2**70),
            )
            def list_jobs(self, status, kind, limit, offset):
                query = {"status": status, "kind": kind, "limit": limit, "offset": offset}
                assert call("GET", "/api/jobs", params=query).status_code in (200, 422)

            def _status(self, job) -> str | None:
                response = call("GET", f"/api/jobs/{job}")
                return response.json()["status"] if response.status_code == 200 else None

            @rule(job=jobs | st.integers(-(2**70), 2**70), then_retry=st.booleans())
            def cancel(self, job, then_retry):
                before = self._status(job)
                response = call("POST", f"/api/jobs/{job}/cancel")
                if before is None:
                    assert response.status_code in (404, 422)
                elif before in FINISHED:
                    assert response.status_code == 409, response.text
                else:
                    assert response.status_code == 200, response.text
                    assert response.json()["status"] == "cancelled"
                    assert self._status(job) == "cancelled"
                    counts["cancelled"] += 1
                    if then_retry:
                        self.retry(job)

            @rule(job=jobs)
            def retry(self, job):
                before = self._status(job)
                response = call("POST", f"/api/jobs/{job}/retry")
                if before is None:
                    assert response.status_code in (404, 422)
                elif before in ("failed", "cancelled"):
                    assert response.status_code == 200, response.text
                    assert self._status(job) == "queued"
                    counts["retried"] += 1
                else:
                    assert response.status_code == 409, response.text

            @rule()
            def worker_claims(self):
                with write_session(database_url) as session:
                    lease = queue.claim(session, "fuzz-worker", kinds=None, lease_seconds=600)
                if lease is not None:
                    self.leases.append(lease)
                    counts["claimed"] += 1
                    assert self._status(lease.job_id) == "running"

            @precondition(lambda self: self.leases)
            @rule(how=st.sampled_from(["complete", "fail", "signal", "release"]))
            def worker_finishes(self, how):
                lease = self.leases.pop(0)
                with write_session(database_url) as session:
                    if how == "complete":
                        queue.complete(session, lease, {"ok": True})
                    elif how == "fail":
                        queue.fail(session, lease, "fuzz: failed")
                    elif how == "signal":
                        queue.retry_or_fail(session, lease, "fuzz: killed by SIGKILL")
                    else:
                        queue.release(session, lease)

            @rule(
                target=datasets,
                name=st.from_regex(r"[a-z][a-z0-9_-]{0,12}", fullmatch=True) | st.text(max_size=8),
                fmt=st.sampled_from(["jsonl", "csv", "json", "parquet", "x"]),
                rows=st.lists(json_values(st.integers(0, 5)), max_size=4),
                label=st.sampled_from([None, "safe", "unsafe", "maybe"]),
            )
            def upload_dataset(self, name, fmt, rows, label):
                if fmt == "jsonl":  # objects as they are, other values as prompts
                    lines = (r if isinstance(r, dict) else {"prompt": r} for r in rows)
                    data = b"\n".join(raw_json(line) for line in lines)
                else:
                    data = raw_json(rows)
                form = {"name": name, "format": fmt, **({"label": label} if label else {})}
                response = call(
                    "POST", "/api/datasets", data=form, files={"file": ("f", data, "text/plain")}
                )
                assert response.status_code in (201, 400, 409, 413, 422), response.text
                return response.json()["id"] if response.status_code == 201 else -1

            @rule(
                dataset=datasets,
                suffix=st.sampled_from(["", "/rows", "/dependants"]),
                limit=st.integers(-1, 2000),
                offset=st.integers(-1, 2**70),
            )
            def read_dataset(self, dataset, suffix, limit, offset):
                query = {"limit": limit, "offset": offset} if suffix == "/rows" else {}
                response = call("GET", f"/api/datasets/{dataset}{suffix}", params=query)
                assert response.status_code in (200, 404, 405, 422)

            def _delete(self, path: str, cascade: bool) -> None:
                """DELETE ``path``: once deleted (200), it is 404."""
                response = call("DELETE", path, params={"cascade": cascade})
                assert response.status_code in (200, 404, 405, 409, 422)
                if response.status_code == 200:
                    assert call("GET", path).status_code == 404

            @rule(dataset=datasets, cascade=st.booleans())
            def delete_dataset(self, dataset, cascade):
                self._delete(f"/api/datasets/{dataset}", cascade)

            @rule(
                target=models,
                name=st.from_regex(r"[a-z][a-z0-9_.-]{0,12}", fullmatch=True) | st.text(max_size=8),
                uri=st.sampled_from([str(model_root), str(tmp_path), "x" * 300, "/dev/null", ""]),
            )
            def register_model(self, name, uri):
                body = {"name": name, "source": "local", "uri": uri}
                response = call("POST", "/api/models", json=body)
                assert response.status_code in (201, 409, 422), response.text
                return response.json()["id"] if response.status_code == 201 else -1

            @rule(model=models, suffix=st.sampled_from(["", "/lineage", "/dependants"]))
            def read_model(self, model, suffix):
                response = call("GET", f"/api/models/{model}{suffix}")
                assert response.status_code in (200, 404, 405, 422)

            @rule(model=models, cascade=st.booleans())
            def delete_model(self, model, cascade):
                self._delete(f"/api/models/{model}", cascade)

            @invariant()
            def no_server_error(self):
                assert not failures, "\n".join(failures[:10])

        run_state_machine_as_test(
            Links,
            settings=hypothesis_settings(
                max_examples=STATEFUL_EXAMPLES,
                stateful_step_count=STATEFUL_STEPS,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            ),
        )
    print(f"stateful fuzz: {counts}")
    assert counts["cancelled"] and counts["retried"] and counts["claimed"], counts
