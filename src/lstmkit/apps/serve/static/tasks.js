// The detect and classify tasks of the browser app: the task choice after the preview, their
// settings (guessed from the table's columns), their job requests and their results.
"use strict";

const TASKS = ["forecast", "detect", "classify"];

function chosenTask() {
  return document.querySelector('input[name="task"]:checked').value;
}

// show the settings of the chosen task only (and of the classify table's layout)
function showTask() {
  const task = chosenTask(), wide = $("c-layout").value === "wide";
  document.querySelectorAll(TASKS.map((t) => `.for-${t}`).join(",")).forEach((node) => {
    const mine = node.classList.contains(`for-${task}`);
    node.hidden = !mine || node.classList.contains(wide ? "long-only" : "wide-only");
  });
}

function options(select, names, first) {
  select.replaceChildren(...(first ? [el("option", first, { value: "" })] : []), ...names.map((c) => el("option", c, { value: c })));
}

// the classify settings from the preview: the layout (wide when no column names the sequences
// and 8 or more columns of numbers are left besides the label), id, order and label columns
// guessed by name
function fillClassify(p) {
  const cols = p.columns;
  const guess = (names, pattern, fallback) => names.find((c) => pattern.test(c)) ?? fallback;
  const named = guess(cols, /^(id|series|sequence|seq|sample|name)(_?id)?$/i, null);
  const first = cols.find((c) => !p.numeric.includes(c)) ?? cols[0];
  const label = guess(cols, /^(label|class|y|category|target)$/i, named ? cols[cols.length - 1] : first);
  const wide = !named && p.numeric.filter((c) => c !== label).length >= 8;
  const id = named ?? (wide ? "" : cols[0]);
  $("c-layout").value = wide ? "wide" : "long";
  const rest = cols.filter((c) => c !== id && c !== label);
  const order = guess(rest, /^(t|time|step|order|index|date|timestamp)$/i, p.time && rest.includes(p.time) ? p.time : "");
  options($("c-id"), cols, "(none: row numbers, wide tables)");
  options($("c-label"), cols);
  options($("c-order"), cols, "(file order)");
  [$("c-id").value, $("c-label").value, $("c-order").value] = [id, label, order];
  $("c-values").replaceChildren(...p.numeric.map((c, k) => {
    const box = el("input", null, { type: "checkbox", id: `cv-${k}`, value: c });
    box.checked = ![id, label, order].includes(c);
    const tag = el("label", null, { class: "check" });
    tag.append(box, ` ${c}`);
    return tag;
  }));
}

function taskRequest(task, csv) {
  const budget_s = numberOrNull("budget");
  const tuning = { tune: $("tune").checked, trials: numberOrNull("trials") || 20 };
  if (task === "detect") {
    return {
      task, csv, target: $("target").value, time: $("time").value || null, budget_s, ...tuning,
      train: (numberOrNull("d-train") || 50) / 100, quantile: numberOrNull("d-quantile") || 0.99,
      window: numberOrNull("d-window"), epochs: numberOrNull("d-epochs") || 30, hidden: numberOrNull("d-hidden") || 16,
    };
  }
  const layout = $("c-layout").value, wide = layout === "wide";
  const values = wide ? [] : [...document.querySelectorAll("#c-values input:checked")].map((box) => box.value);
  return {
    task, csv, layout, id: $("c-id").value || null, order: wide ? null : $("c-order").value || null,
    label: $("c-label").value, values, budget_s, ...tuning,
    test: (numberOrNull("c-test") || 25) / 100, architecture: $("c-arch").value,
    epochs: numberOrNull("c-epochs") || 100, hidden: numberOrNull("c-hidden"),
  };
}

// ------------------------------------------------------------------ tuning
// what each task's search scores its trials by (the rows' "metric")
const METRICS = {
  MASE: ["MASE", "Each trial trains on the data before the backtest and is scored by the MASE of its forecast of the last steps of that data"],
  val_loss: ["validation cross-entropy", "Each trial trains on part of the training sequences and is scored by its cross-entropy on the rest (the test sequences are never seen)"],
  val_error: ["validation error", "Each trial trains on the normal part less its end and is scored by its mean one-step prediction error on that end (in standard deviations)"],
};
const SHOWN = (k, v) => (typeof v !== "number" ? (v ?? "-") : k === "lr" ? v.toPrecision(2) : Number.isInteger(v) ? String(v) : v.toFixed(3));

// the trials table: trial, score, the settings tried, seconds; the best highlighted
function trialTable(rows) {
  const metric = rows[0].metric || "MASE";
  const keys = Object.keys(rows[0]).filter((k) => !["trial", "metric", metric, "seconds"].includes(k));
  const columns = ["trial", metric, ...keys, "seconds"];
  const scores = rows.map((t) => t[metric] ?? Infinity);
  fillTable($("trials-table"), columns, rows.map((t) => columns.map((c) => SHOWN(c, t[c]))), scores.indexOf(Math.min(...scores)));
  $("trials-note").textContent = `${(METRICS[metric] || [metric, "Each trial is scored"])[1]} (lower is better); the best is highlighted.`;
  return `tuning: ${rows.length} trial${rows.length === 1 ? "" : "s"} done, best ${(METRICS[metric] || [metric])[0]} ${SHOWN(metric, Math.min(...scores))}`;
}

// the settings a tuned job chose, in a sentence (node hidden for an untuned job)
function showTuned(node, tuned) {
  node.hidden = !tuned;
  if (!tuned) return;
  const s = tuned.settings, name = (METRICS[tuned.metric] || [tuned.metric])[0];
  node.textContent = `Tuned (trial ${tuned.trial}, ${name} ${SHOWN("", tuned[tuned.metric])}): ` +
    Object.keys(s).map((k) => `${k === "lr" ? "learning rate" : k} ${SHOWN(k, s[k])}`).join(", ") + ".";
}

// ------------------------------------------------------------------ results
function drawDetect(r) {
  const n = r.values.length, [w, h] = [600, 220];
  const lo = Math.min(...r.values), hi = Math.max(...r.values);
  const svg = $("detect-series");
  frame(svg, lo, hi, w, h);
  const x = scaler(0, Math.max(1, n - 1), 52, w - 12), y = scaler(lo, hi, h - 27, 12);
  svg.append(svgNode("rect", { class: "normal", x: 52, y: 10, width: x(r.train_rows - 1) - 52, height: h - 35 }));
  svg.append(svgNode("path", { class: "history", d: path(r.values.map((v, i) => [x(i), y(v)])) }));
  r.flags.slice(0, 2000).forEach((i) => svg.append(svgNode("circle", { class: "flag", cx: x(i), cy: y(r.values[i]), r: 3 })));
  svg.append(svgNode("text", { x: 52, y: h - 8 }, r.index[0].slice(0, 10)));
  svg.append(svgNode("text", { x: w - 80, y: h - 8 }, r.index[n - 1].slice(0, 10)));
  const scores = $("detect-scores"), sh = 160;
  const top = Math.max(...r.scores, r.threshold);
  frame(scores, 0, top, w, sh);
  const ys = scaler(0, top, sh - 27, 12);
  scores.append(svgNode("path", { class: "score", d: path(r.scores.map((v, i) => [x(i), ys(v)])) }));
  scores.append(svgNode("line", { class: "threshold", x1: 52, x2: w - 12, y1: ys(r.threshold), y2: ys(r.threshold) }));
}

function renderDetect(jobId, status) {
  const r = status.result;
  $("detect-info").textContent = `${r.flags.length} of ${r.values.length} rows of "${r.series}" flagged ` +
    `(score above ${r.threshold.toPrecision(3)}); the first ${r.train_rows} rows trained the detector (window ${r.window}).`;
  drawDetect(r);
  showTuned($("detect-tuned"), r.tuned);
  renderDownloads($("detect-downloads"), jobId, status.files,
    { "scores.csv": "scores (CSV)", "model.pt": "model (model.pt)", "report.html": "report (HTML)" });
  $("step-detect").hidden = false;
}

function renderClassify(jobId, status) {
  const r = status.result, f = (v) => v.toFixed(3);
  $("classify-info").textContent = `Accuracy ${f(r.accuracy)} on ${r.test} held-out sequences ` +
    `(the majority class alone: ${f(r.majority_accuracy)}); trained on ${r.train} sequences of up to ` +
    `${r.length} steps, ${r.channels} channel${r.channels === 1 ? "" : "s"}.`;
  showTuned($("classify-tuned"), r.tuned);
  fillTable($("confusion"), ["true \\ predicted", ...r.classes], r.confusion.map((row, k) => [r.classes[k], ...row.map(String)]));
  fillTable($("per-class"), ["class", "precision", "recall", "F1", "sequences"],
    r.per_class.map((c) => [c.class, f(c.precision), f(c.recall), f(c.f1), String(c.support)]));
  renderDownloads($("classify-downloads"), jobId, status.files,
    { "predictions.csv": "predictions (CSV)", "model.pt": "model (model.pt)", "report.html": "report (HTML)" });
  $("step-classify").hidden = false;
}
