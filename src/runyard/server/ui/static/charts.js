// runyard UI: metric charts (Plotly, SVG "scatter" traces) and a run's metrics section.
// window.runyardCharts = { mountRunMetrics(element, workspace, runId), lineChart(element, options), color(i) }
// The server downsamples (first/last/min/max per x bucket); zooming re-queries the window,
// which comes back at full resolution once it is small enough. User text only via textContent.
"use strict";

window.runyardCharts = (() => {
  const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"];
  const color = (i) => PALETTE[i % PALETTE.length];
  const AXES = [["step", "Step"], ["relative", "Relative time (s)"], ["wall", "Wall time"]];
  const enc = encodeURIComponent;
  const el = (...args) => runyard.el(...args);

  function rgba(hex, alpha) {
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
  }

  /** exponential moving average, debiased (as TensorBoard's smoothing slider). */
  function ema(values, weight) {
    let last = 0, norm = 0;
    return values.map((v) => {
      last = last * weight + (1 - weight) * v;
      norm = norm * weight + (1 - weight);
      return last / norm;
    });
  }

  // x as Plotly wants it: wall time as milliseconds on a date axis, the rest as numbers.
  const toPlot = (axis, xs) => (axis === "wall" ? xs.map((v) => v * 1000) : xs);
  function fromPlot(axis, v) {
    if (axis !== "wall") return Number(v);
    if (typeof v === "number") return v / 1000;
    return Date.parse(String(v).replace(" ", "T") + "Z") / 1000;  // Plotly's dates are UTC
  }

  /**
   * A line chart of one metric for one or more runs, with its own controls.
   * options: {workspace, metric, runs: [{runId, label}], axis, logY, smoothing, title,
   *   colors: palette index of each run}
   * Returns {element, reload()}.
   */
  function lineChart(element, options) {
    const state = {
      workspace: options.workspace, metric: options.metric, runs: options.runs,
      axis: options.axis || "step", logY: !!options.logY, smoothing: options.smoothing || 0,
      window: null, answers: [], seq: 0, started: null,
    };
    const title = options.title || state.metric;
    const plot = el("div", { class: "plot", "data-metric": state.metric, "data-state": "loading" });
    const status = el("span", { class: "chart-status muted", "aria-live": "polite" });
    const axisSelect = el("select", { "aria-label": "X axis" },
      AXES.map(([value, text]) => el("option", { value, selected: value === state.axis }, text)));
    const logBox = el("input", { type: "checkbox", checked: state.logY });
    const smooth = el("input", { type: "range", min: "0", max: "0.99", step: "0.01", value: String(state.smoothing) });
    const smoothOut = el("output", { text: String(state.smoothing) });
    const figure = el("figure", { class: "metric-chart", role: "group", "aria-label": title },
      el("figcaption", { text: title }),
      el("div", { class: "chart-controls" },
        el("label", {}, "X axis ", axisSelect),
        el("label", {}, logBox, " Log scale"),
        el("label", {}, "Smoothing ", smooth, smoothOut),
        status),
      plot);
    element.replaceChildren(figure);

    let timer = null;
    axisSelect.addEventListener("change", () => { state.axis = axisSelect.value; state.window = null; load(); });
    logBox.addEventListener("change", () => { state.logY = logBox.checked; draw(); });
    smooth.addEventListener("input", () => { state.smoothing = Number(smooth.value); smoothOut.textContent = smooth.value; draw(); });

    function url() {
      const params = new URLSearchParams({ x: state.axis, buckets: String(bucketsFor()) });
      if (state.window) { params.set("start", String(state.window[0])); params.set("end", String(state.window[1])); }
      const base = `/ui/api/w/${enc(state.workspace)}`;
      if (state.runs.length === 1) return `${base}/runs/${enc(state.runs[0].runId)}/metrics/${enc(state.metric)}?${params}`;
      params.set("name", state.metric);
      for (const r of state.runs) params.append("run", r.runId);
      return `${base}/metric-series?${params}`;
    }
    // About one bucket per pixel column: the drawing never needs more.
    const bucketsFor = () => Math.max(100, Math.min(2000, Math.round(plot.clientWidth || 800)));

    async function load() {
      const seq = ++state.seq;
      state.started = performance.now();
      plot.dataset.state = "loading";
      try {
        const data = await runyard.api(url());
        if (seq !== state.seq) return;  // a newer request is on its way
        state.answers = data.series ? data.series : [data];
        draw();
      } catch (error) {
        if (seq !== state.seq) return;
        status.textContent = "";
        plot.replaceChildren(el("p", { class: "error", role: "alert", text: error.message }));
        plot.dataset.state = "error";
      }
    }

    function traces() {
      const out = [];
      const byRun = new Map(state.answers.map((a) => [a.run_id, a]));
      state.runs.forEach((run, i) => {
        const answer = byRun.get(run.runId);
        if (!answer) return;
        const c = color(options.colors ? options.colors[i] : i);
        const label = run.label || run.runId;
        if (answer.band) {
          const bx = toPlot(state.axis, answer.band.x);
          out.push({ type: "scatter", mode: "lines", x: bx, y: answer.band.min, line: { width: 0, color: c },
            hoverinfo: "skip", showlegend: false, meta: { role: "band-min", run: run.runId } });
          out.push({ type: "scatter", mode: "lines", x: bx, y: answer.band.max, line: { width: 0, color: c },
            fill: "tonexty", fillcolor: rgba(c, 0.2), hoverinfo: "skip", showlegend: false,
            meta: { role: "band-max", run: run.runId } });
        }
        const x = toPlot(state.axis, answer.x);
        const smoothing = state.smoothing > 0;
        out.push({ type: "scatter", mode: answer.returned === 1 ? "markers" : "lines", x, y: answer.y, name: label,
          line: { color: c, width: 1.5 }, opacity: smoothing ? 0.3 : 1, showlegend: !smoothing && state.runs.length > 1,
          meta: { role: "line", run: run.runId } });
        if (smoothing) {
          out.push({ type: "scatter", mode: "lines", x, y: ema(answer.y, state.smoothing), name: label,
            line: { color: c, width: 2 }, showlegend: state.runs.length > 1, meta: { role: "smooth", run: run.runId } });
        }
      });
      return out;
    }

    function layout() {
      const xaxis = { title: { text: AXES.find(([v]) => v === state.axis)[1] }, type: state.axis === "wall" ? "date" : "linear" };
      if (state.window) { xaxis.range = toPlot(state.axis, state.window); xaxis.autorange = false; }
      else xaxis.autorange = true;
      return {
        margin: { l: 55, r: 15, t: 10, b: 45 }, height: 280, showlegend: state.runs.length > 1,
        legend: { orientation: "h", y: -0.25 }, hovermode: "closest", xaxis,
        yaxis: { type: state.logY ? "log" : "linear", autorange: true },
      };
    }

    function draw() {
      if (!window.Plotly) { status.textContent = "Plotly did not load."; return; }
      const total = state.answers.reduce((n, a) => n + a.total, 0);
      const returned = state.answers.reduce((n, a) => n + a.returned, 0);
      const downsampled = state.answers.some((a) => a.downsampled);
      if (plot.firstChild && plot.firstChild.classList && plot.firstChild.classList.contains("error")) plot.replaceChildren();
      Plotly.react(plot, traces(), layout(), { responsive: true, displaylogo: false, doubleClick: "reset" });
      status.textContent = total === 0 ? "no numeric points" + (state.window ? " in this window" : "") :
        downsampled ? `${total.toLocaleString()} points, drawn from ${returned.toLocaleString()} (min/max per bucket)` :
        `all ${total.toLocaleString()} points`;
      plot.dataset.downsampled = String(downsampled);
      plot.dataset.total = String(total);
      plot.dataset.window = state.window ? state.window.join(",") : "";
      plot.dataset.state = "ready";
      if (state.started !== null) { plot.dataset.drawMs = String(Math.round(performance.now() - state.started)); state.started = null; }
      if (!plot.dataset.listening) {
        plot.dataset.listening = "1";
        plot.on("plotly_relayout", onRelayout);
      }
    }

    function onRelayout(event) {
      let range = null;
      if (event["xaxis.autorange"]) range = "reset";
      else if (event["xaxis.range[0]"] !== undefined) range = [event["xaxis.range[0]"], event["xaxis.range[1]"]];
      else if (Array.isArray(event["xaxis.range"])) range = event["xaxis.range"];
      if (!range) return;  // log scale, legend, sizing: nothing to fetch
      clearTimeout(timer);
      plot.dataset.state = "loading";
      timer = setTimeout(() => {
        if (range === "reset") state.window = null;
        else {
          const a = fromPlot(state.axis, range[0]), b = fromPlot(state.axis, range[1]);
          state.window = [Math.min(a, b), Math.max(a, b)];
        }
        load();
      }, 250);
    }

    load();
    return { element: figure, plot, reload: load, state };
  }

  // -- a run's metrics section ---------------------------------------------------------------

  // The first EAGER items of a section draw at once; the rest when scrolled near (a run with
  // hundreds of metrics must not fetch them all up front).
  const EAGER = 12;
  function lazy(node, render, index) {
    if (index < EAGER || !("IntersectionObserver" in window)) { render(); return; }
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) { observer.disconnect(); render(); }
    }, { rootMargin: "300px" });
    observer.observe(node);
  }

  function summaryTable(metrics) {
    return el("table", { class: "grid metric-list" },
      el("caption", { class: "muted", text: `${metrics.length} metric${metrics.length === 1 ? "" : "s"}` }),
      el("thead", {}, el("tr", {}, ["Metric", "Kind", "Points", "Last", "Min", "Max"].map((h) =>
        el("th", { scope: "col", class: ["Points", "Last", "Min", "Max"].includes(h) ? "num" : null, text: h })))),
      el("tbody", {}, metrics.map((m) => el("tr", { "data-metric": m.name },
        el("th", { scope: "row", text: m.name }),
        el("td", { text: m.kind === "vector" ? m.value_type : m.kind }),
        el("td", { class: "num", text: String(m.count) }),
        el("td", { class: "num", text: m.kind === "vector" ? runyard.formatValue(m.last) : "" }),
        el("td", { class: "num", text: runyard.formatValue(m.min) }),
        el("td", { class: "num", text: runyard.formatValue(m.max) })))));
  }

  async function valuesOf(workspace, runId, name) {
    return runyard.api(`/ui/api/w/${enc(workspace)}/runs/${enc(runId)}/metric-values?name=${enc(name)}`);
  }

  function tableView(box, data) {
    const columns = data.columns;
    box.append(el("div", { class: "scroll-x" }, el("table", { class: "grid metric-table" },
      el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col", text: c })))),
      el("tbody", {}, data.rows.map((row) => el("tr", {},
        columns.map((c) => el("td", { text: runyard.formatValue(row[c]) }))))))));
  }

  function stringView(box, data) {
    box.append(el("ol", { class: "metric-strings", start: String(data.first + 1) },
      data.values.map((v, i) => el("li", {},
        data.steps[i] !== null ? el("span", { class: "muted", text: `step ${data.steps[i]}: ` }) : null,
        el("span", { text: runyard.formatValue(v) })))));
  }

  function imageView(box, data, workspace, runId) {
    const images = data.images.map((path, i) => ({ path, step: data.steps[i], time: data.times[i] }))
      .filter((im) => im.path !== null);
    if (!images.length) { box.append(el("p", { class: "empty", text: "no image of this run" })); return; }
    const img = el("img", { class: "metric-image", alt: data.name });
    const caption = el("span", { class: "muted" });
    const show = (i) => {
      const im = images[i];
      img.src = `/ui/api/w/${enc(workspace)}/runs/${enc(runId)}/metric-image?path=${enc(im.path)}`;
      caption.textContent = `${im.step !== null ? `step ${im.step}` : `image ${i + 1} of ${images.length}`} · ${im.path}`;
    };
    if (images.length > 1) {
      const slider = el("input", { type: "range", min: "0", max: String(images.length - 1), value: String(images.length - 1), step: "1" });
      slider.addEventListener("input", () => show(Number(slider.value)));
      box.append(el("label", { class: "image-step" }, "Image step ", slider));
    }
    box.append(el("div", {}, caption), img);
    show(images.length - 1);
  }

  function jsonView(box, data) {
    box.append(data.json === null ? el("p", { class: "empty", text: "the artifact is missing or too large to show" })
      : el("pre", { class: "metric-json", text: data.json }));
  }

  /** the metrics of a run: a summary table, a chart per numeric series, tables, images, strings. */
  async function mountRunMetrics(element, workspace, runId) {
    element.replaceChildren(el("p", { class: "muted", text: "Loading metrics…" }));
    let metrics;
    try {
      metrics = (await runyard.api(`/ui/api/w/${enc(workspace)}/runs/${enc(runId)}/metrics`)).metrics;
    } catch (error) {
      element.replaceChildren(el("p", { class: "error", role: "alert", text: error.message }));
      return;
    }
    if (!metrics.length) { element.replaceChildren(el("p", { class: "empty", text: "This run has no metrics." })); return; }
    const filter = el("input", { type: "search", placeholder: "name contains…" });
    const items = [];
    const grid = el("div", { class: "chart-grid" });
    element.replaceChildren(summaryTable(metrics), el("label", { class: "metric-filter" }, "Filter metrics ", filter), grid);
    metrics.forEach((m, index) => {
      const box = el("div", { class: "metric-item", "data-metric": m.name });
      items.push([m.name.toLowerCase(), box]);
      grid.append(box);
      if (m.numeric) {
        lazy(box, () => lineChart(box, { workspace, metric: m.name, runs: [{ runId, label: m.name }] }), index);
        return;
      }
      box.append(el("h3", { class: "metric-name", text: m.name }));
      const body = el("div", { role: "group", "aria-label": m.name });
      box.append(body);
      lazy(box, async () => {
        try {
          const data = await valuesOf(workspace, runId, m.name);
          if (data.kind === "table") tableView(body, data);
          else if (data.kind === "image") imageView(body, data, workspace, runId);
          else if (data.json !== undefined) jsonView(body, data);
          else stringView(body, data);
          if (data.first > 0) body.append(el("p", { class: "muted", text: `the last ${data.rows ? data.rows.length : (data.values || data.images || []).length} of ${data.total} points` }));
        } catch (error) {
          body.append(el("p", { class: "error", role: "alert", text: error.message }));
        }
      }, index);
    });
    filter.addEventListener("input", () => {
      const q = filter.value.trim().toLowerCase();
      for (const [name, box] of items) box.hidden = q !== "" && !name.includes(q);
    });
  }

  return { mountRunMetrics, lineChart, color, ema };
})();
