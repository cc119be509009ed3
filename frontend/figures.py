"""Plotly figures the pages share: the common look, figures as plain dicts, stacked rows over
the layers with their chosen-layer marker, and a plot's zoom in the URL.

Figures as plain dicts serve the spectra, points and compare pages, whose figures are redrawn on
a layer change: plotly's graph objects validate every property, 35-300 ms a figure with subplots
on a shared 2-core machine against well under 1 ms for the same figure as dicts (bench/ui.py,
docs/benchmarks.md).
"""

from __future__ import annotations

import functools
import json

import dash


def layout_defaults(fig, title: str | None = None, height: int = 360):
    fig.update_layout(
        title=title,
        height=height,
        margin={"l": 60, "r": 20, "t": 50 if title else 20, "b": 40},
        template="plotly_white",
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


@functools.cache
def _white_template() -> dict:
    import plotly.io as pio

    return pio.templates["plotly_white"].to_plotly_json()


def plain_figure(traces: list[dict], title: str | None = None, height: int = 360, **layout):
    """A figure of plain trace dicts with :func:`layout_defaults`' look; ``layout`` adds to it."""
    base = {
        "title": {"text": title} if title else {},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 50 if title else 20, "b": 40},
        "template": _white_template(),
        "legend": {"orientation": "h", "y": -0.2},
    }
    return {"data": traces, "layout": base | layout}


def stacked_rows(titles: list[str], gap: float = 0.06) -> dict:
    """Layout entries for len(titles) rows over one shared x axis (``x``, drawn under the last
    row): row r (1-based) plots on y axis "y" (r = 1) or "y<r>", each titled above it."""
    n = len(titles)
    height = (1 - gap * (n - 1)) / n
    out: dict = {"annotations": []}
    for r, title in enumerate(titles, start=1):
        top = 1 - (r - 1) * (height + gap)
        out[f"yaxis{'' if r == 1 else r}"] = {"domain": [top - height, top], "anchor": "x"}
        out["annotations"].append(
            {
                "text": title,
                "x": 0.5,
                "y": top,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "center",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 14},
            }
        )
    out["xaxis"] = {"anchor": f"y{'' if n == 1 else n}", "title": {"text": "layer"}, "dtick": 1}
    return out


def row_axis(row: int) -> str:
    """The y axis of a row of :func:`stacked_rows`, as a trace names it."""
    return "y" if row == 1 else f"y{row}"


def band_trace(x, lo, hi, color: str, yaxis: str = "y") -> dict | None:
    """A shaded 95% interval between ``lo`` and ``hi`` as a plain trace (points with a missing
    bound are skipped; None when none has both)."""
    points = [
        (a, b, c) for a, b, c in zip(x, lo, hi, strict=False) if b is not None and c is not None
    ]
    if not points:
        return None
    xs, los, his = (list(v) for v in zip(*points, strict=True))
    return {
        "type": "scatter",
        "x": xs + xs[::-1],
        "y": his + los[::-1],
        "fill": "toself",
        "mode": "lines",
        "fillcolor": color,
        "line": {"width": 0},
        "hoverinfo": "skip",
        "showlegend": False,
        "yaxis": yaxis,
    }


def marker_shape(layer: int) -> dict:
    """The chosen layer as a dotted line over every row (a figure's first shape, which
    :func:`markers_follow` moves)."""
    return {
        "type": "line",
        "x0": layer,
        "x1": layer,
        "xref": "x",
        "yref": "paper",
        "y0": 0,
        "y1": 1,
        "line": {"dash": "dot", "color": "#f97316"},
    }


def no_data_note(text: str) -> dict:
    """An annotation in the middle of a figure saying why it is empty."""
    return {"text": text, "showarrow": False, "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper"}


_MOVE_MARKERS = """function (_after, layer) {
    for (const id of GRAPHS) {
        const plot = document.querySelector(`#${id} .js-plotly-plot`);
        if (plot && window.Plotly && ((plot.layout || {}).shapes || []).length) {
            window.Plotly.relayout(plot, {"shapes[0].x0": layer, "shapes[0].x1": layer});
        }
    }
    return layer;
}"""


def markers_follow(after: str, slider: str, graphs: tuple[str, ...], store: str) -> None:
    """Move the :func:`marker_shape` of ``graphs`` to the layer of ``slider`` in the browser, once
    the component ``after`` (e.g. the main graph's caption, redrawn by the layer's callback) has
    changed: the main graph comes first, the markers follow (Plotly.relayout of the shapes, no
    server round trip). ``store`` (a dcc.Store) takes the layer."""
    dash.clientside_callback(
        _MOVE_MARKERS.replace("GRAPHS", json.dumps(list(graphs))),
        dash.Output(store, "data"),
        dash.Input(after, "children"),
        dash.State(slider, "value"),
        prevent_initial_call=True,
    )


def parse_zoom(text: str | None) -> list[float | None] | None:
    """A plot's zoom from the URL, "x0,x1,y0,y1" (an empty part: that axis autoscales)."""
    parts = (text or "").split(",")
    if len(parts) != 4:
        return None
    try:
        zoom = [float(p) if p else None for p in parts]
    except ValueError:
        return None
    return zoom if any(v is not None for v in zoom) else None


def zoom_from_relayout(relayout: dict | None, zoom: list | None) -> list | None:
    """The zoom [x0, x1, y0, y1] after plotly's ``relayoutData`` (a box zoom, an axis drag,
    an autoscale), starting from ``zoom``; other relayout events leave it as it is."""
    out = list(zoom or [None] * 4)
    for offset, axis in ((0, "xaxis"), (2, "yaxis")):
        if (relayout or {}).get(f"{axis}.autorange"):
            out[offset : offset + 2] = [None, None]
        elif f"{axis}.range[0]" in (relayout or {}):
            out[offset : offset + 2] = [
                float(relayout[f"{axis}.range[0]"]),
                float(relayout[f"{axis}.range[1]"]),
            ]
        elif f"{axis}.range" in (relayout or {}):
            out[offset : offset + 2] = [float(v) for v in relayout[f"{axis}.range"]]
    return out if any(v is not None for v in out) else None


def apply_zoom(fig, zoom: list | None) -> None:
    """Set the axis ranges of ``zoom`` (from parse_zoom / zoom_from_relayout) on ``fig``."""
    if zoom and None not in zoom[:2]:
        fig.update_xaxes(range=zoom[:2])
    if zoom and None not in zoom[2:]:
        fig.update_yaxes(range=zoom[2:])


def zoom_query(zoom: list | None) -> str | None:
    """``zoom`` as the URL holds it (parse_zoom's input); None without one."""
    if not zoom:
        return None
    return ",".join("" if v is None else f"{v:.6g}" for v in zoom)
