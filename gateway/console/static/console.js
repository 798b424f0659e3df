// The operator's live console: /console/api/live every second (behind the admin token), rates worked out from
// the counters' change, a chart of the last five minutes, campaigns' progress, the last errors.
"use strict";

const $ = (id) => document.getElementById(id);
const KEPT = 300;
const state = { token: sessionStorage.getItem("token") || "", last: null, lastAt: 0, history: [], timer: null };

const FIGURES = [
  ["mo_rate", "MOs / s"], ["mt_rate", "MTs / s"], ["mos_answered", "MOs answered"],
  ["p50", "latency p50 ms"], ["p90", "latency p90 ms"], ["p99", "latency p99 ms"],
  ["outbox_depth", "outbox depth"], ["window_in_flight", "window in flight"], ["throttled", "throttled"],
  ["dialogs_pending", "dialogs pending"], ["ussd_sessions_open", "USSD sessions open"],
];

function figure(key, value) {
  let box = document.querySelector(`[data-figure="${key}"]`);
  if (!box) {
    box = document.createElement("div");
    box.className = "figure";
    box.dataset.figure = key;
    box.innerHTML = "<b></b><span></span>";
    box.querySelector("span").textContent = FIGURES.find(([k]) => k === key)[1];
    $("figures").appendChild(box);
  }
  box.querySelector("b").textContent = value === null || value === undefined ? "—" : String(value);
}

function draw() {
  const canvas = $("chart");
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  const top = Math.max(1, ...state.history.map((h) => Math.max(h.mo, h.mt)));
  for (const [key, colour] of [["mo", "#2f7cf6"], ["mt", "#e07b00"]]) {
    g.strokeStyle = colour;
    g.beginPath();
    state.history.forEach((h, i) => {
      const x = (i / (KEPT - 1)) * canvas.width;
      const y = canvas.height - 10 - (h[key] / top) * (canvas.height - 20);
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
  }
  g.fillStyle = "#667";
  g.fillText(`max ${top.toFixed(1)}/s`, 8, 14);
}

async function tick() {
  const response = await fetch("/console/api/live", { headers: { Authorization: "Bearer " + state.token } });
  const live = await response.json();
  if (!response.ok) { $("status").textContent = "⚠ " + live.message; return; }
  $("status").textContent = "live";
  const at = performance.now() / 1000; // rates by the wall clock: the gateway's may be a manual one
  const seconds = state.last ? Math.max(0.001, at - state.lastAt) : 1;
  const rate = (name) => state.last ? Math.max(0, (live.counters[name] - state.last.counters[name]) / seconds) : 0;
  const mo = rate("mos_received"), mt = rate("mts_submitted");
  state.history.push({ mo, mt });
  if (state.history.length > KEPT) state.history.shift();
  state.last = live;
  state.lastAt = at;
  figure("mo_rate", mo.toFixed(1));
  figure("mt_rate", mt.toFixed(1));
  figure("mos_answered", live.counters.mos_answered);
  for (const q of ["p50", "p90", "p99"]) figure(q, live.latency_ms[q]);
  for (const g of ["outbox_depth", "window_in_flight", "dialogs_pending", "ussd_sessions_open"]) figure(g, live.gauges[g]);
  figure("throttled", live.counters.throttled);
  $("binds").replaceChildren(...(live.binds.length ? live.binds : [{ mode: "no bind", bound: false }]).map((b) => {
    const span = document.createElement("span");
    span.className = "bind" + (b.bound ? " up" : "");
    span.textContent = `${b.mode} ${b.bound ? "bound" : "down"}`;
    return span;
  }));
  $("campaigns").replaceChildren(...live.campaigns.map((c) => {
    const row = document.createElement("div");
    const bar = document.createElement("progress");
    bar.max = Math.max(1, c.selected); bar.value = c.settled;
    row.append(`#${c.id} ${c.kind} ${c.settled}/${c.selected} `, bar, c.finished ? " done" : "");
    return row;
  }));
  $("errors").replaceChildren(...live.errors.map((e) => {
    const li = document.createElement("li");
    li.textContent = `${e.level} ${e.logger}: ${e.msg}`;
    return li;
  }));
  draw();
}

function connect() {
  state.token = $("token").value.trim() || state.token;
  sessionStorage.setItem("token", state.token);
  clearInterval(state.timer);
  state.last = null;
  tick();
  state.timer = setInterval(tick, 1000);
}

$("token").value = state.token;
$("connect").addEventListener("click", connect);
if (state.token) connect();
document.body.dataset.ready = "true";
