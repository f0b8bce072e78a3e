// runyard UI: the compare page. Metrics overlaid (one trace per run, the charts' downsampling),
// a parallel-coordinates plot of properties/tags against a metric, and each run's metrics.
// The diff table is rendered by the server. User text only via textContent / Plotly labels.
"use strict";

(() => {
  const data = runyard.pageData("compare-data");
  if (!data || !data.runs.length) return;
  const charts = window.runyardCharts;
  const { el } = runyard;
  const runs = data.runs;

  for (const swatch of document.querySelectorAll(".swatch[data-index]")) {
    swatch.style.background = charts.color(Number(swatch.dataset.index));
  }

  // -- metrics overlaid ----------------------------------------------------------------------
  const numericNames = [...new Set(runs.flatMap((r) =>
    Object.values(r.metrics).filter((m) => m.numeric).map((m) => m.name)))].sort();
  const picker = document.getElementById("overlay-metrics");
  const overlay = document.getElementById("overlay-charts");
  const firstPick = numericNames.find((n) => /loss/i.test(n)) || numericNames[0];
  for (const name of numericNames) picker.append(el("option", { value: name, selected: name === firstPick, text: name }));

  function drawOverlay() {
    overlay.replaceChildren();
    const chosen = [...picker.selectedOptions].map((o) => o.value);
    if (!chosen.length) {
      overlay.append(el("p", { class: "empty", text: numericNames.length ? "Pick one or more metrics." : "These runs have no numeric metrics." }));
      return;
    }
    for (const name of chosen) {
      const box = el("div", { class: "overlay-chart", "data-metric": name });
      overlay.append(box);
      const withIt = runs.map((r, i) => ({ runId: r.run_id, label: r.name, index: i }))
        .filter((r) => r.runId && runs[r.index].metrics[name]);
      charts.lineChart(box, { workspace: data.workspace, metric: name, runs: withIt.map(({ runId, label }) => ({ runId, label })),
        colors: withIt.map((r) => r.index) });
    }
  }
  picker.addEventListener("change", drawOverlay);
  drawOverlay();

  // -- parallel coordinates ------------------------------------------------------------------
  const dimSelect = document.getElementById("parcoords-dimensions");
  const metricSelect = document.getElementById("parcoords-metric");
  const summarySelect = document.getElementById("parcoords-summary");
  const parcoords = document.getElementById("parcoords");
  const empty = document.getElementById("parcoords-empty");

  const fields = [];
  for (const [kind, label] of [["properties", "property"], ["tags", "tag"]]) {
    const keys = [...new Set(runs.flatMap((r) => Object.keys(r[kind])))].sort();
    for (const key of keys) {
      const values = runs.map((r) => r[kind][key]);
      const varies = new Set(values.map((v) => (v === undefined ? "\u0000" : String(v)))).size > 1;
      fields.push({ id: `${kind}:${key}`, kind, key, label: `${label}: ${key}`, values, varies });
    }
  }
  const preselected = new Set(fields.filter((f) => f.varies).slice(0, 6).map((f) => f.id));
  for (const f of fields) dimSelect.append(el("option", { value: f.id, selected: preselected.has(f.id), text: f.label }));
  metricSelect.append(el("option", { value: "", text: "(none)" }));
  for (const name of numericNames) metricSelect.append(el("option", { value: name, selected: name === firstPick, text: name }));

  const asNumber = (v) => (v === undefined || v === null || v === "" ? NaN : Number(v));

  /** a parcoords dimension: numbers stay numbers; anything else is numbered, with tick labels. */
  function dimension(label, values) {
    const present = values.filter((v) => v !== undefined && v !== null);
    const numeric = present.length === values.length && present.every((v) => Number.isFinite(asNumber(v)));
    if (numeric) return { label, values: values.map(asNumber) };
    const texts = values.map((v) => (v === undefined || v === null ? "(none)" : String(v)));
    const categories = [...new Set(texts)].sort();
    return { label, values: texts.map((t) => categories.indexOf(t)), tickvals: categories.map((_, i) => i),
      ticktext: categories, range: [0, Math.max(1, categories.length - 1)] };
  }

  function drawParcoords() {
    const chosen = new Set([...dimSelect.selectedOptions].map((o) => o.value));
    const dims = fields.filter((f) => chosen.has(f.id)).map((f) => dimension(f.label, f.values));
    empty.hidden = dims.length > 0;
    parcoords.hidden = !dims.length;
    if (!dims.length) { Plotly.purge(parcoords); return; }
    const metric = metricSelect.value;
    const summary = summarySelect.value;
    const line = {};
    if (metric) {
      const raw = runs.map((r) => (r.metrics[metric] ? r.metrics[metric][summary] : null));
      const colours = raw.map((v) => (typeof v === "number" && Number.isFinite(v) ? v : NaN));
      const known = colours.filter((v) => !Number.isNaN(v));
      if (known.length) {
        const fill = Math.min(...known);
        dims.push({ label: `${metric} (${summary})`, values: colours.map((v) => (Number.isNaN(v) ? fill : v)) });
        Object.assign(line, { color: colours.map((v) => (Number.isNaN(v) ? fill : v)), colorscale: "Viridis",
          showscale: true, colorbar: { title: { text: `${metric} (${summary})` } } });
      }
    }
    Plotly.react(parcoords, [{ type: "parcoords", line, dimensions: dims }],
      { margin: { l: 80, r: 80, t: 50, b: 30 }, height: 380 }, { displaylogo: false, responsive: true });
    parcoords.dataset.state = "ready";
  }
  for (const control of [dimSelect, metricSelect, summarySelect]) control.addEventListener("change", drawParcoords);
  if (window.Plotly) drawParcoords();

  // -- each run's metrics (mounted when opened) ----------------------------------------------
  for (const box of document.querySelectorAll("details.run-metrics-box")) {
    const root = box.querySelector(".run-metrics");
    const mount = () => {
      if (root.dataset.mounted) return;
      root.dataset.mounted = "1";
      charts.mountRunMetrics(root, root.dataset.workspace, root.dataset.run);
    };
    if (box.open) mount();
    box.addEventListener("toggle", () => { if (box.open) mount(); });
  }
})();
