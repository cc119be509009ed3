"""Team mode (FLOWLENS_AUTH=on, reads public): a reader without a token sees the pages but no
write button (cancel, retry, capture and evaluate, delete, freeze) and the header's token field;
once a token is typed the buttons show."""

from __future__ import annotations

import pytest
from seed import seeded_dashboard

WRITE_BUTTONS = {
    "job": ["#job-cancel", "#job-retry", "#measure-submit"],
    "model": ["#delete-button"],
    "relation": ["#relation-freeze"],
}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    with seeded_dashboard(tmp_path_factory.mktemp("read-only"), auth="on", public_read="true") as s:
        yield s


def _pages(seeded) -> dict[str, str]:
    cell = seeded["cells"][0]
    return {
        "job": f"/jobs/{cell['finetune']}",
        "model": f"/models/{cell['model_id']}",
        "relation": f"/relation?sweep={seeded['sweep']}",
    }


def _shown(page, selector: str) -> bool:
    page.wait_for_selector(selector, state="attached", timeout=20_000)
    return page.is_visible(selector)


def test_write_buttons_only_with_a_token(tab, seeded):
    pages = _pages(seeded)
    for name, path in pages.items():
        page = tab.open(path)
        page.wait_for_selector("#page-main.read-only", state="attached", timeout=10_000)
        assert page.is_visible("#token-box"), name  # where a reader can sign in
        assert [s for s in WRITE_BUTTONS[name] if _shown(page, s)] == [], name
    page.fill("#api-token", seeded["token"])
    page.wait_for_function(
        "() => (sessionStorage.getItem('api-token-store') || '').includes('fl_')"
    )
    for name, path in pages.items():
        page = tab.open(path)
        page.wait_for_selector("#page-main:not(.read-only)", state="attached", timeout=10_000)
        assert [s for s in WRITE_BUTTONS[name] if not _shown(page, s)] == [], name
    assert tab.errors == []
