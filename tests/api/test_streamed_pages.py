"""List pages are streamed (backend/api/deps.py ``paginate``) with the bytes the whole page had
when it was serialised at once, against a real API process (SQLite and PostgreSQL): a page of
1000 dataset rows of 20 kB each (20 MB, more than the loopback socket buffers hold, so the
server is still sending when the client has read its first chunk) while /api/health is asked
and answered. No timing is asserted. ``api``: tests/api/conftest.py."""

from __future__ import annotations

import json

from pydantic import TypeAdapter
from sqlalchemy import select

from backend.db import session_scope, write_session
from backend.models import Dataset, DatasetRow
from backend.schemas import DatasetRowPublic, Page

ROWS, LIMIT, CHARS = 1005, 1000, 20_000


def _prompt(i: int) -> str:
    return f'{i} "quoted" \\ caf\u00e9 \u2603\n' + "x" * CHARS  # escapes and non-ASCII


def _whole_page(database_url: str, dataset_id: int, limit: int) -> bytes:
    """The page as the API serialised it before it streamed: Page[DatasetRowPublic] at once."""
    with session_scope(database_url) as s:
        query = select(DatasetRow).where(DatasetRow.dataset_id == dataset_id)
        rows = s.scalars(query.order_by(DatasetRow.idx).limit(limit))
        page = Page(data=[DatasetRowPublic.model_validate(r) for r in rows], count=ROWS)
        return TypeAdapter(Page[DatasetRowPublic]).dump_json(page)


def test_a_large_page_streams_the_same_json_while_the_api_answers(api, database_url) -> None:
    with write_session(database_url) as s:
        dataset = Dataset(name="big", source="upload", format="jsonl", n_rows=ROWS)
        s.add(dataset)
        s.flush()
        dataset_id = dataset.id
        s.add_all(
            DatasetRow(
                dataset_id=dataset_id,
                idx=i,
                prompt=_prompt(i),
                response=f"r{i}",
                label="unsafe" if i % 3 == 0 else "safe",
                type=f"t{i % 4}",
            )
            for i in range(ROWS)
        )
    path = f"/datasets/{dataset_id}/rows"
    with api.stream("GET", path, params={"limit": LIMIT}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert "content-length" not in response.headers  # sent in chunks
        chunks = response.iter_raw()
        body = next(chunks)
        assert len(body) < LIMIT * CHARS  # the rest is still on its way
        health = api.get("/health")  # on a second connection
        assert health.status_code == 200 and health.json()["status"] == "ok"
        body += b"".join(chunks)

    assert body == _whole_page(database_url, dataset_id, LIMIT)
    expected = [
        {
            "idx": i,
            "prompt": _prompt(i),
            "response": f"r{i}",
            "label": "unsafe" if i % 3 == 0 else "safe",
            "type": f"t{i % 4}",
        }
        for i in range(LIMIT)
    ]
    assert json.loads(body) == {"data": expected, "count": ROWS}

    # a page smaller than a streamed chunk, and an empty one, keep their bytes too
    small = api.get(path, params={"limit": 2, "offset": 1})
    assert (
        small.content
        == json.dumps(
            {"data": expected[1:3], "count": ROWS}, ensure_ascii=False, separators=(",", ":")
        ).encode()
    )
    assert api.get(path, params={"type": "none"}).content == b'{"data":[],"count":0}'
