// What the pages of `lstmkit serve`'s browser app share: the API call (with the server's token
// when it has one), errors, tables, SVG charts, following a job.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const ENDED = ["done", "failed", "cancelled"];

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

// ------------------------------------------------------------------ the token (lstmkit serve --token)
// Asked once in a field, kept in this tab's sessionStorage (never in a URL), sent on every request
// as `Authorization: Bearer`: fetch carries it, so the job's events are read from a fetch body
// (EventSource cannot send a header), and files and images are fetched and handed over as blobs.
const TOKEN_KEY = "lstmkit-token";

function authHeaders(headers) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { ...(headers || {}), authorization: `Bearer ${token}` } : headers || {};
}

// fetch with the token; a 401 shows the token field
async function call(path, init) {
  const response = await fetch(path, { ...(init || {}), headers: authHeaders((init || {}).headers) });
  if (response.status === 401) askToken();
  return response;
}

function askToken() {
  $("token-form").hidden = false;
  $("token").focus();
}

async function onToken(event) {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
  $("token").value = "";
  if (!(await call("/v1/health")).ok) {
    sessionStorage.removeItem(TOKEN_KEY);
    return showError("authorization: the server refused this token");
  }
  $("token-form").hidden = true;
  showError("");
  if (jobFromUrl()) window.dispatchEvent(new HashChangeEvent("hashchange"));  // follow the job now
}

// the token field, after the page's error line (hidden until a 401)
function addTokenForm() {
  const form = el("form", null, { id: "token-form", class: "token", hidden: "" });
  const label = el("label", "This server asks for its access token (lstmkit serve --token); this tab keeps it until it closes");
  label.append(el("input", null, { id: "token", type: "password", autocomplete: "off", required: "" }));
  form.append(label, el("button", "Use the token", { id: "token-save", type: "submit" }));
  form.addEventListener("submit", onToken);
  $("error").after(form);
}

addTokenForm();
call("/v1/health");  // a server with a token answers 401: the field shows before anything is chosen

async function api(method, path, body, type) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.body = body;
    init.headers["content-type"] = type || "application/json";
  }
  const response = await call(path, init);
  const data = await response.json().catch(() => ({ detail: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw new Error(detailText(data.detail));
  return data;
}

// A link to a job's file; with a token, a click fetches it (carrying the token) and saves the
// blob, or, for the HTML report, opens it in a tab with its images fetched the same way
function fileLink(jobId, name, label) {
  const url = `/v1/jobs/${jobId}/files/${name}`;
  const html = name.endsWith(".html");
  const link = el("a", label, {
    href: url, id: `download-${name.split(".")[0]}`, ...(html ? { target: "_blank" } : { download: `${jobId}-${name}` }),
  });
  link.addEventListener("click", async (event) => {
    if (!sessionStorage.getItem(TOKEN_KEY)) return;
    event.preventDefault();
    const tab = html ? window.open("", "_blank") : null;  // opened now, while the click allows it
    const response = await call(url);
    if (!response.ok) {
      if (tab) tab.close();
      return showError(`${name}: ${response.status} ${response.statusText}`);
    }
    if (tab) return showReport(tab, jobId, await response.text());
    const blob = URL.createObjectURL(await response.blob());
    const save = el("a", null, { href: blob, download: `${jobId}-${name}` });
    document.body.append(save);
    save.click();
    save.remove();
    setTimeout(() => URL.revokeObjectURL(blob), 60_000);
  });
  return link;
}

// The report in ``tab``: its images (the job's own PNG files) fetched with the token and
// written into the page as data URLs, so that the tab needs no request of its own
async function showReport(tab, jobId, text) {
  const page = new DOMParser().parseFromString(text, "text/html");
  for (const img of page.querySelectorAll("img[src]")) {
    const src = img.getAttribute("src");
    if (!/^[A-Za-z0-9_-]+\.png$/.test(src)) continue;
    const response = await call(`/v1/jobs/${jobId}/files/${src}`);
    if (response.ok) img.setAttribute("src", await dataUrl(await response.blob()));
  }
  const blob = new Blob([`<!DOCTYPE html>\n${page.documentElement.outerHTML}`], { type: "text/html" });
  tab.location.href = URL.createObjectURL(blob);
}

function dataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

function renderDownloads(box, jobId, files, labels) {
  box.replaceChildren(...files.filter((name) => labels[name]).map((name) => fileLink(jobId, name, labels[name])));
}

async function showImage(img, url) {
  if (!sessionStorage.getItem(TOKEN_KEY)) return img.setAttribute("src", url);
  const response = await call(url);
  if (response.ok) img.setAttribute("src", URL.createObjectURL(await response.blob()));
}

function detailText(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail) && detail.length) {
    const d = detail[0];
    return `${(d.loc || []).filter((p) => p !== "body").join(".")}: ${d.msg}`;
  }
  return JSON.stringify(detail);
}

function el(tag, text, attrs) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
  return node;
}

function fillTable(table, header, rows, best) {
  table.replaceChildren();
  const head = el("tr");
  header.forEach((h) => head.append(el("th", h)));
  table.append(head);
  rows.forEach((row, i) => {
    const tr = el("tr", null, i === best ? { class: "best" } : {});
    row.forEach((v) => tr.append(el("td", v)));
    table.append(tr);
  });
}

// ------------------------------------------------------------------ charts (SVG)
function scaler(lo, hi, a, b) {
  const span = hi - lo || 1;
  return (v) => a + ((v - lo) / span) * (b - a);
}

function svgNode(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function path(points) {
  return points.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`).join("");
}

function frame(svg, yLo, yHi, width, height) {
  svg.replaceChildren();
  svg.append(svgNode("line", { class: "axis", x1: 50, y1: height - 25, x2: width - 10, y2: height - 25 }));
  svg.append(svgNode("line", { class: "axis", x1: 50, y1: 10, x2: 50, y2: height - 25 }));
  svg.append(svgNode("text", { x: 4, y: 16 }, yHi.toPrecision(3)));
  svg.append(svgNode("text", { x: 4, y: height - 27 }, yLo.toPrecision(3)));
}

// rows: progress rows ({training, train_loss, val_loss} or other keys), one curve per training
function drawCurves(svg, rows, trainKey, valKey) {
  const values = rows.flatMap((r) => [r[trainKey], r[valKey]]).filter((v) => v !== null && v !== undefined && isFinite(v));
  if (!values.length) return;
  const [w, h] = [600, 220];
  const lo = Math.min(...values), hi = Math.max(...values);
  frame(svg, lo, hi, w, h);
  const x = scaler(0, Math.max(1, rows.length - 1), 52, w - 12), y = scaler(lo, hi, h - 27, 12);
  const trainings = [...new Set(rows.map((r) => r.training))];
  trainings.forEach((t) => {
    const mine = rows.map((r, i) => [r, i]).filter(([r]) => r.training === t);
    svg.append(svgNode("path", { class: "train", d: path(mine.map(([r, i]) => [x(i), y(r[trainKey])])) }));
    const val = mine.filter(([r]) => r[valKey] !== null && r[valKey] !== undefined);
    if (val.length) svg.append(svgNode("path", { class: "val", d: path(val.map(([r, i]) => [x(i), y(r[valKey])])) }));
  });
  svg.append(svgNode("text", { x: w - 140, y: h - 8 }, `${rows.length} epochs in all`));
}

function numberOrNull(id) {
  const v = $(id).value.trim();
  return v === "" ? null : Number(v);
}

function jobFromUrl() {
  const m = location.hash.match(/job=([0-9a-f]{12})/);
  return m ? m[1] : null;
}

// ------------------------------------------------------------------ jobs (both pages)
// Queue a job from its request; the page follows it through the URL's #job=.
async function submitJob(request) {
  $("train").disabled = true;
  try {
    const job = await api("POST", "/v1/jobs", JSON.stringify(request));
    location.hash = `job=${job.id}`;  // hashchange follows it
  } catch (err) {
    showError(err.message);
  } finally {
    $("train").disabled = false;
  }
}

function renderState(status) {
  $("state").textContent = status.state;
  $("state").className = `state ${status.state}`;
  $("cancel").hidden = ENDED.includes(status.state);
  if (status.state === "queued") $("progress-text").textContent = "waiting for the worker (one job runs at a time)";
}

// A job that ended: its state shown, its error if it failed; true when it is done.
function endedWell(status) {
  renderState(status);
  if (status.state === "failed") showError(`The job failed: ${status.error}`);
  if (status.state === "cancelled") $("progress-text").textContent = "cancelled";
  if (status.state !== "done") return false;
  $("progress").value = 1;
  return true;
}

// server-sent events from a fetch body: onEvent(kind, data) per event, as each arrives
async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const fields = Object.fromEntries(block.split("\n").map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2)]));
      onEvent(fields.event || "message", JSON.parse(fields.data || "{}"));
    }
  }
}

// Follow job `jobId`: the rows it has already (each event kind of `on` replayed from the status:
// progress rows, and "trial" rows where the page takes them), then the server's events (read from
// a fetch, which carries the token; a broken stream goes on from the last row) until the job
// ends, when `finish(jobId, status)` gets its final status. Following another job stops this one.
let following = null;
async function watchJob(jobId, on, finish) {
  if (following) following.abort();
  const mine = (following = new AbortController());
  $("job-id").textContent = jobId;
  let status;
  try {
    status = await api("GET", `/v1/jobs/${jobId}`);
  } catch (err) {
    showError(err.message);
    $("step-job").hidden = true;
    return;
  }
  status.progress.forEach(on.progress);
  if (on.trial) (status.trials || []).forEach(on.trial);
  renderState(status);
  if (ENDED.includes(status.state)) return finish(jobId, status);
  let seen = status.progress.length, ended = false;
  const handlers = { ...on, status: renderState, end: () => { ended = true; } };
  while (!ended && !mine.signal.aborted) {
    try {
      const response = await call(`/v1/jobs/${jobId}/events?since=${seen}`, { signal: mine.signal });
      if (response.status >= 400 && response.status < 500) return showError(`job ${jobId}: ${response.status} ${response.statusText}`);
      await readEvents(response.body, (kind, data) => {
        if (kind === "progress") seen += 1;
        if (handlers[kind]) handlers[kind](data);
      });
    } catch (err) {
      if (!mine.signal.aborted) await new Promise((wake) => setTimeout(wake, 1000));
    }
  }
  if (mine.signal.aborted) return;
  following = null;
  finish(jobId, await api("GET", `/v1/jobs/${jobId}?since=${1e9}`));
}

async function onCancel() {
  const jobId = jobFromUrl();
  if (!jobId) return;
  $("cancel").disabled = true;
  try {
    renderState(await api("DELETE", `/v1/jobs/${jobId}`));
  } catch (err) {
    showError(err.message);
  } finally {
    $("cancel").disabled = false;
  }
}
