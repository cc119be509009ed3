"""Fuzz every operation of the OpenAPI schema with schemathesis (valid and invalid inputs, with a
token so that writes get through): no request may get a 5xx. Bounded: a few examples per
operation and mode, and a time budget."""

from __future__ import annotations

import time

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402

from backend import auth  # noqa: E402
from backend.api.main import create_app  # noqa: E402
from backend.config import Settings  # noqa: E402
from backend.db import write_session  # noqa: E402

EXAMPLES = 12  # per operation and generation mode
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


def _json_values(schema: dict, spec: dict) -> list[str]:
    """Property names of a request body schema (resolving one $ref level)."""
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return list(schema.get("properties", {}))


def test_non_finite_and_huge_numbers_in_every_json_body_are_4xx(database_url, tmp_path):
    """Every JSON field of every POST/PUT body, and every job kind's params, given NaN,
    +-Infinity, 1e400, a 401-digit integer and 1e-400 (json parses all of them): never a 5xx;
    non-finite numbers are 422 naming the field."""
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
            for number in NON_FINITE:
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
