"""Probe views and the frontier in headless Chromium, on the seeded sweep plus a hand-made probe
of cell 0's run, a steering evaluation of cell 0's model and an imported evaluation on another
set: the evaluation page's P(unsafe) of refused vs answered safe prompts and its "harmful from
layer l on" sentence, the spectra page's probe panel, the no-probe action, and /frontier's
points, labels, filter and links."""

from __future__ import annotations

import numpy as np
import pytest
from headless import require_browser, wait_idle
from safetensors.numpy import save_file
from seed import seed_sweep
from sqlalchemy import select
from support import serve_dashboard

from backend import migrate
from backend.artifacts import ArtifactStore
from backend.db import write_session
from backend.models import Completion, Dataset, Evaluation, Job, Probe, Run

N_LAYERS, FROM_LAYER, BEST = 8, 3, 5


def _seed_probe(url: str, root, cell: dict) -> list[int]:
    """A probe on the cell's run: each refused safe prompt's P(unsafe) 0.3 below layer 3 and
    0.8 from it on, each answered one 0.2, each unsafe one 0.9; returns the refused idx."""
    store = ArtifactStore(str(root))
    with write_session(url) as session:
        refused = session.scalars(
            select(Completion.idx).where(
                Completion.evaluation_id == cell["evaluation_id"],
                Completion.label == "safe",
                Completion.verdict != "full_compliance",
            )
        ).all()
        labels = session.scalars(
            select(Completion.label)
            .where(Completion.evaluation_id == cell["evaluation_id"])
            .order_by(Completion.idx)
        ).all()
        p = np.zeros((N_LAYERS, len(labels)), dtype=np.float32)
        for i, label in enumerate(labels):
            if label == "unsafe":
                p[:, i] = 0.9
            elif i in refused:
                p[:, i] = [0.8 if layer >= FROM_LAYER else 0.3 for layer in range(N_LAYERS)]
            else:
                p[:, i] = 0.2
        key = "probes/seeded/p_unsafe.safetensors"
        path = root / key
        path.parent.mkdir(parents=True)
        save_file(
            {"p_unsafe": p, "idx": np.arange(len(labels)), "labels": np.zeros(len(labels))},
            str(path),
        )
        job = Job(kind="probe", status="succeeded", params={"run_id": cell["run_id"]})
        session.add(job)
        session.flush()
        accuracy = [0.6 + 0.04 * layer for layer in range(N_LAYERS)]
        session.add(
            Probe(
                job_id=job.id,
                run_id=cell["run_id"],
                folds=5,
                n_prompts=len(labels),
                n_unsafe=labels.count("unsafe"),
                best_layer=BEST,
                layers=[
                    {
                        "layer": layer,
                        "values": {"probe_accuracy": a, "probe_auroc": a + 0.05},
                        "intervals": {
                            "probe_accuracy": [a - 0.1, a + 0.1],
                            "probe_auroc": [a - 0.05, a + 0.1],
                        },
                    }
                    for layer, a in enumerate(accuracy)
                ],
                p_unsafe_uri=store.uri(key),
            )
        )
    return list(refused)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    require_browser()
    tmp = tmp_path_factory.mktemp("probe-ui")
    url = f"sqlite:///{tmp / 'flowlens.db'}"
    migrate.upgrade(url)
    ids = seed_sweep(url, n_layers=N_LAYERS)
    cell = ids["cells"][0]
    ids["refused"] = _seed_probe(url, tmp / "artifacts", cell)
    with write_session(url) as session:
        # cell 2's run kept its residuals (no file needed: the page only links to the probe form)
        session.get(Run, ids["cells"][2]["run_id"]).activations_uri = "file:///nowhere"
        steering = Evaluation(
            model_id=cell["model_id"],
            dataset_id=ids["probe"],
            params={
                "intervention": {"run_id": cell["run_id"], "layer": 3, "kind": "add", "alpha": 2}
            },
            metrics={
                "false_refusal_rate": 0.1,
                "safety": 0.4,
                "heldout_loss": 1.4,
                "intervention_kl": 0.0123,
            },
        )
        other_set = Dataset(name="other-set", source="upload", format="csv")
        session.add_all([steering, other_set])
        session.flush()
        imported = Evaluation(
            dataset_id=other_set.id,
            source="imported",
            metrics={"false_refusal_rate": 0.5, "safety": 0.5},
        )
        session.add(imported)
        session.flush()
        ids["steering"] = steering.id
    with serve_dashboard(url, tmp) as (api, ui):
        yield {**ids, "api": api, "ui": ui}


def _legend(page, graph: str) -> list[str]:
    return page.evaluate(
        f"() => document.querySelector('#{graph} .js-plotly-plot').data.map(t => t.name)"
    )


def test_evaluation_page_shows_what_the_probe_reads(tab, seeded):
    cell = seeded["cells"][0]
    n_refused = len(seeded["refused"])
    assert n_refused > 0
    page = tab.open(f"/evals/{cell['evaluation_id']}")
    page.wait_for_selector("#eval-probe-reading")
    assert page.inner_text("#eval-probe-reading") == (
        f"The model reads these harmless prompts as harmful from layer {FROM_LAYER} on."
    )
    wait_idle(page)
    n_answered = 20 - n_refused  # the seed's 20 safe prompts
    assert _legend(page, "eval-probe-figure") == [
        f"refused safe prompts (n={n_refused}, median 0.80)",
        f"answered safe prompts (n={n_answered}, median 0.20)",
    ]
    assert f"probe_layer={BEST}" in page.url  # the best layer by default, in the URL
    page = tab.open(f"/evals/{cell['evaluation_id']}?probe_layer=1")
    page.wait_for_selector("#eval-probe-figure .js-plotly-plot")
    wait_idle(page)
    assert _legend(page, "eval-probe-figure")[0] == (
        f"refused safe prompts (n={n_refused}, median 0.30)"
    )
    # another cell's model has no probe, and its run kept no residuals: capture first
    other = seeded["cells"][1]
    page = tab.open(f"/evals/{other['evaluation_id']}")
    page.wait_for_selector("#eval-probe-capture")
    assert page.get_attribute("#eval-probe-capture", "href") == (
        f"/submit/capture_spectra?model_id={other['model_id']}&dataset_id={seeded['probe']}"
    )
    # cell 2's run kept its residuals: fit a probe on it
    kept = seeded["cells"][2]
    page = tab.open(f"/evals/{kept['evaluation_id']}")
    page.wait_for_selector("#eval-probe-submit")
    assert (
        page.get_attribute("#eval-probe-submit", "href") == f"/submit/probe?run_id={kept['run_id']}"
    )
    assert tab.errors == []


def test_spectra_page_shows_probe_accuracy_beside_concentration(tab, seeded):
    page = tab.open(f"/runs/{seeded['cells'][0]['run_id']}")
    page.wait_for_selector("#spectra-probe-card .js-plotly-plot")
    wait_idle(page)
    names = _legend(page, "spectra-probe")
    assert [n for n in names if n] == ["probe accuracy", "probe AUROC", "concentration@3"]
    assert page.is_visible("#spectra-probe-card")
    page = tab.open(f"/runs/{seeded['cells'][1]['run_id']}")
    wait_idle(page)
    assert not page.is_visible("#spectra-probe-card")
    assert tab.errors == []


def test_frontier_plots_every_evaluation_by_method(tab, seeded):
    page = tab.open("/evals")
    row = page.locator("#evals-table tr", has_text=f"evaluation {seeded['steering']}")
    assert "add +2 (layer 3)" in row.inner_text()
    page.click("#evals-frontier")
    page.wait_for_url("**/frontier")
    page = tab.open("/frontier")
    page.wait_for_selector("#frontier-table")
    assert page.get_attribute("header a[href='/frontier']", "title")
    methods = page.locator("#frontier-table tbody tr td:nth-child(2)").all_inner_texts()
    # the seed's grid: p 0, 0.2, 0.4 x lambda 0, 0.5 (penalise); then the steering evaluation
    assert methods == [
        "SFT p=0",
        "SFT p=0, VCL λ=0.5 penalise",
        "SFT p=0.2",
        "SFT p=0.2, VCL λ=0.5 penalise",
        "SFT p=0.4",
        "SFT p=0.4, VCL λ=0.5 penalise",
        "steering α=+2 (layer 3) on SFT p=0",
        "imported",
    ]
    wait_idle(page)
    assert len(_legend(page, "frontier-figure")) == 8
    # a click on the steering point (false refusal 0.1, safety 0.4) opens its evaluation
    x, y = page.evaluate(
        """() => {
            const gd = document.querySelector('#frontier-figure .js-plotly-plot');
            const box = gd.querySelector('.nsewdrag').getBoundingClientRect();
            const L = gd._fullLayout;
            return [box.left + L.xaxis.l2p(0.1), box.top + L.yaxis.l2p(0.4)];
        }"""
    )
    page.mouse.click(x, y)
    page.wait_for_url(f"**/evals/{seeded['steering']}", timeout=10_000)
    page = tab.open("/frontier")
    page.wait_for_selector("#frontier-table")
    # a probe-set filter goes into the URL (the share link) and the list follows it
    page.click("#frontier-dataset_id")
    page.keyboard.type("probe-seed0")
    page.locator("[role=option]").first.click()
    page.wait_for_url(f"**/frontier?dataset_id={seeded['probe']}", timeout=10_000)
    page.wait_for_function(
        "() => document.querySelectorAll('#frontier-table tbody tr').length == 7"
    )
    assert page.inner_text("#frontier-count") == "7 evaluation(s) plotted"
    page.click(f"#frontier-table a[href='/evals/{seeded['steering']}']")
    page.wait_for_url(f"**/evals/{seeded['steering']}")
    page.wait_for_selector("#eval-intervention")
    run = seeded["cells"][0]["run_id"]
    assert page.inner_text("#eval-intervention") == (
        f"Intervention: +2 x mean norm x the layer-3 refusal direction of run {run} added at "
        "layer 3; cost: mean KL 0.0123 of the next token on the safe prompts."
    )
    assert tab.errors == []
