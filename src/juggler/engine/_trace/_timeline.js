// The timeline page's script, inlined into every page by _html.py.
// It reads the JSON block #timeline-data and draws on the canvas #timeline. It must never
// contain a URL or the characters that end a script element: the page is opened from disk
// and fetches nothing. window.juggler_timeline (lane boxes, spans drawn) lets a headless
// browser test check what was drawn.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("timeline-data").textContent);
  var canvas = document.getElementById("timeline");
  var tip = document.getElementById("tip");
  var ctx = canvas.getContext("2d");
  var GUTTER = 210, AXIS = 24, CAPTION = 18, GAP = 6, RIGHT = 12;
  var FAIL = "#d62728";
  var spans = data.spans, lanes = data.lanes, stages = data.stages;
  var view = { t0: 0, t1: Math.max(data.wall_ms, 0.001) };
  var show = { queue: true, path: true };
  var width = 800, height = 100, drawn = 0;

  var processes = lanes.filter(function (l) { return l.kind === "process"; }).length;
  var captions = {
    engine: "Engine: worker processes starting (cpu items wait for them)",
    loop: "Concurrency: one event loop, aio items interleave (one row per item in flight)",
    thread: "Threads: io items, one at a time per thread",
    process: "Parallelism: " + processes + " worker process(es), cpu items run at the same time"
  };
  var byLane = lanes.map(function () { return []; });
  spans.forEach(function (s, i) { byLane[s[0]].push(i); });

  var y = AXIS, seen = {};
  lanes.forEach(function (lane) {
    if (!seen[lane.kind]) { seen[lane.kind] = true; lane.caption = captions[lane.kind]; y += CAPTION; }
    // A lane grows with its peak concurrency: the event loop's rows are the point of the page.
    lane.h = lane.rows > 1 || lane.kind === "loop" ? Math.max(30, Math.min(7 * lane.rows, 200)) : 26;
    lane.y = y;
    lane.rowH = lane.h / Math.max(1, lane.rows);
    y += lane.h + GAP;
  });
  // Queue depth per stage (items queued but not started), a view of its own: on a busy lane
  // the thin wait bars hide under the bars that ran before them.
  var queues = [];
  stages.forEach(function (stage, k) {
    var steps = [];
    spans.forEach(function (s) {
      if (s[1] === k && s[4] !== null && s[4] < s[2]) { steps.push([s[4], 1], [s[2], -1]); }
    });
    if (!steps.length) { return; }
    steps.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
    var depth = 0, peak = 0, pts = [];
    steps.forEach(function (e) { depth += e[1]; pts.push([e[0], depth]); peak = Math.max(peak, depth); });
    queues.push({ stage: k, pts: pts, peak: peak });
  });
  if (queues.length) { y += CAPTION; }
  queues.forEach(function (q) { q.y = y; q.h = 30; y += q.h + GAP; });
  height = y + 4;

  function depthAt(q, t) {
    var lo = 0, hi = q.pts.length - 1, d = 0;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (q.pts[mid][0] <= t) { d = q.pts[mid][1]; lo = mid + 1; } else { hi = mid - 1; }
    }
    return d;
  }

  function drawQueues() {
    if (!queues.length) { return; }
    ctx.textBaseline = "middle";
    queues.forEach(function (q) {
      var stage = stages[q.stage], base = q.y + q.h, scale = (q.h - 2) / Math.max(1, q.peak);
      ctx.fillStyle = "#f6f8fa"; ctx.fillRect(0, q.y, width, q.h);
      ctx.fillStyle = "#1f2328"; ctx.font = "12px sans-serif";
      ctx.fillText(clip("waiting for " + stage[0], GUTTER - 16), 8, q.y + 9);
      ctx.fillStyle = "#656d76"; ctx.font = "11px sans-serif";
      ctx.fillText("peak " + q.peak + " item(s)", 8, q.y + 22);
      if (!show.queue) { return; }
      ctx.save();
      ctx.beginPath(); ctx.rect(GUTTER, q.y, width - GUTTER - RIGHT, q.h); ctx.clip();
      ctx.beginPath(); ctx.moveTo(xOf(q.pts[0][0]), base);
      var prev = 0;
      q.pts.forEach(function (p) {
        var x = xOf(p[0]);
        ctx.lineTo(x, base - prev * scale); ctx.lineTo(x, base - p[1] * scale); prev = p[1];
      });
      ctx.lineTo(xOf(q.pts[q.pts.length - 1][0]), base); ctx.closePath();
      ctx.globalAlpha = 0.45; ctx.fillStyle = stage[2]; ctx.fill(); ctx.globalAlpha = 1;
      ctx.restore();
    });
  }

  function xOf(t) { return GUTTER + (t - view.t0) / (view.t1 - view.t0) * (width - GUTTER - RIGHT); }
  function tOf(x) { return view.t0 + (x - GUTTER) / (width - GUTTER - RIGHT) * (view.t1 - view.t0); }
  function fmt(ms) {
    if (ms === null || ms === undefined) { return "-"; }
    if (Math.abs(ms) >= 1000) { return (ms / 1000).toFixed(3) + " s"; }
    if (Math.abs(ms) >= 1) { return ms.toFixed(2) + " ms"; }
    return (ms * 1000).toFixed(0) + " µs";
  }
  function niceStep(range, target) {
    var raw = range / target, pow = Math.pow(10, Math.floor(Math.log10(raw))), n = raw / pow;
    return (n < 1.5 ? 1 : n < 3.5 ? 2 : n < 7.5 ? 5 : 10) * pow;
  }
  function rowTop(lane, row) { return lane.y + (row % Math.max(1, lane.rows)) * lane.rowH; }

  function resize() {
    var dpr = window.devicePixelRatio || 1;
    width = Math.max(400, canvas.parentElement.clientWidth);
    canvas.width = Math.round(width * dpr); canvas.height = Math.round(height * dpr);
    canvas.style.width = width + "px"; canvas.style.height = height + "px";
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    draw();
  }

  function drawAxis() {
    var step = niceStep(view.t1 - view.t0, Math.max(2, (width - GUTTER) / 110));
    ctx.fillStyle = "#656d76"; ctx.strokeStyle = "#eaeef2"; ctx.font = "11px sans-serif";
    ctx.textBaseline = "middle"; ctx.textAlign = "center";
    for (var t = Math.ceil(view.t0 / step) * step; t <= view.t1; t += step) {
      var x = xOf(t);
      ctx.beginPath(); ctx.moveTo(x, AXIS - 4); ctx.lineTo(x, height); ctx.stroke();
      ctx.fillText(fmt(t), x, AXIS / 2);
    }
    ctx.textAlign = "left";
  }

  function drawLaneBackgrounds() {
    lanes.forEach(function (lane, i) {
      ctx.fillStyle = i % 2 ? "#f6f8fa" : "#fbfcfd";
      ctx.fillRect(0, lane.y, width, lane.h);
      ctx.fillStyle = "#1f2328"; ctx.font = "12px sans-serif";
      ctx.fillText(clip(lane.label, GUTTER - 16), 8, lane.y + Math.min(lane.h / 2, 10));
      ctx.fillStyle = "#656d76"; ctx.font = "11px sans-serif";
      var note = "busy " + Math.round(lane.util * 100) + "%";
      if (lane.kind === "loop") { note += ", " + lane.in_flight.toFixed(1) + " in flight on avg"; }
      if (lane.h >= 24) { ctx.fillText(note, 8, lane.y + Math.min(lane.h / 2, 10) + 13); }
    });
  }

  // Captions go last, on a white ground, so grid lines and bars never run through them.
  function drawCaptions() {
    ctx.font = "bold 12px sans-serif"; ctx.textBaseline = "middle";
    var items = lanes.filter(function (l) { return l.caption; }).map(function (l) {
      return [l.caption, l.y];
    });
    if (queues.length) { items.push(["Queues: items waiting in each stage's input", queues[0].y]); }
    items.forEach(function (item) {
      var w = ctx.measureText(item[0]).width;
      ctx.fillStyle = "#fff"; ctx.fillRect(0, item[1] - CAPTION, width, CAPTION);
      ctx.fillStyle = "#1f2328"; ctx.fillText(item[0], 8, item[1] - CAPTION / 2, w);
    });
    ctx.strokeStyle = "#d0d7de"; ctx.lineWidth = 1;
    lanes.concat(queues).forEach(function (l) {
      ctx.beginPath(); ctx.moveTo(GUTTER - 0.5, l.y); ctx.lineTo(GUTTER - 0.5, l.y + l.h); ctx.stroke();
    });
  }

  function clip(text, px) {
    if (ctx.measureText(text).width <= px) { return text; }
    var s = text;
    while (s.length > 1 && ctx.measureText(s + "…").width > px) { s = s.slice(0, -1); }
    return s + "…";
  }

  function drawSpans() {
    var x0 = GUTTER, x1 = width - RIGHT;
    drawn = 0;
    ctx.save();
    ctx.beginPath(); ctx.rect(x0, 0, x1 - x0, height); ctx.clip();
    spans.forEach(function (s) {
      var lane = lanes[s[0]], top = rowTop(lane, s[8]), h = Math.max(1, lane.rowH - (lane.rowH > 4 ? 1 : 0));
      if (show.queue && s[4] !== null && s[4] < s[2]) {
        var qa = xOf(s[4]), qb = xOf(s[2]);
        if (qb >= x0 && qa <= x1) {
          ctx.globalAlpha = 0.35; ctx.fillStyle = stages[s[1]][2];
          ctx.fillRect(qa, top + h / 2 - Math.min(2, h / 4), Math.max(1, qb - qa), Math.max(1, Math.min(4, h / 2)));
          ctx.globalAlpha = 1;
        }
      }
      var a = xOf(s[2]), b = xOf(s[3]);
      if (b < x0 || a > x1) { return; }
      var w = Math.max(1, b - a);
      ctx.fillStyle = stages[s[1]][2];
      ctx.fillRect(a, top, w, h);
      drawn += 1;
      if (s[7] !== 0) { ctx.strokeStyle = FAIL; ctx.lineWidth = 2; ctx.strokeRect(a + 1, top + 1, Math.max(1, w - 2), Math.max(1, h - 2)); }
      var left = Math.max(a, x0), room = Math.min(b, x1) - left;  // label the visible part
      if (room > 48 && h >= 12) {
        ctx.fillStyle = "#fff"; ctx.font = "11px sans-serif"; ctx.textBaseline = "middle";
        ctx.fillText(clip(stages[s[1]][0] + " " + s[5], room - 6), left + 3, top + h / 2);
      }
    });
    if (show.path && data.path.length) {
      ctx.strokeStyle = "#111"; ctx.lineWidth = 2;
      var prev = null;
      data.path.forEach(function (i) {
        var s = spans[i], lane = lanes[s[0]], top = rowTop(lane, s[8]);
        var h = Math.max(3, lane.rowH - 1), a = xOf(s[2]), w = Math.max(2, xOf(s[3]) - a);
        ctx.strokeRect(a, top, w, h);
        if (prev) {
          ctx.setLineDash([4, 3]); ctx.beginPath();
          ctx.moveTo(prev.x, prev.y); ctx.lineTo(a, top + h / 2); ctx.stroke(); ctx.setLineDash([]);
        }
        prev = { x: a + w, y: top + h / 2 };
      });
    }
    ctx.restore();
  }

  function draw() {
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, width, height);
    drawLaneBackgrounds();
    drawAxis();
    drawSpans();
    drawQueues();
    drawCaptions();
    window.juggler_timeline = {
      lanes: lanes.map(function (l) { return { label: l.label, kind: l.kind, y: l.y, h: l.h, rows: l.rows }; }),
      spansDrawn: drawn, gutter: GUTTER, width: width, height: height,
      colours: stages.map(function (s) { return s[2]; }),
      queues: queues.map(function (q) {
        return { stage: stages[q.stage][0], y: q.y, h: q.h, peak: q.peak };
      })
    };
  }

  function queueAt(my) {
    for (var i = 0; i < queues.length; i++) {
      if (my >= queues[i].y && my < queues[i].y + queues[i].h) { return queues[i]; }
    }
    return null;
  }

  function hit(mx, my) {
    var lane = null, li = -1;
    lanes.forEach(function (l, i) { if (my >= l.y && my < l.y + l.h) { lane = l; li = i; } });
    if (!lane || mx < GUTTER) { return -1; }
    var row = Math.floor((my - lane.y) / lane.rowH), t = tOf(mx);
    var tol = 3 * (view.t1 - view.t0) / (width - GUTTER), best = -1, dist = Infinity;
    byLane[li].forEach(function (i) {
      var s = spans[i];
      if (lane.rows > 1 && s[8] !== row) { return; }
      var d = t < s[2] ? s[2] - t : t > s[3] ? t - s[3] : 0;
      if (d <= tol && d < dist) { best = i; dist = d; }
    });
    return best;
  }

  function showTip(i, mx, my) {
    if (i < 0) { tip.hidden = true; return; }
    var s = spans[i], stage = stages[s[1]];
    var lines = stage[1] === "engine" ? [
      stage[0] + " (the engine's own work)",
      "cpu items could not start before it ended",
      "start " + fmt(s[2]) + ", took " + fmt(s[3] - s[2])
    ] : [
      stage[0] + " (" + stage[1] + ")",
      "item " + s[5] + ", attempt " + s[6] + ": " + data.outcomes[s[7]],
      "lane: " + lanes[s[0]].label,
      "start " + fmt(s[2]) + ", took " + fmt(s[3] - s[2]),
      "queue wait: " + (s[4] === null ? "unknown" : fmt(s[2] - s[4]))
    ];
    if (s[9]) { lines.push("on the critical path"); }
    tip.textContent = lines.join("\n");
    tip.hidden = false;
    var left = Math.min(mx + 14, width - tip.offsetWidth - 4);
    tip.style.left = Math.max(0, left) + "px"; tip.style.top = (my + 14) + "px";
  }

  function zoom(factor, atX) {
    var t = tOf(atX), span = (view.t1 - view.t0) * factor;
    span = Math.max(span, 0.001);
    var frac = (atX - GUTTER) / (width - GUTTER - RIGHT);
    view.t0 = t - frac * span; view.t1 = view.t0 + span;
    draw();
  }

  var drag = null;
  canvas.addEventListener("wheel", function (e) {
    e.preventDefault();
    var r = canvas.getBoundingClientRect();
    zoom(Math.exp(e.deltaY * 0.002), Math.max(GUTTER, e.clientX - r.left));
  }, { passive: false });
  canvas.addEventListener("mousedown", function (e) {
    drag = { x: e.clientX, t0: view.t0, t1: view.t1 }; canvas.classList.add("dragging");
  });
  window.addEventListener("mouseup", function () { drag = null; canvas.classList.remove("dragging"); });
  canvas.addEventListener("mousemove", function (e) {
    var r = canvas.getBoundingClientRect(), mx = e.clientX - r.left, my = e.clientY - r.top;
    if (drag) {
      var dt = (e.clientX - drag.x) / (width - GUTTER - RIGHT) * (drag.t1 - drag.t0);
      view.t0 = drag.t0 - dt; view.t1 = drag.t1 - dt; draw(); tip.hidden = true; return;
    }
    var q = queueAt(my);
    if (q && mx >= GUTTER) {
      var t = tOf(mx);
      tip.textContent = depthAt(q, t) + " item(s) waiting for " + stages[q.stage][0] + " at " + fmt(t);
      tip.hidden = false; tip.style.left = (mx + 14) + "px"; tip.style.top = (my + 14) + "px";
      return;
    }
    showTip(hit(mx, my), mx, my);
  });
  canvas.addEventListener("mouseleave", function () { tip.hidden = true; });
  canvas.addEventListener("dblclick", function () { view.t0 = 0; view.t1 = Math.max(data.wall_ms, 0.001); draw(); });
  document.getElementById("zoom-in").addEventListener("click", function () { zoom(0.5, (GUTTER + width) / 2); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoom(2, (GUTTER + width) / 2); });
  document.getElementById("zoom-reset").addEventListener("click", function () {
    view.t0 = 0; view.t1 = Math.max(data.wall_ms, 0.001); draw();
  });
  document.getElementById("show-queue").addEventListener("change", function (e) { show.queue = e.target.checked; draw(); });
  document.getElementById("show-path").addEventListener("change", function (e) { show.path = e.target.checked; draw(); });
  window.addEventListener("resize", resize);
  resize();
})();
