// juggler serve: the pages' only script (the CSP allows no inline code).
// Drag and drop onto the upload boxes, live progress of a run, local times.
"use strict";

function setupDrops() {
  for (const zone of document.querySelectorAll("[data-drop]")) {
    const input = zone.querySelector("input[type=file]");
    const chosen = zone.querySelector("[data-chosen]");
    const show = () => {
      chosen.textContent = Array.from(input.files).map((f) => f.name).join(", ");
    };
    input.addEventListener("change", show);
    zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      if (e.dataTransfer && e.dataTransfer.files.length) {
        input.files = e.dataTransfer.files;
        show();
      }
    });
  }
}

function watchRun() {
  const header = document.querySelector("[data-run]");
  if (!header) return;
  const state = header.dataset.state;
  if (state !== "queued" && state !== "running") return;
  const status = header.querySelector("[data-status]");
  const live = header.querySelector("[data-live]");
  const badge = header.querySelector("[data-state-badge]");
  const source = new EventSource("/api/v1/runs/" + header.dataset.run + "/events");
  const on = (name, handler) => source.addEventListener(name, (e) => handler(JSON.parse(e.data)));
  on("state", (ev) => {
    badge.textContent = ev.state;
    badge.className = "state " + ev.state;
    status.textContent = ev.state === "running" ? "Reading and scanning the log…" : "Waiting for a slot…";
  });
  on("progress", (ev) => {
    status.textContent = "Running for " + ev.elapsed.toFixed(1) + " s";
  });
  on("finding", (ev) => {
    const item = document.createElement("li");
    item.textContent = ev.title + " (" + ev.path + ":" + ev.line + ")";
    live.appendChild(item);
  });
  on("done", (ev) => {
    source.close();
    badge.textContent = ev.state;
    status.textContent = "Finished: " + ev.state;
    window.location.reload();
  });
}

function localTimes() {
  for (const el of document.querySelectorAll("[data-time]")) {
    const seconds = Number(el.dataset.time);
    if (seconds > 0) el.textContent = new Date(seconds * 1000).toLocaleString();
  }
}

function autoSubmit() {
  for (const el of document.querySelectorAll("[data-autosubmit]")) {
    el.addEventListener("change", () => el.form.submit());
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setupDrops();
  watchRun();
  localTimes();
  autoSubmit();
});
