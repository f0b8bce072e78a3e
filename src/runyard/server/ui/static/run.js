// runyard UI: a run's page. Draws the run from the page's data island, then keeps it current:
// the status (polled until the run ends), tags (add, edit, remove), files (tree and preview),
// the live log (read from the last offset), child runs (loaded on expand), cancel, delete and
// restore.
// User text reaches the DOM through runyard.el / textContent only.
"use strict";

(() => {
  const data = runyard.pageData("run-data");
  if (!data) return;
  const { el, api } = runyard;
  const workspace = data.workspace;
  const canWrite = data.can_write;
  let run = data.run;
  const runBase = (id) => `/ui/api/w/${encodeURIComponent(workspace)}/runs/${encodeURIComponent(id)}`;
  const base = runBase(run.run_id);
  const pageOf = (id) => `/ui/w/${encodeURIComponent(workspace)}/r/${encodeURIComponent(id)}`;
  const encodePath = (path) => path.split("/").map(encodeURIComponent).join("/");
  const $ = (id) => document.getElementById(id);

  const RUN_POLL_MS = 1500;
  const LOG_POLL_MS = 1000;
  const HIDDEN_POLL_MS = 10000; // a tab nobody looks at asks rarely
  const LOG_TAIL_BYTES = 1024 * 1024; // a long log opens at its last MiB
  const CSV_ROWS = 200;

  // -- messages ---------------------------------------------------------------------------------
  let messageFromPoll = false;
  function showMessage(text, fromPoll = false) {
    const node = $("run-message");
    node.textContent = text;
    node.hidden = false;
    messageFromPoll = fromPoll;
  }
  function clearPollMessage() {
    if (messageFromPoll) $("run-message").hidden = true;
  }

  // -- polling: one loop per feature, slower while the tab is hidden ----------------------------
  /** calls `step` every `interval` ms until it returns false; never two calls at once. */
  function poller(step, interval) {
    let timer = null;
    let busy = false;
    let stopped = false;
    async function tick() {
      timer = null;
      if (busy || stopped) return;
      busy = true;
      let again = true;
      try {
        again = await step();
        clearPollMessage();
      } catch (error) {
        showMessage(`Could not refresh: ${error.message}`, true);
      }
      busy = false;
      if (again === false) stopped = true;
      else if (!stopped) timer = setTimeout(tick, document.hidden ? HIDDEN_POLL_MS : interval);
    }
    function wake() {
      if (stopped || busy) return;
      clearTimeout(timer);
      tick();
    }
    document.addEventListener("visibilitychange", () => { if (!document.hidden) wake(); });
    return { start: tick, wake };
  }

  // -- details ----------------------------------------------------------------------------------
  function duration(info) {
    if (!info.start_time) return "";
    const end = info.end_time || Date.now() / 1000;
    return runyard.formatDuration(end - info.start_time) + (info.end_time ? "" : " (running)");
  }

  function renderDetails() {
    const list = $("details-list");
    const rows = [
      ["Run ID", el("code", { text: run.run_id })],
      ["Display name", run.display_name || ""],
      ["Experiment", el("a", {
        href: `/ui/w/${encodeURIComponent(workspace)}/e/${encodeURIComponent(run.experiment_name)}`,
        text: run.experiment_name,
      })],
      ["Status", runyard.statusBadge(run.status)],
      ["Type", run.run_type || "interactive"],
      ["Target", run.target || ""],
      ["Created", runyard.formatTime(run.created_time)],
      ["Started", runyard.formatTime(run.start_time)],
      ["Ended", runyard.formatTime(run.end_time)],
      ["Duration", duration(run)],
      ["Submitted by", run.submitted_by || ""],
      ["Parent", run.parent_run_id ? el("a", { href: pageOf(run.parent_run_id), text: run.parent_run_id }) : ""],
    ];
    const deleted = isDeleted(run);
    if (deleted) rows.push(["Deleted", runyard.formatTime(run.deleted_time)]);
    if (run.description) rows.splice(2, 0, ["Description", run.description]);
    list.replaceChildren(...rows.flatMap(([name, value]) => [
      el("dt", { text: name }),
      el("dd", { "data-field": name }, value === "" ? el("span", { class: "empty", text: "—" }) : value),
    ]));
    $("run-status").replaceChildren(runyard.statusBadge(run.status));
    $("run-title").textContent = run.display_name || run.run_id;

    const error = run.error;
    $("run-error").hidden = !error;
    if (error) {
      const body = error.error || error;
      const lines = [body.message || body.code || JSON.stringify(error, null, 2)];
      if (body.code && body.message) lines.unshift(`${body.code}:`);
      const stack = body.debugInfo && body.debugInfo.stackTrace;
      if (stack) lines.push("", stack);
      $("run-error-text").textContent = lines.join("\n");
    }
    const definition = run.run_definition;
    $("run-definition").hidden = !definition;
    if (definition) $("run-definition-text").textContent = JSON.stringify(definition, null, 2);

    const cancel = $("cancel-run");
    cancel.hidden = !(canWrite && !run.terminal);
    cancel.disabled = run.status === "CancelRequested";
    cancel.textContent = run.status === "CancelRequested" ? "Canceling…" : "Cancel run";

    const banner = $("run-deleted");
    banner.hidden = !deleted;
    if (deleted) {
      const next = canWrite ? "Restore it to list it again." : "A writer of the workspace can restore it.";
      banner.textContent = `This run was deleted on ${runyard.formatTime(run.deleted_time)}: the runs ` +
        `table and searches leave it out; everything it recorded is kept. ${next}`;
    }
    $("delete-run").hidden = !canWrite || deleted;
    $("restore-run").hidden = !canWrite || !deleted;
  }
  const isDeleted = (info) => info.deleted_time !== null && info.deleted_time !== undefined;

  const runListeners = [];
  function updateRun(fresh) {
    const ended = !run.terminal && fresh.terminal;
    const tagsChanged = JSON.stringify(fresh.tags) !== JSON.stringify(run.tags);
    run = fresh;
    renderDetails();
    if (tagsChanged) renderTags();
    renderProperties();
    for (const listener of runListeners) listener(ended);
  }

  const runPoller = poller(async () => {
    updateRun(await api(base));
    return !run.terminal;
  }, RUN_POLL_MS);

  // -- cancel -----------------------------------------------------------------------------------
  $("cancel-run").addEventListener("click", async () => {
    const name = run.display_name || run.run_id;
    const what = run.is_script ? "Its script is stopped and the run" : "The run";
    if (!window.confirm(`Cancel run ${name}? ${what} ends as Canceled.`)) return;
    try {
      updateRun(await api(`${base}/cancel`, { method: "POST" }));
      runPoller.wake();
    } catch (error) {
      showMessage(`Could not cancel the run: ${error.message}`);
    }
  });

  // -- delete and restore -----------------------------------------------------------------------
  $("delete-run").addEventListener("click", async () => {
    const name = run.display_name || run.run_id;
    const what = "It is hidden from the runs table and searches; nothing of it is removed, and it can be restored.";
    if (!window.confirm(`Delete run ${name}? ${what}`)) return;
    try {
      updateRun(await api(`${base}/delete`, { method: "POST" }));
      $("restore-run").focus();
    } catch (error) {
      showMessage(`Could not delete the run: ${error.message}`);
    }
  });
  $("restore-run").addEventListener("click", async () => {
    try {
      updateRun(await api(`${base}/restore`, { method: "POST" }));
      $("delete-run").focus();
    } catch (error) {
      showMessage(`Could not restore the run: ${error.message}`);
    }
  });

  // -- tags and properties ----------------------------------------------------------------------
  let editing = null; // the key whose value is being edited

  function valueCell(value) {
    return value === null ? el("span", { class: "empty", text: "(no value)" }) : value;
  }

  async function changeTags(request, failure) {
    try {
      updateRunTags(await request());
      return true;
    } catch (error) {
      showMessage(`${failure}: ${error.message}`);
      return false;
    }
  }
  function updateRunTags(fresh) {
    editing = null;
    run = fresh;
    renderTags();
  }
  const setTag = (key, value) => changeTags(
    () => api(`${base}/tags`, { method: "PATCH", body: { tags: { [key]: value === "" ? null : value } } }),
    `Could not set tag ${key}`,
  );
  const removeTag = (key) => changeTags(
    () => api(`${base}/tags?key=${encodeURIComponent(key)}`, { method: "DELETE" }),
    `Could not remove tag ${key}`,
  );

  function renderTags() {
    if (editing !== null) return; // a poll leaves the table alone while a value is edited
    const body = $("tags-table").querySelector("tbody");
    body.replaceChildren(...run.tags.map(({ key, value }) => {
      const row = el("tr", { "data-key": key }, el("td", { text: key }), el("td", {}, valueCell(value)));
      if (canWrite) {
        row.append(el("td", { class: "actions" },
          el("button", { type: "button", "aria-label": `Edit tag ${key}`, onclick: () => editTag(row, key, value) }, "Edit"),
          el("button", { type: "button", "aria-label": `Remove tag ${key}`, onclick: () => removeTag(key) }, "Remove"),
        ));
      } else {
        row.append(el("td", { class: "actions" }));
      }
      return row;
    }));
    $("tags-table").hidden = run.tags.length === 0;
    $("tags-empty").hidden = run.tags.length !== 0;
  }

  function editTag(row, key, value) {
    editing = key;
    const input = el("input", { type: "text", value: value ?? "", "aria-label": `New value of tag ${key}`,
      placeholder: "(empty: a tag without a value)" });
    const form = el("form", { class: "inline-form" }, input,
      el("button", { type: "submit" }, "Save"),
      el("button", { type: "button", onclick: () => { editing = null; renderTags(); } }, "Cancel"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      setTag(key, input.value);
    });
    row.children[1].replaceChildren(form);
    row.children[2].replaceChildren();
    input.focus();
  }

  function renderProperties() {
    const body = $("properties-table").querySelector("tbody");
    body.replaceChildren(...run.properties.map(({ key, value }) =>
      el("tr", { "data-key": key }, el("td", { text: key }), el("td", { text: value }))));
    $("properties-table").hidden = run.properties.length === 0;
    $("properties-empty").hidden = run.properties.length !== 0;
  }

  $("tag-form").hidden = !canWrite;
  $("tags-readonly").hidden = canWrite;
  $("tag-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = $("tag-key").value.trim();
    if (!key) return;
    if (await setTag(key, $("tag-value").value)) {
      $("tag-key").value = "";
      $("tag-value").value = "";
    }
  });

  // -- metrics ----------------------------------------------------------------------------------
  async function metricsFallback(root) {
    const { metrics } = await api(`${base}/metric-summaries`);
    if (!metrics.length) {
      root.replaceChildren(el("p", { class: "empty", text: "No metrics." }));
      return;
    }
    const num = (value) => el("td", { class: "num", text: runyard.formatValue(value) });
    root.replaceChildren(el("table", { class: "grid", id: "metrics-table" },
      el("thead", {}, el("tr", {}, ...["Metric", "Kind", "Count", "Last", "Min", "Max"].map(
        (name, i) => el("th", { scope: "col", class: i >= 2 ? "num" : null, text: name })))),
      el("tbody", {}, ...metrics.map((m) => el("tr", {},
        el("td", { text: m.name }), el("td", { text: m.kind }), num(m.count), num(m.last), num(m.min), num(m.max))))));
  }
  function mountMetrics() {
    const root = $("metrics-root");
    const charts = window.runyardCharts;
    if (charts && typeof charts.mountRunMetrics === "function") {
      charts.mountRunMetrics(root, workspace, run.run_id);
      return;
    }
    const refresh = () => metricsFallback(root).catch((error) =>
      root.replaceChildren(el("p", { class: "error", text: `Could not read the metrics: ${error.message}` })));
    refresh();
    runListeners.push((ended) => { if (ended) refresh(); });
  }

  // -- files ------------------------------------------------------------------------------------
  const IMAGE = new Set(["png", "jpg", "jpeg", "gif", "webp"]);
  const TEXT = new Set(["", "txt", "log", "out", "err", "md", "rst", "py", "ipynb", "yaml", "yml", "toml",
    "ini", "cfg", "conf", "sh", "js", "ts", "css", "html", "htm", "xml", "svg", "r", "sql", "tex",
    "json", "jsonl", "ndjson", "csv", "tsv"]);
  const extension = (path) => {
    const name = path.split("/").pop();
    const dot = name.lastIndexOf(".");
    return dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
  };
  const rawUrl = (path) => `${base}/files/raw/${encodePath(path)}`;
  function formatSize(bytes) {
    if (bytes < 1024) return `${bytes} B`;
    const units = ["KiB", "MiB", "GiB", "TiB"];
    let value = bytes;
    let unit = -1;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
  }

  function buildTree(files) {
    const root = { folders: new Map(), files: [] };
    for (const file of files) {
      const parts = file.path.split("/");
      let node = root;
      for (const part of parts.slice(0, -1)) {
        if (!node.folders.has(part)) node.folders.set(part, { folders: new Map(), files: [] });
        node = node.folders.get(part);
      }
      node.files.push({ ...file, name: parts[parts.length - 1] });
    }
    return root;
  }
  function folderSize(node) {
    let total = node.files.reduce((sum, f) => sum + f.size, 0);
    for (const child of node.folders.values()) total += folderSize(child);
    return total;
  }
  function renderTree(node, open) {
    const items = [];
    for (const [name, child] of [...node.folders].sort(([a], [b]) => a.localeCompare(b))) {
      items.push(el("li", {}, el("details", { open },
        el("summary", {}, `${name}/`, el("span", { class: "size", text: formatSize(folderSize(child)) })),
        renderTree(child, open))));
    }
    for (const file of node.files) {
      items.push(el("li", { class: "file" },
        el("button", { type: "button", class: "linklike", title: `Preview ${file.path}`, onclick: () => preview(file) }, file.name),
        el("span", { class: "size", text: formatSize(file.size) }),
        el("a", { href: rawUrl(file.path), download: file.name, "aria-label": `Download ${file.path}` }, "Download")));
    }
    return el("ul", { class: "tree" }, items);
  }

  async function loadFiles() {
    const { files } = await api(`${base}/files`);
    const tree = $("files-tree");
    if (!files.length) {
      tree.replaceChildren(el("p", { class: "empty", text: "No files." }));
      return;
    }
    tree.replaceChildren(renderTree(buildTree(files), files.length <= 200));
  }

  function parseCsv(text, separator, limit) {
    const rows = [];
    let row = [];
    let field = "";
    let quoted = false;
    for (let i = 0; i < text.length && rows.length < limit; i += 1) {
      const c = text[i];
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') { field += '"'; i += 1; }
        else if (c === '"') quoted = false;
        else field += c;
      } else if (c === '"' && field === "") quoted = true;
      else if (c === separator) { row.push(field); field = ""; }
      else if (c === "\n" || c === "\r") {
        if (c === "\r" && text[i + 1] === "\n") i += 1;
        row.push(field); rows.push(row); row = []; field = "";
      } else field += c;
    }
    if ((field !== "" || row.length) && rows.length < limit) { row.push(field); rows.push(row); }
    return rows;
  }

  let previewing = 0;
  async function preview(file) {
    const token = ++previewing;
    const box = $("file-preview");
    const kind = extension(file.path);
    const header = el("div", { class: "preview-head" },
      el("strong", { text: file.path }), el("span", { class: "size", text: formatSize(file.size) }),
      el("a", { href: rawUrl(file.path), download: file.name, text: "Download" }));
    box.replaceChildren(header, el("p", { class: "empty", text: "Loading…" }));
    box.setAttribute("aria-label", `Preview of ${file.path}`);
    if (IMAGE.has(kind)) {
      box.replaceChildren(header, el("img", { src: rawUrl(file.path), alt: file.path, class: "preview-image" }));
      return;
    }
    if (!TEXT.has(kind)) {
      box.replaceChildren(header, el("p", { class: "empty", text: "No preview for this kind of file: download it." }));
      return;
    }
    let answer;
    try {
      answer = await api(`${base}/files/text/${encodePath(file.path)}`);
    } catch (error) {
      if (token === previewing) box.replaceChildren(header, el("p", { class: "error", text: error.message }));
      return;
    }
    if (token !== previewing) return;
    if (answer.binary) {
      box.replaceChildren(header, el("p", { class: "empty", text: "A binary file: download it." }));
      return;
    }
    const parts = [header];
    if (answer.truncated) parts.push(el("p", { class: "hint", text: "Showing the start of the file only: download it to see all." }));
    if ((kind === "csv" || kind === "tsv") && answer.text) {
      const rows = parseCsv(answer.text, kind === "tsv" ? "\t" : ",", CSV_ROWS + 2); // header, rows, one more
      const [head, ...rest] = rows;
      const shown = rest.slice(0, CSV_ROWS);
      parts.push(el("div", { class: "table-scroll" }, el("table", { class: "grid csv-preview" },
        el("thead", {}, el("tr", {}, head.map((name) => el("th", { scope: "col", text: name })))),
        el("tbody", {}, shown.map((cells) => el("tr", {}, cells.map((cell) => el("td", { text: cell }))))))));
      if (rest.length > CSV_ROWS || answer.truncated) parts.push(el("p", { class: "hint", text: `The first ${shown.length} rows.` }));
    } else {
      let text = answer.text;
      if (kind === "json" && !answer.truncated) {
        try { text = JSON.stringify(JSON.parse(text), null, 2); } catch { /* not JSON after all: as it is */ }
      }
      parts.push(el("pre", { class: "preview-text", tabindex: "0", text }));
    }
    box.replaceChildren(...parts);
  }

  // -- logs -------------------------------------------------------------------------------------
  const log = { name: null, offset: 0 };
  const defaultLog = (names) => names.find((n) => n === "user_logs/std_log.txt") || names[0];

  function choose(name, size) {
    log.name = name;
    log.offset = Math.max(0, size - LOG_TAIL_BYTES);
    const text = $("log-text");
    text.replaceChildren();
    if (log.offset > 0) text.append(el("span", { class: "empty", text: `(the first ${formatSize(log.offset)} are not shown)\n` }));
  }

  async function readLogs() {
    const { logs } = await api(`${base}/logs`);
    const select = $("log-name");
    const names = logs.map((l) => l.name);
    if (names.join("\n") !== [...select.options].map((o) => o.value).join("\n")) {
      select.replaceChildren(...names.map((name) => el("option", { value: name, text: name })));
    }
    $("logs-empty").hidden = names.length > 0;
    $("logs-controls").hidden = names.length === 0;
    $("log-text").hidden = names.length === 0;
    if (!names.length) return;
    if (log.name === null || !names.includes(log.name)) {
      const name = defaultLog(names);
      choose(name, logs.find((l) => l.name === name).size);
    }
    select.value = log.name;
    await readMore();
  }

  async function readMore() {
    const text = $("log-text");
    for (let round = 0; round < 8; round += 1) {
      const name = log.name;
      const answer = await api(`${base}/logs/read?name=${encodeURIComponent(name)}&offset=${log.offset}`);
      if (name !== log.name) return; // another log was chosen meanwhile
      if (answer.next_offset === log.offset) return;
      const atBottom = text.scrollTop + text.clientHeight >= text.scrollHeight - 8;
      text.append(answer.text);
      log.offset = answer.next_offset;
      if (atBottom) text.scrollTop = text.scrollHeight;
    }
  }

  $("log-name").addEventListener("change", async (event) => {
    const { logs } = await api(`${base}/logs`);
    const found = logs.find((l) => l.name === event.target.value);
    choose(event.target.value, found ? found.size : 0);
    await readMore().catch((error) => showMessage(`Could not read the log: ${error.message}`));
  });

  const logPoller = poller(async () => {
    const ended = run.terminal;
    await readLogs();
    $("log-state").textContent = ended ? "" : "live: new lines appear as they are written";
    return !ended; // one last read after the run ended
  }, LOG_POLL_MS);
  runListeners.push((ended) => { if (ended) logPoller.wake(); });

  // -- child runs -------------------------------------------------------------------------------
  async function childList(parentId, container, pageToken = null) {
    const query = pageToken ? `?page_token=${encodeURIComponent(pageToken)}` : "";
    const { runs, next_page_token: next } = await api(`${runBase(parentId)}/children${query}`);
    if (!runs.length && !pageToken) {
      container.replaceChildren(el("p", { class: "empty", text: "No child runs." }));
      return;
    }
    let list = container.querySelector(":scope > ul.tree");
    if (!list) {
      list = el("ul", { class: "tree children" });
      container.replaceChildren(list);
    }
    container.querySelector(":scope > .more")?.remove();
    for (const child of runs) list.append(childItem(child));
    if (next) {
      const more = el("button", { type: "button", class: "more", onclick: () => childList(parentId, container, next) }, "More child runs");
      container.append(more);
    }
  }
  /** the run's first page of children again: new ones are added, statuses brought up to date
   * (children of a running parent come and end while the page is open). */
  async function refreshChildren() {
    const container = $("children-tree");
    const { runs } = await api(`${base}/children`);
    if (!runs.length) return;
    let list = container.querySelector(":scope > ul.tree");
    if (!list) {
      list = el("ul", { class: "tree children" });
      container.replaceChildren(list);
    }
    for (const child of runs) {
      const item = [...list.children].find((li) => li.dataset.run === child.run_id);
      if (!item) list.append(childItem(child));
      else {
        if (item.dataset.status !== child.status) {
          item.dataset.status = child.status;
          item.querySelector(":scope > .badge").replaceWith(runyard.statusBadge(child.status));
        }
        const mark = item.querySelector(":scope > .deleted-badge");
        if (child.deleted && !mark) item.querySelector(":scope > .badge").after(deletedBadge());
        if (!child.deleted && mark) mark.remove();
      }
    }
  }
  runListeners.push(() => refreshChildren().catch(() => {})); // the run's own poll shows errors

  function childItem(child) {
    const name = child.display_name || child.run_id;
    const nested = el("div", { class: "nested", hidden: true });
    const toggle = el("button", { type: "button", class: "toggle", "aria-expanded": "false", "aria-label": `Show child runs of ${name}` }, "▸");
    toggle.addEventListener("click", async () => {
      const open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", String(!open));
      toggle.textContent = open ? "▸" : "▾";
      nested.hidden = open;
      if (!open && !nested.dataset.loaded) {
        nested.dataset.loaded = "1";
        nested.replaceChildren(el("p", { class: "empty", text: "Loading…" }));
        await childList(child.run_id, nested).catch((error) =>
          nested.replaceChildren(el("p", { class: "error", text: error.message })));
      }
    });
    return el("li", { "data-run": child.run_id, "data-status": child.status }, toggle,
      el("a", { href: pageOf(child.run_id), text: name }), " ", runyard.statusBadge(child.status),
      child.deleted ? deletedBadge() : null,
      child.display_name ? el("code", { class: "muted-id", text: child.run_id }) : null, nested);
  }
  /** a deleted child is still this run's child: listed, marked. */
  const deletedBadge = () => el("span", { class: "badge deleted-badge", text: "deleted" });

  // -- start ------------------------------------------------------------------------------------
  renderDetails();
  renderTags();
  renderProperties();
  mountMetrics();
  loadFiles().catch((error) => $("files-tree").replaceChildren(el("p", { class: "error", text: `Could not list the files: ${error.message}` })));
  childList(run.run_id, $("children-tree")).catch((error) =>
    $("children-tree").replaceChildren(el("p", { class: "error", text: error.message })));
  logPoller.start();
  if (!run.terminal) setTimeout(runPoller.start, RUN_POLL_MS);
})();
