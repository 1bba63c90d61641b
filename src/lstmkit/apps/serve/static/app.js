// The browser app of `lstmkit serve`: upload a CSV, preview it, choose a task (forecast, detect,
// classify: tasks.js), train it as a job, follow it live (server-sent events), show the forecast
// and the backtest (or the anomalies, or the classifier's test results), offer downloads.
// The job id lives in the URL (#job=<id>), so a reload picks the job back up.
"use strict";

let csvText = null;
let losses = [];
let trials = [];

// ------------------------------------------------------------------ 1. data
async function onFile(event) {
  const file = event.target.files[0];
  if (!file) return;
  showError("");
  $("step-settings").hidden = true;
  $("preview").hidden = true;
  csvText = await file.text();
  try {
    renderPreview(await api("POST", "/v1/preview", csvText, "text/csv"));
  } catch (err) {
    csvText = null;
    showError(`${file.name}: ${err.message}`);
  }
}

function renderPreview(p) {
  const t = p.time_info;
  const timePart = p.time
    ? `time column "${p.time}" (${t.start} to ${t.end}), frequency ${t.frequency || "irregular, step " + t.step}` +
      `, ${t.gaps} gap${t.gaps === 1 ? "" : "s"}` + (t.duplicates ? `, ${t.duplicates} duplicated` : "")
    : "no time column found (rows are the steps)";
  const missing = Object.entries(p.missing).map(([c, n]) => `${c}: ${n}`).join(", ");
  $("preview-info").textContent = `${p.rows} rows; ${timePart}` + (missing ? `; missing values ${missing}` : "");
  fillTable($("preview-table"), p.columns, p.first_rows);
  $("target").replaceChildren(...p.numeric.map((c) => el("option", c, { value: c })));
  $("target").value = p.target;
  $("time").replaceChildren(el("option", "(row number)", { value: "" }), ...p.columns.map((c) => el("option", c, { value: c })));
  $("time").value = p.time || "";
  fillClassify(p);
  showTask();
  $("preview").hidden = false;
  $("step-settings").hidden = false;
}

// ------------------------------------------------------------------ 2. train
async function onTrain(event) {
  event.preventDefault();
  if (!csvText) return;
  showError("");
  if (chosenTask() !== "forecast") return submitJob(taskRequest(chosenTask(), csvText));
  const baselines = ["seasonal_naive", "arima", "ets"].filter((b) => $(`b-${b}`).checked);
  const request = {
    task: "forecast", csv: csvText, target: $("target").value, time: $("time").value || null,
    horizon: numberOrNull("horizon"), budget_s: numberOrNull("budget"),
    epochs: numberOrNull("epochs") || 100, hidden: numberOrNull("hidden") || 32,
    windows: numberOrNull("windows") || 3, baselines,
    tune: $("tune").checked, trials: numberOrNull("trials") || 20,
  };
  await submitJob(request);
}

// ------------------------------------------------------------------ 3. follow a job
async function follow(jobId) {
  losses = [];
  trials = [];
  $("trials-box").hidden = true;
  ["step-result", "step-detect", "step-classify"].forEach((id) => { $(id).hidden = true; });
  $("step-job").hidden = false;
  await watchJob(jobId, { progress: addProgress, trial: addTrial }, finish);
}

function addProgress(row) {
  losses.push(row);
  $("progress").value = row.fraction;
  const val = row.val_loss === null ? "" : `, validation ${row.val_loss.toFixed(4)}`;
  $("progress-text").textContent =
    `network ${row.training}, epoch ${row.epoch}: training loss ${row.train_loss.toFixed(4)}${val} (${row.elapsed.toFixed(0)} s)`;
  drawLosses();
}

function addTrial(row) {
  if (trials.some((t) => t.trial === row.trial)) return;
  trials.push(row);
  const text = trialTable(trials);
  $("trials-box").hidden = false;
  if (!losses.length) $("progress-text").textContent = text;
}

function finish(jobId, status) {
  if (!endedWell(status)) return;
  const kind = status.result.kind;
  if (kind === "text") return showError(`job ${jobId} is a text job: open it on the text page (text.html#job=${jobId})`);
  if (kind === "detect") return renderDetect(jobId, status);
  if (kind === "classify") return renderClassify(jobId, status);
  renderResult(jobId, status);
}

function drawLosses() {
  drawCurves($("loss"), losses, "train_loss", "val_loss");
}

// ------------------------------------------------------------------ charts (SVG)
function drawForecast(result) {
  const svg = $("forecast");
  const hist = result.history.values, fc = result.forecast;
  const all = [...hist, ...fc.lower95, ...fc.upper95];
  const [w, h] = [600, 260];
  const lo = Math.min(...all), hi = Math.max(...all);
  frame(svg, lo, hi, w, h);
  const n = hist.length + fc.point.length;
  const x = scaler(0, n - 1, 52, w - 12), y = scaler(lo, hi, h - 27, 12);
  const steps = fc.point.map((_, k) => hist.length + k);
  const band = (lower, upper) => path([...steps.map((s, k) => [x(s), y(upper[k])]), ...steps.slice().reverse().map((s, k) => [x(s), y(lower[lower.length - 1 - k])])]) + "Z";
  svg.append(svgNode("path", { class: "band95", d: band(fc.lower95, fc.upper95) }));
  svg.append(svgNode("path", { class: "band80", d: band(fc.lower80, fc.upper80) }));
  svg.append(svgNode("path", { class: "history", d: path(hist.map((v, i) => [x(i), y(v)])) }));
  const joined = [[hist.length - 1, hist[hist.length - 1]], ...steps.map((s, k) => [s, fc.point[k]])];
  svg.append(svgNode("path", { class: "point", d: path(joined.map(([s, v]) => [x(s), y(v)])) }));
  svg.append(svgNode("text", { x: 52, y: h - 8 }, result.history.index[0].slice(0, 10)));
  svg.append(svgNode("text", { x: w - 80, y: h - 8 }, fc.index[fc.index.length - 1].slice(0, 10)));
}

// ------------------------------------------------------------------ 4. results
function renderResult(jobId, status) {
  const result = status.result;
  drawForecast(result);
  const columns = ["model", "MASE", "sMAPE", "MAE", "RMSE", "coverage80", "coverage95"];
  const rows = result.rows.map((r) => columns.map((c) => (typeof r[c] === "number" ? r[c].toFixed(3) : r[c] ?? "")));
  const mase = result.rows.map((r) => (typeof r.MASE === "number" ? r.MASE : Infinity));
  fillTable($("backtest"), columns, rows, mase.indexOf(Math.min(...mase)));
  renderDownloads($("downloads"), jobId, status.files,
    { "model.pt": "model (model.pt)", "forecast.csv": "forecast (CSV)", "report.html": "report (HTML)" });
  const tuned = result.tuned;
  $("tuned").hidden = !tuned;
  if (tuned) {
    const s = tuned.settings;
    $("tuned").textContent = `Tuned (trial ${tuned.trial}, MASE ${tuned.MASE.toFixed(3)} on the data before the backtest): ` +
      `${s.architecture.toUpperCase()}${s.architecture === "lstm" ? " (" + s.variant + ")" : ""}, hidden ${s.hidden}, ` +
      `${s.layers} layer${s.layers === 1 ? "" : "s"}, window ${s.window}, learning rate ${s.lr.toPrecision(2)}.`;
  }
  const gates = (status.images || []).includes("gates_heatmaps.png");
  if (gates) showImage($("gates"), `/v1/jobs/${jobId}/files/gates_heatmaps.png`);
  $("inside").hidden = !gates;
  $("step-result").hidden = false;
}

// ------------------------------------------------------------------ wiring
$("file").addEventListener("change", onFile);
$("settings").addEventListener("submit", onTrain);
document.querySelectorAll('input[name="task"]').forEach((radio) => radio.addEventListener("change", showTask));
$("c-layout").addEventListener("change", showTask);
$("cancel").addEventListener("click", onCancel);
window.addEventListener("hashchange", () => { const id = jobFromUrl(); if (id) follow(id); });
if (jobFromUrl()) follow(jobFromUrl());
