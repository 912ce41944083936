/// The page at `GET /`: pick or drop a photo, see each loaded model's top-5 as bars side by side
/// with its latency, and the table of loaded models. One self-contained document (inline CSS and
/// script, no build step, nothing fetched from elsewhere) that calls `/v1/models` and `/v1/classify`.
enum WebPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>convnext serve</title>
<style>
  :root { --fg: #1d2330; --muted: #667085; --line: #d0d5dd; --bar: #3b82f6; --bg: #f8fafc; }
  * { box-sizing: border-box; }
  body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); margin: 0; }
  header { padding: 14px 24px; background: #fff; border-bottom: 1px solid var(--line); display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 19px; margin: 0; }
  header .links a { color: var(--muted); margin-right: 12px; font-size: 13px; }
  main { padding: 20px 24px; max-width: 1200px; }
  #drop { border: 2px dashed var(--line); border-radius: 10px; background: #fff; padding: 18px; display: flex; gap: 18px; align-items: center; }
  #drop.over { border-color: var(--bar); background: #eff6ff; }
  #preview { width: 160px; height: 160px; object-fit: contain; background: #eef2f6; border-radius: 6px; }
  #preview[hidden] { display: none; }
  #status { color: var(--muted); margin: 10px 0 0; min-height: 1.4em; }
  #status[data-state="error"] { color: #b42318; }
  #results { display: grid; grid-template-columns: repeat(auto-fill, minmax(270px, 1fr)); gap: 14px; margin: 18px 0; }
  .model { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; }
  .model h2 { font-size: 16px; margin: 0 0 2px; overflow-wrap: anywhere; }
  .model .meta, .model .times { color: var(--muted); font-size: 12.5px; }
  .model ol { list-style: none; padding: 0; margin: 10px 0; }
  .model li { display: grid; grid-template-columns: 1fr 58px; gap: 2px 8px; margin-bottom: 6px; }
  .model li .label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .model li .p { text-align: right; font-variant-numeric: tabular-nums; }
  .model li .track { grid-column: 1 / 3; height: 7px; background: #eef2f6; border-radius: 4px; }
  .model li .fill { height: 100%; background: var(--bar); border-radius: 4px; }
  .model li.top1 .label { font-weight: 600; }
  .model .error { color: #b42318; }
  table { border-collapse: collapse; background: #fff; width: 100%; font-size: 13.5px; }
  th, td { border: 1px solid var(--line); padding: 5px 8px; text-align: left; }
  th { background: #f1f5f9; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  #token-box { margin-top: 12px; }
  #token-box[hidden] { display: none; }
</style>
</head>
<body>
<header>
  <h1>convnext serve</h1>
  <span class="links"><a href="/openapi.json">openapi.json</a><a href="/metrics">metrics</a><a href="/v1/models">models</a></span>
</header>
<main>
  <div id="drop">
    <img id="preview" alt="the photo sent" hidden>
    <div>
      <p><strong>Drop a photo here</strong> or pick one (JPEG or PNG): every loaded model classifies it.</p>
      <input type="file" id="file" accept="image/jpeg,image/png">
      <div id="token-box" hidden>
        <label>Bearer token <input type="password" id="token" size="28" autocomplete="off"></label>
        <button id="token-save" type="button">Use</button>
      </div>
    </div>
  </div>
  <p id="status" data-state="idle">Loading the models…</p>
  <div id="results"></div>
  <h2 style="font-size:16px">Loaded models</h2>
  <table id="models">
    <thead><tr><th>name</th><th>variant</th><th>parameters</th><th>precision</th><th>engine</th><th>input</th><th>format</th><th>classes</th><th>inferences</th><th>p50 ms</th><th>p99 ms</th></tr></thead>
    <tbody></tbody>
  </table>
</main>
<script>
"use strict";
const state = { token: sessionStorage.getItem("convnext-token") || "", models: [] };
const $ = (id) => document.getElementById(id);

function setStatus(text, kind) {
  $("status").textContent = text;
  $("status").dataset.state = kind;
}

async function api(path, options) {
  options = options || {};
  const headers = Object.assign({}, options.headers || {});
  if (state.token) headers["Authorization"] = "Bearer " + state.token;
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) $("token-box").hidden = false;
  let body;
  try { body = await response.json(); } catch (e) { body = { error: response.statusText }; }
  if (!response.ok) throw new Error(body.error || ("HTTP " + response.status));
  return body;
}

function cell(row, text, numeric) {
  const td = document.createElement("td");
  td.textContent = text === undefined || text === null ? "–" : String(text);
  if (numeric) td.className = "num";
  row.appendChild(td);
}

function renderModels() {
  const body = document.querySelector("#models tbody");
  body.textContent = "";
  for (const m of state.models) {
    const row = document.createElement("tr");
    cell(row, m.name);
    cell(row, m.variant);
    cell(row, m.parameters ? m.parameters.toLocaleString("en-US") : null, true);
    cell(row, m.precision);
    cell(row, m.engine);
    cell(row, m.input_shape.join("×"));
    cell(row, m.format);
    cell(row, m.classes, true);
    const latency = m.latency || {};
    cell(row, latency.count || 0, true);
    cell(row, latency.p50_ms !== undefined ? latency.p50_ms.toFixed(2) : null, true);
    cell(row, latency.p99_ms !== undefined ? latency.p99_ms.toFixed(2) : null, true);
    body.appendChild(row);
  }
}

async function loadModels() {
  try {
    state.models = (await api("/v1/models")).models;
    renderModels();
    if ($("status").dataset.state === "idle" || $("status").dataset.state === "error")
      setStatus(state.models.length + " model(s) loaded: pick or drop a photo.", "ready");
  } catch (e) {
    setStatus("Could not list the models: " + e.message, "error");
  }
}

function modelCard(model) {
  const card = document.createElement("section");
  card.className = "model";
  card.dataset.model = model.name;
  const title = document.createElement("h2");
  title.textContent = model.name;
  const meta = document.createElement("div");
  meta.className = "meta";
  meta.textContent = [model.variant, model.precision, model.format, model.input_shape.join("×")].join(" · ");
  card.append(title, meta);
  return card;
}

function renderResult(card, result, roundTripMs) {
  const list = document.createElement("ol");
  result.top.forEach((entry, rank) => {
    const item = document.createElement("li");
    if (rank === 0) item.className = "top1";
    const label = document.createElement("span");
    label.className = "label";
    label.textContent = entry.label !== undefined && entry.label !== null ? entry.label : "class " + entry.index;
    label.title = "class " + entry.index;
    const p = document.createElement("span");
    p.className = "p";
    p.textContent = (entry.probability * 100).toFixed(1) + "%";
    const track = document.createElement("div");
    track.className = "track";
    const fill = document.createElement("div");
    fill.className = "fill";
    fill.style.width = Math.max(0.5, entry.probability * 100).toFixed(1) + "%";
    track.appendChild(fill);
    item.append(label, p, track);
    list.appendChild(item);
  });
  const t = result.times_ms;
  const times = document.createElement("div");
  times.className = "times";
  times.textContent = "inference " + t.inference.toFixed(2) + " ms · decode " + t.decode.toFixed(2) +
    " · preprocess " + t.preprocess.toFixed(2) + " · queue " + t.queue.toFixed(2) + " · round trip " + roundTripMs.toFixed(1) + " ms";
  card.append(list, times);
}

async function classify(file) {
  if (!file) return;
  const preview = $("preview");
  preview.src = URL.createObjectURL(file);
  preview.hidden = false;
  if (!state.models.length) await loadModels();
  const results = $("results");
  results.textContent = "";
  setStatus("Classifying " + file.name + " with " + state.models.length + " model(s)…", "busy");
  const type = file.type || (/\.png$/i.test(file.name) ? "image/png" : "image/jpeg");
  const bytes = await file.arrayBuffer();
  let failures = 0;
  await Promise.all(state.models.map(async (model) => {
    const card = modelCard(model);
    results.appendChild(card);
    const started = performance.now();
    try {
      const result = await api("/v1/classify?model=" + encodeURIComponent(model.name) + "&top=5",
        { method: "POST", headers: { "Content-Type": type }, body: bytes });
      renderResult(card, result, performance.now() - started);
    } catch (e) {
      failures += 1;
      const error = document.createElement("p");
      error.className = "error";
      error.textContent = e.message;
      card.appendChild(error);
    }
  }));
  setStatus(failures ? failures + " model(s) failed on " + file.name : "Classified " + file.name + ".", failures ? "error" : "done");
  loadModels();
}

$("file").addEventListener("change", (event) => classify(event.target.files[0]));
const drop = $("drop");
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  classify(event.dataTransfer.files[0]);
});
$("token-save").addEventListener("click", () => {
  state.token = $("token").value.trim();
  sessionStorage.setItem("convnext-token", state.token);
  $("token-box").hidden = true;
  loadModels();
});
loadModels();
</script>
</body>
</html>
"""#
}
