"""An intervention sweep's cells on the sweep and relation pages: each cell's method in words
("ablate (layer 2)", "add α=+1 at layer 2", "as is"), and the curve of false refusal against
unsafe refusal: per layer, the steering cells in order of alpha through the model as is
(alpha 0), the ablations as crosses."""

from __future__ import annotations

from frontend.figures import plain_figure

COLORS = ["#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626", "#0891b2"]


def method_label(cell: dict) -> str:
    """What the cell did: its intervention in words, else its training method."""
    spec = cell.get("intervention")
    if spec is None:
        return "as is" if cell.get("method") == "none" else cell.get("method") or "sft"
    if spec["kind"] == "ablate":
        return f"ablate (layer {spec['layer']})"
    return f"add α={spec['alpha']:+g} at layer {spec['layer']}"


def _point(cell: dict) -> tuple[float, float] | None:
    metrics = cell.get("metrics") or {}
    safety, frr = metrics.get("safety"), metrics.get("false_refusal_rate")
    return None if safety is None or frr is None else (safety, frr)


def _trace(cells: list[dict], name: str, **style) -> dict:
    measured = [(c, _point(c)) for c in cells if _point(c) is not None]
    return {
        "type": "scatter",
        "name": name,
        "x": [p[0] for _, p in measured],
        "y": [p[1] for _, p in measured],
        "text": [method_label(c) for c, _ in measured],
        "hovertemplate": "%{text}<br>unsafe refused %{x:.1%}<br>false refusal %{y:.1%}"
        "<extra></extra>",
        **style,
    }


def curve_figure(cells: list[dict]) -> dict:
    """False-refusal rate against unsafe refusal (safety), one point per measured cell."""
    plain = [c for c in cells if c.get("method") == "none"]
    steering = [c for c in cells if (c.get("intervention") or {}).get("kind") == "add"]
    ablations = [c for c in cells if (c.get("intervention") or {}).get("kind") == "ablate"]
    traces = []
    for i, layer in enumerate(sorted({c["intervention"]["layer"] for c in steering})):
        at_layer = [c for c in steering if c["intervention"]["layer"] == layer]
        if not any(_point(c) for c in at_layer):
            continue
        line = sorted(
            at_layer + plain, key=lambda c: (c.get("intervention") or {}).get("alpha", 0.0)
        )
        color = COLORS[i % len(COLORS)]
        traces.append(
            _trace(
                line,
                f"add α at layer {layer}",
                mode="lines+markers",
                marker={"color": color, "size": 9},
                line={"color": color},
            )
        )
    if ablations:
        style = {"symbol": "x", "size": 12, "color": "#1f2a44"}
        traces.append(_trace(ablations, "ablate", mode="markers", marker=style))
    if plain:
        style = {"symbol": "star", "size": 14, "color": "#eab308"}
        traces.append(_trace(plain, "as is", mode="markers", marker=style))
    return plain_figure(
        [t for t in traces if t["x"]],
        "False refusal against unsafe refusal, one point per intervention",
        420,
        xaxis={"title": {"text": "unsafe refused (safety)"}, "tickformat": ".0%"},
        yaxis={"title": {"text": "false-refusal rate"}, "tickformat": ".0%"},
    )
