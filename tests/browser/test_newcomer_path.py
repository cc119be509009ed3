"""The newcomer's path, by clicks and dropdown choices only (scripts/newcomer_path.py walks it):
`flowlens up` on a database with the built-in datasets and a tiny model, the New sweep form
(p 0 and 0.4, 2 fine-tune steps), each cell trained, captured and evaluated by the worker, the
relation view, its frozen link opened; then back to the live view, a cell's fine-tune job, its
model, the relation view of that model's family, its frozen link opened. The frozen views must
hold what the API says the cells measured."""

from __future__ import annotations

import importlib.util

import httpx
import pytest
from support import ROOT, start, stop, wait_http

SPEC = importlib.util.spec_from_file_location(
    "newcomer_path", ROOT / "scripts" / "newcomer_path.py"
)
newcomer = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(newcomer)
pytestmark = pytest.mark.slow  # seven jobs of a tiny model through a real worker


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("newcomer")
    env = newcomer.prepare(tmp)
    proc = start(["up", "--no-demo"], env, tmp / "up.log")
    api, ui = env["FLOWLENS_API_URL"] + "/api", f"http://127.0.0.1:{env['FLOWLENS_UI_PORT']}"
    try:
        wait_http(api + "/health", timeout=120)
        wait_http(ui + "/", timeout=120)
        yield api, ui
    finally:
        stop(proc)


class Step:
    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        return False


def _frozen_table(api: str, link: str) -> tuple[dict, dict]:
    """A frozen relation view: the snapshot, and its false-refusal rate by model."""
    snapshot = httpx.get(f"{api}/snapshots/{link.rsplit('/', 1)[1]}").json()
    assert snapshot["page"] == "relation"
    table = snapshot["content"]["tables"][0]
    model, frr = table["columns"].index("model"), table["columns"].index("False-refusal rate")
    return snapshot, {row[model]: row[frr] for row in table["rows"]}


def test_from_up_to_a_frozen_relation_link(chromium, up):
    api, ui = up
    page = chromium.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    walked = newcomer.walk(page, ui, Step)
    sweep = walked["sweep"]
    snapshot, frozen = _frozen_table(api, walked["sweep_link"])
    assert snapshot["source"].startswith(f"/relation?sweep={sweep}")
    cells = httpx.get(f"{api}/sweeps/{sweep}").json()["cells"]
    assert len(cells) == 2
    evaluations = httpx.get(f"{api}/evaluations", params={"limit": 100}).json()["data"]
    models = {m["id"]: m["name"] for m in httpx.get(f"{api}/models").json()["data"]}
    expected = {
        models[e["model_id"]]: f"{100 * e['metrics']['false_refusal_rate']:.1f}%"
        for e in evaluations
    }
    assert len(expected) == 2 and all(name.startswith(f"sweep{sweep}-p") for name in expected)
    assert frozen == expected
    # the first cell's family: it, its base (neither captured nor evaluated) and the other cell
    first = cells[0]["model_name"]
    href = f"/relation?family={first}"
    assert walked["offered"] == [href, href]  # the job page's link and the model page's
    snapshot, frozen = _frozen_table(api, walked["family_link"])
    assert snapshot["source"].startswith(href + "&")
    assert frozen == {**expected, "tiny": "n/a"}
    family = httpx.get(f"{api}/relation", params={"family": first}).json()
    assert [c["model_name"] for c in family["cells"]] == ["tiny", first, cells[1]["model_name"]]
    assert [c["evaluation_id"] for c in family["cells"][1:]] == [c["evaluation_id"] for c in cells]
    assert [c["run_id"] for c in family["cells"][1:]] == [c["run_id"] for c in cells]
    assert "over n = 2 cells" in page.inner_text("body")  # the frozen text, as stored
    assert errors == []
    page.close()
