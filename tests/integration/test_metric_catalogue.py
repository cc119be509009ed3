"""The metric catalogue (backend/metrics.py) walked against a real capture: every per-layer
metric is served by /api/runs/{id}/layers (with its interval where it has one) and offered by the
pages that list metrics. The capture runs on the lab's demo model with the probe set (safe and
unsafe prompts: the refusal direction), bootstrap intervals, and a reference run (alignment)."""

from __future__ import annotations

import csv
import io
import sys

import pytest
from support import run_inline

from backend.metrics import CATALOGUE, Scope, metrics_for
from backend.models import JobStatus

LAYER = metrics_for(Scope.LAYER)


@pytest.fixture(scope="module")
def layers(lab) -> list[dict]:
    """The layers of a capture aligned against a first capture of the same model and prompts."""
    settings, client, datasets, model_id = lab
    params = {"model_id": model_id, "dataset_id": datasets["probe"]["id"], "bootstrap": 20}
    reference = run_inline(settings, "capture_spectra", **params)
    assert reference.status == JobStatus.SUCCEEDED, reference.error
    aligned = run_inline(
        settings, "capture_spectra", **params, reference_run_id=reference.result["run_id"]
    )
    assert aligned.status == JobStatus.SUCCEEDED, aligned.error
    return client.get(f"/api/runs/{aligned.result['run_id']}/layers").json()


@pytest.fixture(scope="module")
def pages():
    from frontend.app import create_app

    create_app("http://127.0.0.1:9")  # registers the pages (no request is made)
    return {name: sys.modules[f"pages.{name}"] for name in ("spectra", "compare", "relation")}


def test_every_layer_metric_is_served_with_its_interval(layers):
    assert len(layers) == 2
    for layer in layers:
        assert list(layer["values"]) == [m.name for m in LAYER]
        assert set(layer["intervals"]) <= {m.name for m in LAYER if m.interval}
    for metric in LAYER:
        assert any(layer["values"][metric.name] is not None for layer in layers), metric.name
        if metric.interval:
            for layer in layers:
                lo, hi = layer["intervals"][metric.name]
                assert lo <= hi, metric.name


def test_every_layer_metric_is_a_choice_of_the_pages_that_list_metrics(pages, layers):
    names = [m.name for m in LAYER]
    probes = [m.name for m in metrics_for(Scope.PROBE)]  # the relation page's x also offers them
    for name, module in pages.items():
        offered = [o["value"] for o in module.METRIC_OPTIONS]
        assert offered == names + (probes if name == "relation" else []), name
        labels = [o["label"] for o in module.METRIC_OPTIONS][: len(names)]
        assert labels == [m.label for m in LAYER], name
    header = next(csv.reader(io.StringIO(pages["spectra"].layers_csv(layers))))
    assert header[: 1 + len(names)] == ["layer", *names]
    bounds = [f"{m.name}_{end}" for m in LAYER if m.interval for end in ("lo", "hi")]
    assert header[1 + len(names) :] == bounds
    shown = pages["spectra"].layer_table(layers[0])  # the chosen layer's table: one row each
    assert [row.children[0].children for row in shown.children[1].children] == [
        m.label for m in LAYER
    ]


def test_the_api_serves_the_catalogue(lab):
    client = lab[1]
    served = client.get("/api/metrics").json()
    assert [m["name"] for m in served] == list(CATALOGUE)
    first = CATALOGUE["concentration@1"]
    assert served[0] == {
        "name": first.name,
        "label": first.label,
        "scopes": ["layer", "run"],
        "description": first.description,
        "fmt": first.fmt,
        "interval": True,
    }
