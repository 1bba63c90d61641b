// The text page of `lstmkit serve`: upload a text, preview it, train a character language model
// as a job, follow it live (server-sent events), then generate from the model with a temperature,
// the text appearing as it is sampled. The job id lives in the URL (#job=<id>), as on the forecast page.
"use strict";

let textFile = null;
let rows = [];

// ------------------------------------------------------------------ 1. text
async function onFile(event) {
  const file = event.target.files[0];
  if (!file) return;
  showError("");
  $("step-settings").hidden = true;
  $("preview").hidden = true;
  textFile = null;
  const bytes = await file.arrayBuffer();
  try {
    const p = await api("POST", "/v1/preview/text", bytes, "text/plain");
    $("preview-info").textContent = `${p.characters.toLocaleString()} characters, ${p.lines.toLocaleString()} lines, ` +
      `${p.vocabulary} distinct characters (the commonest: ${JSON.stringify(p.common.slice(0, 20))})`;
    $("preview-lines").textContent = p.first_lines.join("\n");
    textFile = { name: file.name, text: new TextDecoder("utf-8").decode(bytes) };
    $("preview").hidden = false;
    $("step-settings").hidden = false;
  } catch (err) {
    showError(`${file.name}: ${err.message}`);
  }
}

// ------------------------------------------------------------------ 2. train
async function onTrain(event) {
  event.preventDefault();
  if (!textFile) return;
  showError("");
  const request = {
    task: "text", text: textFile.text, name: textFile.name.slice(0, 200),
    epochs: numberOrNull("epochs") || 20, budget_s: numberOrNull("budget"),
    hidden: numberOrNull("hidden") || 128, layers: numberOrNull("layers") || 1,
    bptt: numberOrNull("bptt") || 64, lr: numberOrNull("lr") || 0.003, seed: numberOrNull("seed") || 0,
  };
  await submitJob(request);
}

// ------------------------------------------------------------------ 3. follow the job
async function follow(jobId) {
  rows = [];
  $("step-generate").hidden = true;
  $("step-job").hidden = false;
  await watchJob(jobId, { progress: addProgress }, finish);
}

function addProgress(row) {
  rows.push(row);
  $("progress").value = row.fraction;
  const val = row.val_bits === null ? "" : `, validation ${row.val_bits.toFixed(3)}`;
  $("progress-text").textContent =
    `epoch ${row.epoch}: ${row.train_bits.toFixed(3)} bits per character${val} (${row.elapsed.toFixed(0)} s)`;
  drawCurves($("loss"), rows, "train_bits", "val_bits");
}

function finish(jobId, status) {
  if (!endedWell(status)) return;
  const r = status.result;
  if (r.kind !== "text") return showError(`job ${jobId} is a forecasting job: open it on the forecast page`);
  $("result-info").textContent = `Trained ${r.steps} steps in ${r.seconds.toFixed(0)} s on ` +
    `${r.characters.toLocaleString()} characters (a vocabulary of ${r.vocabulary}, its special tokens included): ` +
    `${r.valid_bits.toFixed(3)} bits per character on the last 10% of the text, held out.`;
  renderDownloads($("downloads"), jobId, status.files, { "model.pt": "model (model.pt)" });
  $("step-generate").hidden = false;
}

// ------------------------------------------------------------------ 4. generate (streamed)
async function onGenerate(event) {
  event.preventDefault();
  const jobId = jobFromUrl();
  if (!jobId) return;
  showError("");
  const body = {
    prime: $("prime").value, length: numberOrNull("length") || 300,
    temperature: Number($("temperature").value), seed: numberOrNull("gen-seed"), stream: true,
  };
  $("generate").disabled = true;
  $("generated").textContent = body.prime;
  try {
    const response = await call(`/v1/jobs/${jobId}/generate`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    });
    if (!response.ok) {
      const data = await response.json().catch(() => ({ detail: `${response.status} ${response.statusText}` }));
      throw new Error(detailText(data.detail));
    }
    await readEvents(response.body, (kind, data) => {
      if (kind === "error") throw new Error(data.detail);
      if (kind === "message") $("generated").append(data.text);
    });
  } catch (err) {
    showError(err.message);
  } finally {
    $("generate").disabled = false;
  }
}

// ------------------------------------------------------------------ wiring
$("file").addEventListener("change", onFile);
$("settings").addEventListener("submit", onTrain);
$("cancel").addEventListener("click", onCancel);
$("generate-form").addEventListener("submit", onGenerate);
$("temperature").addEventListener("input", () => { $("temperature-value").textContent = Number($("temperature").value).toFixed(1); });
window.addEventListener("hashchange", () => { const id = jobFromUrl(); if (id) follow(id); });
if (jobFromUrl()) follow(jobFromUrl());
