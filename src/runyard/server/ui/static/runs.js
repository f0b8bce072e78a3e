// runyard UI: the runs table of an experiment. Rows come a page at a time from the UI API
// (sorted, filtered and keyset-paged by the store); the view (columns, filter, sort, status,
// deleted runs shown or not, page size) lives in the address so a reload or a shared link shows
// the same table.
"use strict";

(() => {
  const { api, el, formatTime, formatDuration, formatValue, statusBadge } = runyard;
  const data = runyard.pageData("runs-data");
  const $ = (id) => document.getElementById(id);
  const ACTIVE = new Set(["Running", "Starting", "Preparing", "Provisioning", "Finalizing",
    "CancelRequested", "NotResponding", "Pausing", "Paused"]);

  // -- the view, kept in the address ------------------------------------------------------------
  const params = new URLSearchParams(location.search);
  const state = {
    filter: params.get("filter") || "",
    status: params.get("status") || "",
    // active: deleted runs left out (as everywhere); deleted: only them; all: both.
    lifecycle: data.lifecycles.includes(params.get("lifecycle")) ? params.get("lifecycle") : "active",
    size: data.pageSizes.includes(Number(params.get("size"))) ? Number(params.get("size")) : 100,
    sort: params.get("sort") || "",
    columns: params.has("col") ? params.getAll("col").filter(Boolean) : null, // null: defaults
    tokens: [],   // tokens of the pages before this one (Previous pops)
    token: null,  // this page's token (null: the first page)
    next: null,
    selected: new Set(),
    keys: { metrics: [], tags: [], properties: [] },
    pageMetrics: [],
    loading: 0,
  };

  function saveView() {
    const query = new URLSearchParams();
    if (state.filter) query.set("filter", state.filter);
    if (state.status) query.set("status", state.status);
    if (state.lifecycle !== "active") query.set("lifecycle", state.lifecycle);
    if (state.size !== 100) query.set("size", String(state.size));
    if (state.sort) query.set("sort", state.sort);
    if (state.columns !== null) {
      if (state.columns.length) for (const c of state.columns) query.append("col", c);
      else query.set("col", "");
    }
    const text = query.toString();
    history.replaceState(null, "", location.pathname + (text ? `?${text}` : ""));
  }

  // -- columns -------------------------------------------------------------------------------
  /** "metrics.loss.min" -> {kind, name, agg} (as the server and the query grammar read it). */
  function parseColumn(column) {
    const dot = column.indexOf(".");
    const kind = column.slice(0, dot);
    const rest = column.slice(dot + 1);
    if (kind === "metrics") {
      const last = rest.lastIndexOf(".");
      const agg = last > 0 ? rest.slice(last + 1) : "";
      if (["last", "min", "max"].includes(agg)) return { kind, name: rest.slice(0, last), agg };
      return { kind, name: rest, agg: "last" };
    }
    return { kind, name: rest, agg: "" };
  }
  const validColumn = (c) => /^(metrics|tags|properties)\../.test(c);
  // As the grammar reads a quoted name: a backslash or a backtick inside is doubled.
  const quoteName = (name) => "`" + name.replaceAll("\\", "\\\\").replaceAll("`", "``") + "`";
  /** the sort key (or filter field) of a column, its name quoted for the grammar. */
  function columnField(column) {
    const { kind, name, agg } = parseColumn(column);
    return `${kind}.${quoteName(name)}${agg && agg !== "last" ? `.${agg}` : ""}`;
  }
  const chosenColumns = () => state.columns !== null ? state.columns
    : state.keys.metrics.slice(0, 8).map((m) => `metrics.${m}`);

  const FIXED = [
    { label: "Status", sort: "status" },
    { label: "Run", sort: "display_name" },
    { label: "Started", sort: "start_time" },
    { label: "Duration", sort: "duration", num: true },
    { label: "Tags" },
    { label: "Properties" },
  ];

  function sortState(key) {
    if (!state.sort) return "none";
    const [field, dir] = splitSort(state.sort);
    if (field !== key) return "none";
    return dir === "DESC" ? "descending" : "ascending";
  }
  function splitSort(sort) {
    const match = /^(.*?)(?:\s+(ASC|DESC))?$/i.exec(sort.trim());
    return [match[1], (match[2] || "ASC").toUpperCase()];
  }
  function toggleSort(key) {
    const now = sortState(key);
    state.sort = now === "ascending" ? `${key} DESC` : `${key} ASC`;
    firstPage();
  }

  function renderHead() {
    const head = $("runs-head");
    head.replaceChildren();
    const all = el("input", { type: "checkbox", id: "runs-select-all", "aria-label": "Select all runs on this page",
      onchange: (e) => {
        for (const box of document.querySelectorAll("#runs-body input.select")) {
          box.checked = e.target.checked;
          toggleSelected(box.dataset.runId, box.checked);
        }
      } });
    head.append(el("th", { scope: "col", class: "select-col" }, all));
    const header = (label, sort, num) => {
      const th = el("th", { scope: "col", class: num ? "num" : null });
      if (!sort) { th.textContent = label; return th; }
      const how = sortState(sort);
      th.setAttribute("aria-sort", how);
      const arrow = how === "ascending" ? " ▲" : how === "descending" ? " ▼" : "";
      th.append(el("button", { type: "button", class: "sort", "data-sort": sort,
        title: `Sort by ${label}`, onclick: () => toggleSort(sort) }, label, el("span", { "aria-hidden": "true", text: arrow })));
      return th;
    };
    for (const f of FIXED) head.append(header(f.label, f.sort, f.num));
    for (const c of chosenColumns()) {
      const { kind } = parseColumn(c);
      head.append(header(c, columnField(c), kind === "metrics"));
    }
  }

  // -- rows ------------------------------------------------------------------------------------
  function tagFilter(key, value) {
    const field = `tags.${quoteName(key)}`;
    if (value === null) return `${field} IS NOT NULL`;
    return `${field} = '${String(value).replaceAll("'", "''")}'`;
  }
  function addToFilter(clause) {
    const now = state.filter.trim();
    state.filter = now ? (/\bor\b/i.test(now) ? `(${now}) and ${clause}` : `${now} and ${clause}`) : clause;
    $("runs-filter").value = state.filter;
    firstPage();
  }

  function runLink(run) {
    return `${data.ui}/w/${encodeURIComponent(data.workspace)}/r/${encodeURIComponent(run.run_id)}`;
  }

  function runRow(run, depth, ancestors) {
    const name = run.display_name || `Run ${run.number}`;
    const box = el("input", { type: "checkbox", class: "select", "data-run-id": run.run_id,
      "aria-label": `Select ${name}`, checked: state.selected.has(run.run_id),
      onchange: (e) => toggleSelected(run.run_id, e.target.checked) });
    const nameCell = el("td", { class: `run-cell depth-${Math.min(depth, 6)}` });
    if (run.children > 0) {
      nameCell.append(el("button", { type: "button", class: "disclosure", "aria-expanded": "false",
        "aria-label": `Show ${run.children} child runs of ${name}`,
        onclick: (e) => toggleChildren(e.currentTarget, run, depth, ancestors) }, "▸"));
    } else if (depth > 0 || run.parent_run_id) {
      nameCell.append(el("span", { class: "disclosure-space", "aria-hidden": "true" }));
    }
    nameCell.append(el("a", { href: runLink(run), class: "run-name", tabindex: "-1" }, name),
      el("code", { class: "run-id" }, run.run_id));
    const running = ACTIVE.has(run.status) && run.start_time && !run.end_time;
    const duration = run.duration !== null ? formatDuration(run.duration)
      : running ? `${formatDuration(Date.now() / 1000 - run.start_time)} (running)` : "";
    const started = run.start_time || null;
    const tags = el("td", { class: "chips" }, Object.entries(run.tags).map(([k, v]) =>
      el("button", { type: "button", class: "chip", title: `Add ${tagFilter(k, v)} to the filter`,
        onclick: () => addToFilter(tagFilter(k, v)) }, v === null ? k : `${k}: ${v}`)));
    const props = el("td", { class: "chips" }, Object.entries(run.properties).map(([k, v]) =>
      el("span", { class: "chip prop" }, `${k}: ${v}`)));
    const deleted = run.deleted_time !== null && run.deleted_time !== undefined;
    const classes = [depth ? "child" : "", deleted ? "deleted" : ""].filter(Boolean).join(" ");
    const tr = el("tr", { tabindex: "0", class: classes || null, "data-run-id": run.run_id,
      "data-ancestors": ancestors.join(" "), "aria-level": depth + 1 },
      el("td", { class: "select-col" }, box),
      el("td", {}, statusBadge(run.status), deleted ? el("span", { class: "badge deleted-badge",
        title: `Deleted ${formatTime(run.deleted_time)}`, text: "deleted" }) : null),
      nameCell,
      el("td", {}, started ? el("time", { datetime: new Date(started * 1000).toISOString() }, formatTime(started)) : ""),
      el("td", { class: "num" }, duration),
      tags, props,
      run.values.map((v, i) => {
        const kind = parseColumn(chosenColumns()[i] || "tags.x").kind;
        return el("td", { class: kind === "metrics" ? "num" : null }, formatValue(v));
      }));
    return tr;
  }

  async function toggleChildren(button, run, depth, ancestors, more = null) {
    const body = $("runs-body");
    const parentRow = button.closest("tr");
    if (!more && button.getAttribute("aria-expanded") === "true") {
      for (const row of [...body.querySelectorAll("tr[data-ancestors]")]) {
        if (row.dataset.ancestors.split(" ").includes(run.run_id)) row.remove();
      }
      button.setAttribute("aria-expanded", "false");
      button.textContent = "▸";
      return;
    }
    const query = baseQuery(false);
    query.set("parent", run.run_id);
    if (more) query.set("page_token", more.token);
    let page;
    try {
      page = await api(`${data.api}/runs?${query}`);
    } catch (error) {
      showError(error);
      return;
    }
    const lineage = [...ancestors, run.run_id];
    let after = more ? more.row.previousElementSibling : lastDescendant(parentRow, run.run_id);
    if (more) more.row.remove();
    for (const child of page.runs) {
      const row = runRow(child, depth + 1, lineage);
      after.after(row);
      after = row;
    }
    if (page.next_page_token) {
      const moreRow = el("tr", { class: "child more", "data-ancestors": lineage.join(" ") },
        el("td", { colspan: String(FIXED.length + 1 + chosenColumns().length) }));
      moreRow.firstChild.append(el("button", { type: "button", class: `depth-${Math.min(depth + 1, 6)}`,
        onclick: () => toggleChildren(button, run, depth, ancestors, { token: page.next_page_token, row: moreRow }) },
        `Show more child runs of ${run.display_name || run.run_id}`));
      after.after(moreRow);
    }
    button.setAttribute("aria-expanded", "true");
    button.textContent = "▾";
  }

  function lastDescendant(row, runId) {
    let last = row;
    while (last.nextElementSibling && (last.nextElementSibling.dataset.ancestors || "").split(" ").includes(runId)) {
      last = last.nextElementSibling;
    }
    return last;
  }

  function toggleSelected(runId, on) {
    if (on) state.selected.add(runId); else state.selected.delete(runId);
    const n = state.selected.size;
    $("runs-compare").disabled = n < 2;
    $("runs-selected").textContent = n ? `${n} selected` : "";
  }

  // -- loading -------------------------------------------------------------------------------
  function baseQuery(withFilter) {
    const query = new URLSearchParams();
    if (withFilter && state.filter) query.set("filter", state.filter);
    if (withFilter && state.status) query.set("status", state.status);
    if (state.lifecycle !== "active") query.set("lifecycle", state.lifecycle); // children too
    if (state.sort) query.set("order", state.sort);
    for (const c of chosenColumns()) query.append("column", c);
    query.set("page_size", String(state.size));
    return query;
  }

  function showError(error) {
    const box = $("runs-filter-error");
    box.replaceChildren();
    box.append(el("span", { class: "message" }, error.message));
    const details = error.details || {};
    if (error.code === "InvalidQuery" && details.source === "filter" && details.column) {
      // the filter with a caret under the column the error names (columns count from 1)
      box.append(el("pre", { class: "caret" }, `${state.filter}\n${" ".repeat(details.column - 1)}^`));
      $("runs-filter").setAttribute("aria-invalid", "true");
    }
    box.hidden = false;
  }
  function clearError() {
    $("runs-filter-error").hidden = true;
    $("runs-filter-error").replaceChildren();
    $("runs-filter").removeAttribute("aria-invalid");
  }

  async function load() {
    const ticket = ++state.loading;
    saveView();
    const query = baseQuery(true);
    if (state.token) query.set("page_token", state.token);
    $("runs").setAttribute("aria-busy", "true");
    let page;
    try {
      page = await api(`${data.api}/runs?${query}`);
    } catch (error) {
      if (ticket !== state.loading) return;
      $("runs").setAttribute("aria-busy", "false");
      showError(error);
      return;
    }
    if (ticket !== state.loading) return;
    clearError();
    state.next = page.next_page_token;
    state.pageMetrics = page.metric_names;
    renderHead();
    const body = $("runs-body");
    body.replaceChildren(...page.runs.map((run) => runRow(run, 0, [])));
    $("runs-empty").hidden = page.runs.length > 0;
    const noun = page.count === 1 ? "run" : "runs";
    $("runs-count").textContent = `${page.count.toLocaleString("en")} ${noun} match`;
    const number = state.tokens.length + 1;
    $("runs-page-label").textContent = `Page ${number} of ${Math.max(1, Math.ceil(page.count / state.size))}`;
    $("runs-prev").disabled = state.tokens.length === 0;
    $("runs-next").disabled = !state.next;
    $("runs-select-all").checked = false;
    $("runs").setAttribute("aria-busy", "false");
    renderPicker();
  }

  function firstPage() {
    state.tokens = [];
    state.token = null;
    load();
  }

  // -- the column picker ---------------------------------------------------------------------
  function renderPicker() {
    const chosen = chosenColumns();
    const metrics = [...new Set([...state.keys.metrics, ...state.pageMetrics])].sort();
    const offered = [
      ...metrics.flatMap((m) => [`metrics.${m}`, `metrics.${m}.min`, `metrics.${m}.max`]),
      ...state.keys.tags.map((k) => `tags.${k}`),
      ...state.keys.properties.map((k) => `properties.${k}`),
    ];
    for (const c of chosen) if (!offered.includes(c)) offered.push(c);
    const list = $("runs-columns-list");
    list.replaceChildren(...offered.map((c, i) => el("label", { class: "column-choice" },
      el("input", { type: "checkbox", id: `runs-col-${i}`, value: c, checked: chosen.includes(c),
        onchange: (e) => setColumn(c, e.target.checked) }), c)));
    if (!offered.length) list.append(el("p", { class: "empty" }, "No metrics, tags or properties yet."));
    $("runs-column-names").replaceChildren(...offered.map((c) => el("option", { value: c })));
  }

  function setColumn(column, on) {
    const chosen = [...chosenColumns()];
    const at = chosen.indexOf(column);
    if (on && at < 0) chosen.push(column);
    if (!on && at >= 0) chosen.splice(at, 1);
    state.columns = chosen;
    if (!on && state.sort && splitSort(state.sort)[0] === columnField(column)) { state.sort = ""; firstPage(); return; }
    reloadPage();
  }
  function reloadPage() { load(); }

  function addTypedColumn() {
    const input = $("runs-column-add");
    const column = input.value.trim();
    if (!validColumn(column)) {
      showError(new Error(`Unknown column '${column}': use metrics.NAME, metrics.NAME.min, metrics.NAME.max, tags.KEY or properties.KEY.`));
      return;
    }
    input.value = "";
    setColumn(column, true);
  }

  // -- keyboard: arrows move between rows, Enter opens the run ---------------------------------
  function onKey(event) {
    const row = event.target.closest && event.target.closest("#runs-body tr[data-run-id]");
    if (!row) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      let next = event.key === "ArrowDown" ? row.nextElementSibling : row.previousElementSibling;
      while (next && !next.dataset.runId) next = event.key === "ArrowDown" ? next.nextElementSibling : next.previousElementSibling;
      if (next) { next.focus(); event.preventDefault(); }
    } else if (event.key === "Enter" && event.target === row) {
      location.href = row.querySelector("a.run-name").href;
    }
  }

  function togglePopover(buttonId, panelId) {
    const button = $(buttonId);
    const panel = $(panelId);
    const open = panel.hidden;
    panel.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
  }

  // -- wiring --------------------------------------------------------------------------------
  async function start() {
    const status = $("runs-status");
    for (const s of data.statuses) status.append(el("option", { value: s }, s));
    status.value = state.status;
    const lifecycle = $("runs-lifecycle");
    const LIFECYCLE_LABELS = { active: "Active runs", deleted: "Deleted runs", all: "All runs" };
    for (const l of data.lifecycles) lifecycle.append(el("option", { value: l }, LIFECYCLE_LABELS[l] || l));
    lifecycle.value = state.lifecycle;
    const size = $("runs-page-size");
    for (const n of data.pageSizes) size.append(el("option", { value: String(n) }, String(n)));
    size.value = String(state.size);
    $("runs-filter").value = state.filter;
    const bar = $("runs-compare");
    bar.after(el("span", { id: "runs-selected", "aria-live": "polite" }));

    $("runs-form").addEventListener("submit", (e) => {
      e.preventDefault();
      state.filter = $("runs-filter").value.trim();
      firstPage();
    });
    $("runs-filter-clear").addEventListener("click", () => {
      $("runs-filter").value = "";
      state.filter = "";
      firstPage();
    });
    status.addEventListener("change", () => { state.status = status.value; firstPage(); });
    lifecycle.addEventListener("change", () => { state.lifecycle = lifecycle.value; firstPage(); });
    size.addEventListener("change", () => { state.size = Number(size.value); firstPage(); });
    $("runs-help-toggle").addEventListener("click", () => togglePopover("runs-help-toggle", "runs-help"));
    $("runs-columns-toggle").addEventListener("click", () => togglePopover("runs-columns-toggle", "runs-columns"));
    $("runs-column-add-button").addEventListener("click", addTypedColumn);
    $("runs-column-add").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); addTypedColumn(); } });
    document.addEventListener("keydown", (e) => {
      if (e.key !== "Escape") return;
      for (const [b, p] of [["runs-help-toggle", "runs-help"], ["runs-columns-toggle", "runs-columns"]]) {
        if (!$(p).hidden) { $(p).hidden = true; $(b).setAttribute("aria-expanded", "false"); $(b).focus(); }
      }
    });
    $("runs-next").addEventListener("click", () => {
      if (!state.next) return;
      state.tokens.push(state.token);
      state.token = state.next;
      load();
    });
    $("runs-prev").addEventListener("click", () => {
      if (!state.tokens.length) return;
      state.token = state.tokens.pop();
      load();
    });
    bar.addEventListener("click", () => {
      const query = new URLSearchParams();
      for (const id of state.selected) query.append("run", id);
      location.href = `${data.ui}/w/${encodeURIComponent(data.workspace)}/compare?${query}`;
    });
    $("runs-body").addEventListener("keydown", onKey);

    try {
      state.keys = await api(`${data.api}/keys`);
    } catch (error) {
      showError(error);
    }
    load();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
