// runyard UI: helpers every page uses. No framework; user text only ever goes through
// textContent (never innerHTML), so a tag holding <script> shows as text.
"use strict";

const runyard = (() => {
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  /** fetch JSON from the UI API; throws an Error carrying the server's message. */
  async function api(path, options = {}) {
    const init = { credentials: "same-origin", ...options, headers: { ...(options.headers || {}) } };
    if (init.method && init.method !== "GET") {
      init.headers["X-Runyard-CSRF"] = csrf();
      if (init.body !== undefined && typeof init.body !== "string") {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(init.body);
      }
    }
    const response = await fetch(path, init);
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) {
      const message = data && data.error ? data.error.message : `HTTP ${response.status}`;
      const error = new Error(message);
      error.status = response.status;
      error.code = data && data.error ? data.error.code : "";
      error.details = data && data.error ? data.error.details || null : null;
      throw error;
    }
    return data;
  }

  /** an element with attributes and children (strings become text nodes). */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const pad = (n) => String(n).padStart(2, "0");
  /** a POSIX time as local "YYYY-MM-DD HH:MM:SS". */
  function formatTime(epoch) {
    if (epoch === null || epoch === undefined || epoch === "") return "";
    const d = new Date(Number(epoch) * 1000);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }
  function formatDuration(seconds) {
    if (seconds === null || seconds === undefined) return "";
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
    return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  }
  function formatValue(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toPrecision(6).replace(/\.?0+$/, "").replace(/\.?0+e/, "e");
    return typeof value === "string" ? value : JSON.stringify(value);
  }
  function statusBadge(status) {
    return el("span", { class: `badge status-${String(status).toLowerCase()}`, text: status });
  }
  /** fill every <time data-epoch> of the page with its local time. */
  function fillTimes(root = document) {
    for (const node of root.querySelectorAll("time[data-epoch]")) {
      node.textContent = formatTime(node.dataset.epoch);
      if (node.dataset.epoch) node.dateTime = new Date(Number(node.dataset.epoch) * 1000).toISOString();
    }
  }
  /** the page's JSON data island (<script type="application/json" id=...>): never executed. */
  function pageData(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  document.addEventListener("DOMContentLoaded", () => fillTimes());
  return { api, el, formatTime, formatDuration, formatValue, statusBadge, fillTimes, pageData };
})();
