"""A self-contained HTML timeline of a run: one lane per worker, stages in colours.

The page needs nothing but itself: CSS and JavaScript are inline, the data sits in a
``<script type="application/json">`` block, and it draws on a canvas, so it opens from disk,
offline, in any browser. Strings from spans (stage names are user input) reach the page only
as escaped HTML text or inside that JSON block with ``<``, ``>`` and ``&`` written as ``\\u``
escapes, so no stage name can close the block or inject markup; the page's script puts them
on screen with ``textContent`` and canvas ``fillText``, never as HTML.
"""

from __future__ import annotations

import functools
import html
import importlib.resources
import json
import re
from typing import TYPE_CHECKING, Any

from ._files import write_text_atomic
from ._lanes import lane_key, lanes_of, pack_rows
from ._metrics import compute_metrics

if TYPE_CHECKING:
    import os

    from ._metrics import TraceMetrics
    from ._span import Trace

# Colour-blind-friendly hues; red is kept out of the palette because it marks failures.
_PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#b07aa1",
    "#edc948",
    "#76b7b2",
    "#9c755f",
    "#ff9da7",
    "#86bcb6",
    "#bab0ac",
)
_OUTCOMES = ("ok", "error", "timeout", "crash", "cancelled")
# The engine's own work (workers starting) is grey: it is nobody's stage.
_ENGINE_COLOUR = "#8c8c8c"
_SCHEME = re.compile(r"([hH])(?=[tT][tT][pP])")


def render_timeline(
    trace: Trace, *, metrics: TraceMetrics | None = None, title: str | None = None
) -> str:
    """Render ``trace`` as one self-contained HTML page.

    Args:
        trace: The run to draw.
        metrics: Metrics to show beside the timeline; computed from ``trace`` when omitted.
        title: The page's heading; ``"juggler run <id>"`` when omitted.

    Returns:
        The page's HTML text.
    """
    metrics = metrics if metrics is not None else compute_metrics(trace)
    heading = title if title is not None else f"juggler run {trace.run_id}"
    stage_names = _stage_names(trace)
    colours = {name: _PALETTE[i % len(_PALETTE)] for i, name in enumerate(stage_names)}
    payload = _payload(trace, metrics, stage_names, colours)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_text(heading)}</title>",
        f"<style>{_asset('_timeline.css')}</style></head><body>",
        f"<h1>{_text(heading)}</h1>",
        _summary(metrics),
        _legend(trace, stage_names, colours, metrics),
        _controls(),
        '<div id="chart"><canvas id="timeline"></canvas><div id="tip" hidden></div></div>',
        _lane_table(metrics),
        _stage_table(metrics, colours),
        f'<script type="application/json" id="timeline-data">{_json(payload)}</script>',
        f"<script>{_asset('_timeline.js')}</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_timeline(
    trace: Trace, path: str | os.PathLike[str], *, metrics: TraceMetrics | None = None
) -> None:
    """Write ``render_timeline(trace)`` to ``path`` (atomically: temp file + rename)."""
    write_text_atomic(path, render_timeline(trace, metrics=metrics))


@functools.cache
def _asset(name: str) -> str:
    """The page's CSS or script, shipped beside this module (read once per process)."""
    return (importlib.resources.files(__package__) / name).read_text(encoding="utf-8")


def _stage_names(trace: Trace) -> list[str]:
    names = [name for name, _ in trace.stages]
    seen = set(names)
    for span in trace.spans:
        if span.stage not in seen:
            seen.add(span.stage)
            names.append(span.stage)
    return names


def _payload(
    trace: Trace, metrics: TraceMetrics, stage_names: list[str], colours: dict[str, str]
) -> dict[str, Any]:
    lanes = lanes_of(trace)
    # The engine's own phases (workers starting) get a lane of their own, drawn first.
    first = 1 if trace.phases else 0
    lane_index = {lane.key: i + first for i, lane in enumerate(lanes)}
    phase_names = list(dict.fromkeys(p.name for p in trace.phases))
    stage_index = {name: i for i, name in enumerate([*stage_names, *phase_names])}
    placements = dict(trace.stages)
    on_path = set(metrics.critical_path.span_indices)

    by_lane: list[list[int]] = [[] for _ in lanes]
    for i, span in enumerate(trace.spans):
        by_lane[lane_index[lane_key(span)] - first].append(i)
    rows = [0] * len(trace.spans)
    row_counts = []
    for members in by_lane:
        packed = pack_rows([(trace.spans[i].start, trace.spans[i].end) for i in members])
        for i, row in zip(members, packed, strict=True):
            rows[i] = row
        row_counts.append(max(packed, default=0) + 1)

    lane_metrics = {(m.pid, m.lane): m for m in metrics.lanes}
    end = max([trace.wall_s, *(s.end for s in trace.spans), *(p.end for p in trace.phases)])
    engine_lanes = []
    if trace.phases:
        share = metrics.start_up_s / trace.wall_s if trace.wall_s > 0 else 0.0
        engine_lanes.append(
            {
                "label": "engine",
                "kind": "engine",
                "rows": 1,
                "util": round(share, 4),
                "in_flight": 0,
            }
        )
    spans = [
        [
            lane_index[lane_key(s)],
            stage_index[s.stage],
            _ms(s.start),
            _ms(s.end),
            None if s.queued is None else _ms(s.queued),
            s.item_id,
            s.attempt,
            _OUTCOMES.index(s.outcome) if s.outcome in _OUTCOMES else 1,
            rows[i],
            1 if i in on_path else 0,
        ]
        for i, s in enumerate(trace.spans)
    ]
    phase_on_path = {(p.stage, p.start) for p in metrics.critical_path.steps if p.attempt == 0}
    spans += [
        [0, stage_index[p.name], _ms(p.start), _ms(p.end), None, "", 0, 0, 0,
         1 if (p.name, p.start) in phase_on_path else 0]
        for p in trace.phases
    ]  # fmt: skip
    phase_at = {(p.name, p.start): len(trace.spans) + k for k, p in enumerate(trace.phases)}
    span_at = iter(metrics.critical_path.span_indices)
    path = [
        phase_at[(step.stage, step.start)] if step.attempt == 0 else next(span_at)
        for step in metrics.critical_path.steps
    ]
    return {
        "wall_ms": _ms(end),
        "stages": [
            *([name, placements.get(name, ""), colours[name]] for name in stage_names),
            *([name, "engine", _ENGINE_COLOUR] for name in phase_names),
        ],
        "outcomes": list(_OUTCOMES),
        "lanes": [
            *engine_lanes,
            *(
                {
                    "label": lane.label,
                    "kind": lane.kind,
                    "rows": row_counts[i],
                    "util": round(lane_metrics[lane.key].utilisation, 4),
                    "in_flight": round(lane_metrics[lane.key].mean_in_flight, 2),
                }
                for i, lane in enumerate(lanes)
            ),
        ],
        # Arrays, not objects: a run has up to hundreds of thousands of spans.
        "spans": spans,
        "path": path,
    }


def _ms(seconds: float) -> float:
    return round(seconds * 1e3, 3)


def _json(data: dict[str, Any]) -> str:
    """JSON that is inert inside a ``<script>`` element and carries no URL scheme."""
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    # The page must show it fetches nothing: a user's stage called "http get" must not put
    # the scheme's letters in the file, so its first letter is escaped too.
    return _SCHEME.sub(lambda m: f"\\u{ord(m.group(1)):04x}", text)


def _text(value: object) -> str:
    """HTML-escaped text, with any URL scheme's first letter as a character reference."""
    escaped = html.escape(str(value), quote=True)
    return _SCHEME.sub(lambda m: f"&#{ord(m.group(1))};", escaped)


def _seconds(value: float | None, unit: str = "s") -> str:
    if value is None:
        return "–"
    if unit == "ms":
        return f"{value:.2f} ms"
    if value < 1e-3:
        return f"{value * 1e6:.0f} µs"
    if value < 1:
        return f"{value * 1e3:.1f} ms"
    return f"{value:.2f} s"


def _share(ratio: float) -> str:
    return "<1%" if 0 < ratio < 0.01 else f"{ratio:.0%}"


def _summary(metrics: TraceMetrics) -> str:
    path = metrics.critical_path
    wall = metrics.wall_s
    items = [
        ("wall time", _seconds(wall)),
        ("critical path", f"{_seconds(path.length_s)} ({_share(path.ratio)} of wall)"),
    ]
    if metrics.start_up_s > 0:
        share = _share(metrics.start_up_s / wall if wall > 0 else 0.0)
        items.append(("worker start-up", f"{_seconds(metrics.start_up_s)} ({share} of wall)"))
    items += [
        ("event-loop lag p99", _seconds(metrics.loop_lag_p99_ms, "ms")),
        ("event-loop lag max", _seconds(metrics.loop_lag_max_ms, "ms")),
    ]
    items += [
        (f"{pool.placement} pool", f"{pool.utilisation:.0%} busy over {pool.lanes} lane(s)")
        for pool in metrics.pools
    ]
    cells = "".join(f"<div><dt>{_text(k)}</dt><dd>{_text(v)}</dd></div>" for k, v in items)
    return f'<dl class="summary">{cells}</dl>'


def _ran(metrics: TraceMetrics) -> set[str]:
    return {m.name for m in metrics.stages if m.attempts}


def not_run_note(placement: str) -> str:
    """What the page says of a stage with no spans: shapes that fold or join run inline."""
    return "runs inline" if placement in ("reduce", "branches") else "not run"


def _legend(
    trace: Trace, stage_names: list[str], colours: dict[str, str], metrics: TraceMetrics
) -> str:
    placements = dict(trace.stages)
    ran = _ran(metrics)
    # Stages with no spans have nothing drawn in their colour: they are named apart.
    entries = [
        f'<span class="key"><i style="background:{colours[name]}"></i>{_text(name)}'
        f" <small>{_text(placements.get(name, ''))}</small></span>"
        for name in stage_names
        if name in ran
    ]
    entries += [
        f'<span class="key"><i style="background:{_ENGINE_COLOUR}"></i>{_text(name)}'
        " <small>engine</small></span>"
        for name in dict.fromkeys(p.name for p in trace.phases)
    ]
    entries += [
        '<span class="key"><i class="wait"></i>queue wait</span>',
        '<span class="key"><i class="crit"></i>critical path</span>',
        '<span class="key"><i class="fail"></i>failed attempt</span>',
    ]
    idle = [name for name in stage_names if name not in ran]
    if idle:
        said = ", ".join(f"{_text(n)} ({not_run_note(placements.get(n, ''))})" for n in idle)
        entries.append(f'<span class="key idle">no spans: {said}</span>')
    return f'<div class="legend">{"".join(entries)}</div>'


def _controls() -> str:
    return (
        '<div class="controls">'
        '<button type="button" id="zoom-in" title="zoom in">+</button>'
        '<button type="button" id="zoom-out" title="zoom out">−</button>'
        '<button type="button" id="zoom-reset">reset</button>'
        '<label><input type="checkbox" id="show-queue" checked> queue waits</label>'
        '<label><input type="checkbox" id="show-path" checked> critical path</label>'
        "<span class=hint>wheel to zoom, drag to pan, hover for details</span>"
        "</div>"
    )


def _lane_table(metrics: TraceMetrics) -> str:
    rows = "".join(
        f"<tr><td>{_text(lane.label)}</td><td>{_text(lane.placement)}</td>"
        f"<td class=num>{lane.spans}</td><td class=num>{_text(_seconds(lane.busy_s))}</td>"
        f'<td class=num><span class="bar"><b style="width:{min(lane.utilisation, 1):.1%}">'
        f"</b></span>{lane.utilisation:.0%}</td>"
        f"<td class=num>{lane.mean_in_flight:.2f}</td></tr>"
        for lane in metrics.lanes
    )
    return (
        "<h2>Utilisation per lane</h2><table><thead><tr><th>lane</th><th>placement</th>"
        "<th>attempts</th><th>busy</th><th>utilisation</th><th>mean in flight</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
    )


def _stage_table(metrics: TraceMetrics, colours: dict[str, str]) -> str:
    rows = []
    for s in metrics.stages:
        rate = "–" if s.throughput_per_s is None else f"{s.throughput_per_s:,.1f}/s"
        swatch = f'<i style="background:{colours.get(s.name, "#999")}"></i>'
        if not s.attempts:
            rows.append(
                f"<tr class=idle><td>{swatch}{_text(s.name)}</td><td>{_text(s.placement)}</td>"
                f"<td colspan=10>{not_run_note(s.placement)}</td></tr>"
            )
            continue
        rows.append(
            f"<tr><td>{swatch}{_text(s.name)}</td><td>{_text(s.placement)}</td>"
            f"<td class=num>{s.completed}/{s.items}</td><td class=num>{rate}</td>"
            f"<td class=num>{_seconds(s.latency_p50_s)}</td>"
            f"<td class=num>{_seconds(s.latency_p95_s)}</td>"
            f"<td class=num>{_seconds(s.latency_p99_s)}</td>"
            f"<td class=num>{s.retries}</td><td class=num>{s.failures}</td>"
            f"<td class=num>{_seconds(s.queue_wait_p50_s)}</td>"
            f"<td class=num>{_seconds(s.queue_wait_p99_s)}</td>"
            f"<td class=num>{_seconds(s.queue_wait_total_s)}</td></tr>"
        )
    return (
        '<h2>Stages</h2><table class="stages"><thead><tr><th>stage</th><th>placement</th>'
        "<th>done</th><th>throughput</th><th>p50</th><th>p95</th><th>p99</th>"
        "<th>retries</th><th>failures</th><th>wait p50</th><th>wait p99</th>"
        f"<th>wait total</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
