// MuscleMap page: upload a video, follow the job, draw the results. No dependencies, no network
// beyond this server's /api.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG_NS = "http://www.w3.org/2000/svg";
const TOP_ROWS = 8; // timeline rows shown before "Show all 20 groups"
const POLL_MS = 500;

const state = {
  maxUploadMb: 200,
  names: {},
  result: null,
  pieces: [],
  videoUrl: null,
  duration: 0,
  showAllRows: false,
  playhead: null,
  timelineGeom: null,
};

function groupName(id) {
  return capitalise(state.names[id] || id.replace(/_/g, " "));
}

function pct(x) {
  return `${Math.round(x * 100)}%`;
}

function formatTime(seconds, step = 0.1) {
  const s = Math.max(0, seconds);
  if (s < 60) return `${step >= 1 ? Math.round(s) : s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  const rest = Math.round(s - m * 60);
  return `${m}:${rest < 10 ? "0" : ""}${rest}`;
}

// Grey -> yellow -> orange -> red: the body map's colour scale (musclemap.viz.body_map.COLOR_STOPS),
// so the page, the pictures and the downloads read the same.
const HEAT_STOPS = [
  [0.0, [222, 223, 228]],
  [0.2, [254, 237, 170]],
  [0.45, [254, 196, 80]],
  [0.7, [243, 120, 45]],
  [1.0, [190, 20, 35]],
];

function heat(p) {
  const x = Math.min(1, Math.max(0, p));
  for (let i = 1; i < HEAT_STOPS.length; i++) {
    const [x1, c1] = HEAT_STOPS[i];
    const [x0, c0] = HEAT_STOPS[i - 1];
    if (x <= x1) {
      const t = (x - x0) / (x1 - x0);
      const c = c0.map((v, k) => Math.round(v + (c1[k] - v) * t));
      return `rgb(${c[0]},${c[1]},${c[2]})`;
    }
  }
  return "rgb(190,20,35)";
}

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

function svgEl(tag, attrs = {}) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

// ---------------------------------------------------------------- upload and job progress

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
}

function setMeter(bar, label, fraction) {
  $(bar).style.width = pct(fraction);
  $(label).textContent = pct(fraction);
}

function resetUpload() {
  $("error").hidden = true;
  $("status").hidden = true;
  $("results").hidden = true;
  $("upload").classList.remove("compact");
  setMeter("upload-bar", "upload-pct", 0);
  setMeter("job-bar", "job-pct", 0);
  if (state.videoUrl) URL.revokeObjectURL(state.videoUrl);
  state.videoUrl = null;
  state.result = null;
  resetExplain();
}

function startUpload(file) {
  resetUpload();
  if (file.size > state.maxUploadMb * 1024 * 1024) {
    showError(`This file is ${(file.size / 2 ** 20).toFixed(0)} MB; the limit is ${state.maxUploadMb} MB.`);
    return;
  }
  state.videoUrl = URL.createObjectURL(file);
  $("filename").textContent = file.name;
  $("stage").textContent = "Uploading...";
  $("status").hidden = false;
  $("upload").classList.add("compact");
  document.body.classList.add("busy");

  const form = new FormData();
  form.append("file", file, file.name);
  const fps = $("fps").value;
  if (fps) form.append("fps", fps);
  const exercise = $("exercise").value.trim();
  if (exercise) form.append("exercise", exercise);
  const rotate = $("rotate").value;
  if (rotate !== "auto") form.append("rotate", rotate);

  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/api/predict");
  xhr.responseType = "json";
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable) setMeter("upload-bar", "upload-pct", e.loaded / e.total);
  };
  xhr.onload = () => {
    if (xhr.status === 202 && xhr.response && xhr.response.job_id) {
      setMeter("upload-bar", "upload-pct", 1);
      $("stage").textContent = "Waiting for a worker...";
      pollJob(xhr.response.job_id);
    } else {
      failed(detail(xhr.response, `Upload refused (HTTP ${xhr.status}).`));
    }
  };
  xhr.onerror = () => failed("The upload failed: the server closed the connection.");
  xhr.send(form);
}

function detail(body, fallback) {
  return body && typeof body.detail === "string" ? body.detail : fallback;
}

function failed(message) {
  document.body.classList.remove("busy");
  $("status").hidden = true;
  $("upload").classList.remove("compact");
  showError(capitalise(message));
}

async function pollJob(jobId) {
  let job;
  try {
    const response = await fetch(`/api/jobs/${jobId}`);
    job = await response.json();
    if (!response.ok) return failed(detail(job, `Lost the job (HTTP ${response.status}).`));
  } catch (err) {
    return failed("Lost contact with the server.");
  }
  setMeter("job-bar", "job-pct", job.progress.fraction);
  $("stage").textContent = job.status === "queued" ? "Waiting for a worker..." : capitalise(job.progress.stage);
  if (job.status === "done") return showResults(job);
  if (job.status === "failed") return failed(`Analysis failed: ${job.error}`);
  setTimeout(() => pollJob(jobId), POLL_MS);
}

function capitalise(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : "";
}

// ---------------------------------------------------------------- results

async function showResults(job) {
  document.body.classList.remove("busy");
  state.result = job.result;
  const result = job.result;
  $("status").hidden = true;
  $("upload").classList.add("compact");
  $("results").hidden = false;

  $("result-title").textContent = job.filename;
  const people = result.people > 1 ? ` · ${result.people} people seen (the most visible one is analysed)` : "";
  $("result-meta").textContent =
    `Person visible in ${pct(result.pose_coverage)} of frames${people} · model ${result.model.name} ${result.model.version}` +
    exerciseText(result.exercise) +
    (result.segments && result.segments.length ? partsText(result.segments) : repetitionsText(result.repetitions));
  const warning = $("warning");
  warning.hidden = result.pose_coverage >= 0.5;
  warning.textContent = "The person is hidden in much of the video, so these results are less reliable.";
  // The prediction's notes (input checks: a turned or maybe turned picture, low pose confidence...).
  const notes = result.notes || [];
  $("notes").replaceChildren(...notes.map((note) => el("li", {}, capitalise(pageNote(note)))));
  $("notes").hidden = notes.length === 0;

  drawChips(result);
  drawLooksLike(result);
  drawBars(result.muscles, new Set(result.active));
  $("dl-json").href = job.links["result.json"];
  $("dl-body").href = job.links["body-map.png"];
  $("dl-timeline").href = job.links["timeline.png"];
  setupExplain(job);

  const player = $("player");
  state.pieces = timelinePieces(result.timeline);
  state.duration = state.pieces.length ? state.pieces[state.pieces.length - 1].end_s : 0;
  player.src = state.videoUrl;
  drawTimeline();
  await loadBodyMap(job.links["body-map.svg"]);
  $("results").scrollIntoView({ behavior: "smooth", block: "start" });
}

// The orientation notes name the CLI's flag ("run again with --rotate 90 (turns it 90 degrees
// clockwise)"); the page names its own Upright option, which sends the same `rotate`.
function pageNote(note) {
  return note.replace(/run again with --rotate (\d+)(?: \(turns it [^)]*\))?/g, (flag, deg) => {
    const option = document.querySelector(`#rotate option[value="${deg}"]`);
    return option ? `choose Upright "${option.textContent}" under Options and upload it again` : flag;
  });
}

// The exercise block (musclemap.analysis): the exercise (a guess unless named) and the groups
// it should work that the model finds weak, or finds active though it should not.
function exerciseText(ex) {
  if (!ex) return "";
  const names = (ids) => ids.map(groupName).join(", ");
  let text = ` · ${ex.guessed ? "looks like" : "exercise:"} ${ex.name.replaceAll("_", " ")}`;
  if (ex.missing.length) text += ` (expected but weak: ${names(ex.missing)})`;
  if (ex.unexpected.length) text += ` (active, not expected: ${names(ex.unexpected)})`;
  return text;
}

// The repetitions block (musclemap.analysis): a count, or the hold time of an isometric hold.
function repetitionsText(reps) {
  if (!reps) return "";
  if (reps.kind === "hold") return ` · held still ${reps.hold_s.toFixed(1)} s`;
  return ` · ${reps.count} repetition${reps.count === 1 ? "" : "s"} (${reps.joint})`;
}

// A video that changes exercise (the JSON's segments): each part's exercise, span and count.
function partsText(segments) {
  return " · parts: " + segments.map((seg) => {
    const ex = seg.exercise ? seg.exercise.name.replaceAll("_", " ") : "unknown";
    const reps = seg.repetitions ? repetitionsText(seg.repetitions).replace(" · ", ", ") : "";
    return `${ex} ${seg.start_s.toFixed(1)}-${seg.end_s.toFixed(1)} s${reps}`;
  }).join("; ");
}

function drawChips(result) {
  const list = $("active");
  list.replaceChildren();
  const active = result.active.length ? result.active : [];
  if (!active.length) list.append(el("li", { class: "chip none" }, "No group clearly active"));
  for (const id of active) {
    const chip = el("li", { class: "chip" });
    chip.append(el("span", {}, groupName(id)), el("b", {}, pct(result.muscles[id] || 0)));
    list.append(chip);
  }
}

// "Looks like": the closest exercises of the model's training library, so a user sees why.
function drawLooksLike(result) {
  let line = $("looks-like");
  if (!line) {
    line = el("p", { id: "looks-like", class: "looks-like" });
    $("active").after(line);
  }
  const items = result.looks_like || [];
  line.hidden = !items.length;
  line.textContent = items.length
    ? "Looks like: " + items.map((x) => `${x.exercise} (${x.similarity.toFixed(2)})`).join(", ")
    : "";
}

function drawBars(muscles, active) {
  const list = $("bars");
  list.replaceChildren();
  const sorted = Object.entries(muscles).sort((a, b) => b[1] - a[1]);
  for (const [id, p] of sorted) {
    const row = el("li", { class: active.has(id) ? "bar active" : "bar", "data-group": id });
    const track = el("span", { class: "bar-track" });
    const fill = el("span", { class: "bar-fill" });
    fill.style.width = pct(p);
    fill.style.background = heat(p);
    track.append(fill);
    row.append(el("span", { class: "bar-name" }, groupName(id)), track, el("span", { class: "bar-value" }, pct(p)));
    list.append(row);
  }
}

async function loadBodyMap(url) {
  const box = $("body-map");
  box.replaceChildren();
  try {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const doc = new DOMParser().parseFromString(await response.text(), "image/svg+xml");
    const svg = doc.documentElement;
    if (svg.nodeName !== "svg") throw new Error("not an SVG");
    // Inline (not <img>) so the drawing stays crisp and styleable; strip anything active.
    svg.querySelectorAll("script, foreignObject").forEach((n) => n.remove());
    svg.querySelectorAll("*").forEach((n) => {
      for (const a of [...n.attributes]) if (a.name.startsWith("on")) n.removeAttribute(a.name);
    });
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    box.append(document.importNode(svg, true));
  } catch (err) {
    box.append(el("p", { class: "muted" }, `The body map could not be shown (${err.message}).`));
  }
}

// ---------------------------------------------------------------- timeline synced with the video

// Timeline windows may overlap (sliding windows): cut time at every window edge and give each
// piece the mean of the windows covering it, as the timeline PNG does.
function timelinePieces(timeline) {
  const edges = [...new Set(timeline.flatMap((w) => [w.start_s, w.end_s]))].sort((a, b) => a - b);
  const pieces = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    const [a, b] = [edges[i], edges[i + 1]];
    const covering = timeline.filter((w) => w.start_s <= a && w.end_s >= b);
    if (!covering.length) continue;
    const muscles = {};
    for (const w of covering) {
      for (const [id, p] of Object.entries(w.muscles)) muscles[id] = (muscles[id] || 0) + p / covering.length;
    }
    pieces.push({ start_s: a, end_s: b, muscles });
  }
  return pieces;
}

function timelineRows() {
  const result = state.result;
  const ids = Object.keys(result.muscles);
  // Rank by the strongest moment, not the average, so briefly-working groups still show.
  const peak = (id) => Math.max(result.muscles[id] || 0, ...state.pieces.map((s) => s.muscles[id] || 0));
  ids.sort((a, b) => peak(b) - peak(a));
  return state.showAllRows ? ids : ids.slice(0, TOP_ROWS);
}

function drawTimeline() {
  const box = $("timeline");
  const result = state.result;
  if (!result) return;
  box.replaceChildren();
  const rows = timelineRows();
  const width = Math.max(280, box.clientWidth || 600);
  const narrow = width < 520;
  const labelW = narrow ? 96 : 128;
  const rowH = narrow ? 20 : 22;
  const axisH = 22;
  const plotW = width - labelW - 8;
  const height = rows.length * rowH + axisH;
  const duration = Math.max(state.duration, 1e-3);
  const x = (t) => labelW + (t / duration) * plotW;

  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "timeline-svg" });
  rows.forEach((id, r) => {
    const y = r * rowH;
    const label = svgEl("text", { x: labelW - 8, y: y + rowH / 2 + 4, "text-anchor": "end", class: "tl-label" });
    label.textContent = groupName(id);
    svg.append(label);
    for (const seg of state.pieces) {
      const p = seg.muscles[id] || 0;
      const cell = svgEl("rect", {
        x: x(seg.start_s), y: y + 1, width: Math.max(1, x(seg.end_s) - x(seg.start_s)), height: rowH - 2,
        fill: heat(p), class: "tl-cell",
      });
      const tip = svgEl("title");
      tip.textContent = `${groupName(id)} ${formatTime(seg.start_s)}-${formatTime(seg.end_s)}: ${pct(p)}`;
      cell.append(tip);
      svg.append(cell);
    }
  });
  const axisY = rows.length * rowH;
  // Where a video that changes exercise begins each part after the first: a solid line.
  const parts = result.segments || [];
  parts.slice(1).forEach((part, i) => {
    const line = svgEl("line", { x1: x(part.start_s), x2: x(part.start_s), y1: 0, y2: axisY, class: "tl-part" });
    const tip = svgEl("title");
    const looks = part.looks_like && part.looks_like.length ? `: looks like ${part.looks_like[0].exercise}` : "";
    tip.textContent = `part ${i + 2} from ${formatTime(part.start_s)}${looks}`;
    line.append(tip);
    svg.append(line);
  });
  // Each repetition's turning point as a dashed line (its span and range of motion as a title);
  // a video that changes exercise has each part's own, numbered on.
  const partReps = parts.flatMap((part) => (part.repetitions && part.repetitions.reps) || []);
  const reps = parts.some((part) => part.repetitions)
    ? partReps.map((rep, i) => ({ ...rep, index: i + 1 }))
    : (result.repetitions && result.repetitions.reps) || [];
  for (const rep of reps) {
    const line = svgEl("line", { x1: x(rep.turn_s), x2: x(rep.turn_s), y1: 0, y2: axisY, class: "tl-rep" });
    const tip = svgEl("title");
    tip.textContent = `repetition ${rep.index}: ${formatTime(rep.start_s)}-${formatTime(rep.end_s)}, range ${Math.round(rep.rom_deg)}°`;
    line.append(tip);
    svg.append(line);
  }
  svg.append(svgEl("line", { x1: labelW, x2: labelW + plotW, y1: axisY + 1, y2: axisY + 1, class: "tl-axis" }));
  const step = niceStep(duration, plotW / 70);
  for (let t = 0; t <= duration + 1e-6; t += step) {
    svg.append(svgEl("line", { x1: x(t), x2: x(t), y1: axisY + 1, y2: axisY + 5, class: "tl-axis" }));
    const tick = svgEl("text", { x: x(t), y: axisY + 17, "text-anchor": "middle", class: "tl-tick" });
    tick.textContent = formatTime(t, step);
    svg.append(tick);
  }
  const playhead = svgEl("g", { class: "tl-playhead" });
  playhead.append(svgEl("line", { x1: 0, x2: 0, y1: 0, y2: axisY }));
  playhead.append(svgEl("path", { d: "M-5,0 L5,0 L0,6 Z" }));
  svg.append(playhead);
  // Transparent layer catching clicks and drags over the plot.
  const hit = svgEl("rect", { x: labelW, y: 0, width: plotW, height: axisY + axisH, class: "tl-hit" });
  svg.append(hit);
  box.append(svg);
  state.playhead = playhead;
  state.timelineGeom = { labelW, plotW, duration, svg };
  hit.addEventListener("pointerdown", (e) => {
    seekFromPointer(e);
    hit.setPointerCapture(e.pointerId);
  });
  hit.addEventListener("pointermove", (e) => {
    if (e.buttons) seekFromPointer(e);
  });
  $("toggle-rows").textContent = state.showAllRows ? `Show top ${TOP_ROWS} groups` : "Show all 20 groups";
  updatePlayhead();
}

function niceStep(duration, maxTicks) {
  const raw = duration / Math.max(1, maxTicks);
  for (const s of [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600]) if (s >= raw) return s;
  return 1200;
}

function seekFromPointer(e) {
  const g = state.timelineGeom;
  const box = g.svg.getBoundingClientRect();
  const scale = box.width / g.svg.viewBox.baseVal.width;
  const t = ((e.clientX - box.left) / scale - g.labelW) / g.plotW * g.duration;
  const player = $("player");
  const clamped = Math.min(Math.max(t, 0), g.duration);
  if (Number.isFinite(player.duration)) player.currentTime = Math.min(clamped, player.duration);
  else player.currentTime = clamped;
  updatePlayhead(clamped);
}

function updatePlayhead(forced) {
  const g = state.timelineGeom;
  if (!g || !state.playhead) return;
  const t = forced !== undefined ? forced : $("player").currentTime || 0;
  const px = g.labelW + Math.min(t / g.duration, 1) * g.plotW;
  state.playhead.setAttribute("transform", `translate(${px},0)`);
  showNow(t);
}

function showNow(t) {
  const pieces = state.pieces;
  const seg = pieces.find((s) => t >= s.start_s && t < s.end_s) || pieces[pieces.length - 1];
  if (!seg) return;
  const top = Object.entries(seg.muscles).sort((a, b) => b[1] - a[1]).slice(0, 3);
  $("now").replaceChildren(el("span", { class: "now-time" }, formatTime(t)));
  for (const [id, p] of top) {
    const chip = el("span", { class: "now-chip" });
    chip.append(el("i", { style: `background:${heat(p)}` }), document.createTextNode(`${groupName(id)} ${pct(p)}`));
    $("now").append(chip);
  }
}

function followVideo() {
  updatePlayhead();
  if (!$("player").paused) requestAnimationFrame(followVideo);
}

// ---------------------------------------------------------------- explain: which joints drove a group

// GET explain.png?group=G: computed by the server on first request (seconds), cached after.
const explain = { url: null, image: null, request: 0, intro: "" };

function resetExplain() {
  explain.request++; // a late answer about the previous video is dropped
  explain.url = null;
  if (explain.image) URL.revokeObjectURL(explain.image);
  explain.image = null;
  $("explain").hidden = true;
  $("explain").classList.remove("loading");
  $("explain-link").hidden = true;
}

function setupExplain(job) {
  resetExplain();
  explain.url = job.links["explain.png"];
  if (!explain.url) return; // the job kept no poses, or the server cannot explain
  const select = $("explain-group");
  select.replaceChildren(el("option", { value: "" }, "Choose a group..."));
  for (const [id, p] of Object.entries(job.result.muscles).sort((a, b) => b[1] - a[1])) {
    select.append(el("option", { value: id }, `${groupName(id)} (${pct(p)})`));
  }
  $("explain-status").textContent = explain.intro;
  $("explain").hidden = false;
}

async function loadExplain(group) {
  if (!group || !explain.url) return;
  const request = ++explain.request;
  const stale = () => request !== explain.request;
  $("explain").classList.add("loading");
  $("explain-status").textContent = `Computing the map of ${groupName(group)}: a few seconds, longer for long videos...`;
  let message = explain.intro;
  try {
    const response = await fetch(`${explain.url}?group=${encodeURIComponent(group)}`);
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      message = detail(body, `The map could not be computed (HTTP ${response.status}).`);
    } else {
      const blob = await response.blob();
      if (stale()) return;
      if (explain.image) URL.revokeObjectURL(explain.image);
      explain.image = URL.createObjectURL(blob);
      const img = $("explain-img");
      img.src = explain.image;
      img.alt = `Which joints drove ${groupName(group)}: the skeleton and a joints x time map`;
      img.dataset.group = group;
      $("explain-link").href = explain.image;
      $("explain-link").title = "Open the picture at full size";
      $("explain-link").hidden = false;
    }
  } catch (err) {
    message = "Lost contact with the server.";
  }
  if (stale()) return;
  $("explain").classList.remove("loading");
  $("explain-status").textContent = capitalise(message);
}

// ---------------------------------------------------------------- wiring

function wire() {
  const drop = $("drop");
  $("file").addEventListener("change", (e) => {
    if (e.target.files.length) startUpload(e.target.files[0]);
    e.target.value = "";
  });
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
  }
  for (const type of ["dragleave", "drop"]) drop.addEventListener(type, () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    if (e.dataTransfer.files.length) startUpload(e.dataTransfer.files[0]);
  });
  // A file dropped outside the box would make the browser navigate away from the page.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());

  const player = $("player");
  player.addEventListener("play", () => requestAnimationFrame(followVideo));
  player.addEventListener("seeked", () => updatePlayhead());
  player.addEventListener("timeupdate", () => updatePlayhead());
  player.addEventListener("loadedmetadata", () => {
    if (Number.isFinite(player.duration) && player.duration > state.duration) {
      state.duration = player.duration;
      drawTimeline();
    }
  });
  explain.intro = $("explain-status").textContent.replace(/\s+/g, " ").trim();
  $("explain-group").addEventListener("change", (e) => loadExplain(e.target.value));
  $("toggle-rows").addEventListener("click", () => {
    state.showAllRows = !state.showAllRows;
    drawTimeline();
  });
  $("again").addEventListener("click", () => {
    resetUpload();
    $("file").click();
  });
  let resizeTimer = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(drawTimeline, 150);
  });
}

async function loadInfo() {
  try {
    const [health, groups] = await Promise.all([fetch("/api/health"), fetch("/api/groups")]);
    const h = await health.json();
    state.maxUploadMb = h.max_upload_mb;
    $("limits").textContent = `MP4, MOV, WebM or AVI, one person exercising, up to ${h.max_upload_mb} MB`;
    for (const g of await groups.json()) state.names[g.id] = g.name;
  } catch (err) {
    showError("The server is not answering; is `musclemap serve` running?");
  }
}

wire();
loadInfo();
