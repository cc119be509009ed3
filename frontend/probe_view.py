"""What the pages show of a linear probe (the ``probe`` job, GET /api/.../probe): the P(unsafe)
of an evaluation's false-refused safe prompts against its answered ones (evaluation page), and
probe accuracy per layer beside concentration@k (spectra page).

"The model reads these harmless prompts as harmful from layer l on" holds when l is the first
layer from which, at l and every later layer, the refused safe prompts' median P(unsafe)
exceeds 0.5 and the answered ones' does not (both groups non-empty); else no layer is named.
"""

from __future__ import annotations

from statistics import median

from frontend.figures import band_trace, plain_figure, stacked_rows

THRESHOLD = 0.5
REFUSED_COLOR, ANSWERED_COLOR = "#dc2626", "#2563eb"
BLUE, BLUE_BAND = "#2563eb", "rgba(37,99,235,0.18)"
GREEN, GREEN_BAND = "#10b981", "rgba(16,185,129,0.18)"
ORANGE, ORANGE_BAND = "#f97316", "rgba(249,115,22,0.18)"


def medians(split: dict) -> tuple[float | None, float | None]:
    """(median P(unsafe) of the refused, of the answered) of one layer's split; None if empty."""
    return tuple(median(split[side]) if split[side] else None for side in ("refused", "answered"))


def harmful_from(splits: list[dict]) -> int | None:
    """The first layer from which, at every later layer too, the refused prompts' median
    P(unsafe) exceeds 0.5 and the answered prompts' does not (``splits``: per layer, in order,
    each with ``refused`` and ``answered`` lists); None where no such layer exists."""
    first = None
    for layer, split in enumerate(splits):
        refused, answered = medians(split)
        holds = refused is not None and answered is not None
        holds = holds and refused > THRESHOLD >= answered
        if not holds:
            first = None
        elif first is None:
            first = layer
    return first


def reading_sentence(splits: list[dict]) -> str:
    layer = harmful_from(splits)
    if layer is not None:
        return f"The model reads these harmless prompts as harmful from layer {layer} on."
    if not any(split["refused"] for split in splits):
        return "No safe prompt the probe scored was refused."
    return (
        "The probe does not read the refused prompts as harmful: at no layer from which on their "
        "median P(unsafe) stays above 0.5 while the answered prompts' stays at or below it."
    )


def distribution_figure(split: dict, layer: int) -> dict:
    """Overlaid histograms of P(unsafe) at ``layer``: refused against answered safe prompts,
    each with its n and its median as a dashed line."""
    traces, shapes = [], []
    for side, color in (("refused", REFUSED_COLOR), ("answered", ANSWERED_COLOR)):
        values = split[side]
        mid = median(values) if values else None
        name = f"{side} safe prompts (n={len(values)}" + (
            f", median {mid:.2f})" if mid is not None else ")"
        )
        traces.append(
            {
                "type": "histogram",
                "x": values,
                "name": name,
                "opacity": 0.6,
                "marker": {"color": color},
                "xbins": {"start": 0, "end": 1.0001, "size": 0.05},
            }
        )
        if mid is not None:
            shapes.append(
                {
                    "type": "line",
                    "x0": mid,
                    "x1": mid,
                    "xref": "x",
                    "yref": "paper",
                    "y0": 0,
                    "y1": 1,
                    "line": {"dash": "dash", "color": color},
                }
            )
    return plain_figure(
        traces,
        f"Probe P(unsafe) at layer {layer}: false-refused vs answered safe prompts",
        380,
        barmode="overlay",
        xaxis={"title": {"text": "held-out P(unsafe) of the layer's probe"}, "range": [0, 1]},
        yaxis={"title": {"text": "safe prompts"}},
        shapes=shapes,
    )


def _values(layers: list[dict], name: str) -> tuple[list, list, list]:
    values = [rec["values"].get(name) for rec in layers]
    bounds = [(rec.get("intervals") or {}).get(name) or [None, None] for rec in layers]
    return values, [b[0] for b in bounds], [b[1] for b in bounds]


def accuracy_figure(probe: dict, run_layers: list[dict], k: int) -> dict:
    """Per layer: probe accuracy and AUROC with their 95% intervals (top row) above the run's
    concentration@k with its bootstrap band (bottom row)."""
    concentration = f"concentration@{k}"
    series = [
        (probe["layers"], "probe_accuracy", "probe accuracy", BLUE, BLUE_BAND, "y"),
        (probe["layers"], "probe_auroc", "probe AUROC", GREEN, GREEN_BAND, "y"),
        (run_layers, concentration, concentration, ORANGE, ORANGE_BAND, "y2"),
    ]
    traces = []
    for layers, name, label, color, band, axis in series:
        xs = [rec["layer"] for rec in layers]
        values, lo, hi = _values(layers, name)
        traces += [t for t in [band_trace(xs, lo, hi, band, axis)] if t]
        line = {"mode": "lines+markers", "line": {"color": color}, "yaxis": axis}
        traces.append({"type": "scatter", "x": xs, "y": values, "name": label} | line)
    layout = stacked_rows(
        [
            f"Probe (safe vs unsafe, {probe['folds']}-fold), 95% intervals",
            f"{concentration}, 95% band",
        ]
    )
    layout["yaxis"]["range"] = [0, 1.02]
    return plain_figure(
        traces,
        f"Linear probe per layer (best layer {probe['best_layer']}) beside concentration",
        460,
        **layout,
    )
