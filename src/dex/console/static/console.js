// The console's only script: fetch a fragment and swap it into the page, lazy-load collapsed parts of the
// run tree, follow live progress over server-sent events, and preview a CSV before it is submitted.
// Pages work without it (links and forms are ordinary); it only saves reloads.
"use strict";

(function () {
  const csrfToken = () => document.querySelector('meta[name="csrf-token"]').content;

  async function fetchFragment(url, options) {
    const init = Object.assign({ credentials: "same-origin" }, options || {});
    init.headers = Object.assign({ "X-Partial": "1", "X-CSRF-Token": csrfToken() }, init.headers || {});
    const response = await fetch(url, init);
    if (response.redirected && response.url.includes("/console/login")) {
      window.location.assign(response.url);
      return null;
    }
    return response.text();
  }

  async function swapInto(selector, url, options) {
    const target = document.querySelector(selector);
    if (!target) return;
    target.setAttribute("aria-busy", "true");
    const html = await fetchFragment(url, options);
    if (html !== null) target.innerHTML = html;
    target.removeAttribute("aria-busy");
  }

  // Links that replace one part of the page (paging of fan-out children).
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-swap]");
    if (!link) return;
    event.preventDefault();
    swapInto(link.dataset.swap, link.href);
  });

  // Collapsed run-tree parts load on first opening (keyboard: Enter or Space on the summary).
  document.addEventListener(
    "toggle",
    (event) => {
      const details = event.target;
      if (!(details instanceof HTMLDetailsElement) || !details.open || !details.dataset.src) return;
      if (details.dataset.loaded) return;
      details.dataset.loaded = "1";
      swapInto(details.dataset.target, details.dataset.src);
    },
    true
  );

  function setFields(root, data) {
    for (const [key, value] of Object.entries(data)) {
      root.querySelectorAll(`[data-field="${key}"]`).forEach((el) => {
        if (key === "status") {
          el.innerHTML = "";
          const badge = document.createElement("span");
          badge.className = `badge status-${value}`;
          badge.textContent = value;
          el.appendChild(badge);
        } else {
          el.textContent = value;
        }
      });
    }
    if (data.total !== undefined || data.percent !== undefined) {
      const done = (data.completed || 0) + (data.failed || 0);
      const percent = data.percent !== undefined ? data.percent : data.total ? Math.round((100 * done) / data.total) : 0;
      root.querySelectorAll('progress[data-field="percent"]').forEach((el) => (el.value = percent));
      root.querySelectorAll('[data-field="percent-text"]').forEach((el) => (el.textContent = `${percent}%`));
    }
  }

  // The batch list: one stream for every unfinished batch shown.
  function followList(table) {
    const source = new EventSource(table.dataset.liveList);
    source.addEventListener("batch", (event) => {
      const data = JSON.parse(event.data);
      const row = document.getElementById(`batch-${data.id}`);
      if (row) setFields(row, data);
    });
    source.addEventListener("end", () => source.close());
  }

  // One batch: counts as they change, run statuses as they move, the whole body again once it ends.
  function followBatch(container) {
    const source = new EventSource(container.dataset.liveBatch);
    const body = () => document.getElementById("batch-body");
    const onCounts = (event) => setFields(body(), JSON.parse(event.data));
    source.addEventListener("snapshot", onCounts);
    source.addEventListener("summary", onCounts);
    source.addEventListener("run", (event) => {
      const data = JSON.parse(event.data);
      document.querySelectorAll(`[data-run-status="${data.pipeline_run_id}"]`).forEach((el) => {
        el.innerHTML = "";
        const badge = document.createElement("span");
        badge.className = `badge status-${data.status}`;
        badge.textContent = data.status;
        el.appendChild(badge);
      });
    });
    source.addEventListener("end", (event) => {
      source.close();
      setFields(body(), JSON.parse(event.data));
      swapInto("#batch-body", container.dataset.bodySrc).then(() => container.setAttribute("data-finished", "1"));
    });
  }

  // New batch: the chosen file is previewed (first rows, column mapping) before it is submitted.
  function previewOnChange(form) {
    const input = form.querySelector('input[type="file"]');
    input.addEventListener("change", () => {
      if (!input.files.length) return;
      const data = new FormData();
      data.append("file", input.files[0]);
      data.append("csrf_token", csrfToken());
      swapInto("#preview", form.dataset.preview, { method: "POST", body: data });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-live-list]").forEach(followList);
    document.querySelectorAll("[data-live-batch]").forEach(followBatch);
    document.querySelectorAll("form[data-preview]").forEach(previewOnChange);
  });
})();
