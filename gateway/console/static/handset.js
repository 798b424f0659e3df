// The handset page: send what is typed (SMS, or USSD for *…#), show what comes back, the ledger beside it,
// the clock, and the recording as a .conv script. Everything goes through /console/api/ and /test/clock.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { msisdn: "", service: "", since: {}, start: 0, recording: null, ussdOpen: false, lastService: "" };

async function api(path, body) {
  const init = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const response = await fetch(path, init);
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.message || response.statusText);
  return answer;
}

function bubble(kind, text, at) {
  const div = document.createElement("div");
  div.className = "bubble " + kind;
  div.textContent = text;
  const time = document.createElement("time");
  time.textContent = at;
  div.appendChild(time);
  $("thread").appendChild(div);
  $("thread").scrollTop = $("thread").scrollHeight;
}

function showScreen(text, ended) {
  const screen = $("screen");
  screen.hidden = false;
  screen.textContent = text + (ended ? "\n— 会话结束 —" : "");
  screen.classList.toggle("ended", ended);
}

function record(line) {
  if (state.recording !== null) {
    state.recording.push(line);
    $("script").value = state.recording.join("\n") + "\n";
  }
}

function recordAnswer(message) {
  if (message.kind === "sms") return record("< " + message.text);
  const [first, ...rest] = message.text.split("\n");
  record("< " + (message.kind === "close" ? "END " : "CON ") + first);
  for (const line of rest) record("      " + line);
}

async function poll() {
  if (!state.msisdn) return;
  const since = state.since[state.msisdn] ?? state.start;
  try {
    const answer = await api(`/console/api/messages?msisdn=${state.msisdn}&since=${since}`);
    state.since[state.msisdn] = answer.next;
    for (const message of answer.messages) {
      if (message.kind === "sms") bubble("mt", message.text, message.at);
      else showScreen(message.text, message.kind === "close");
      recordAnswer(message);
    }
    state.ussdOpen = answer.ussd_open;
    $("state").textContent = state.ussdOpen ? "USSD" : "";
  } catch (error) {
    $("state").textContent = "⚠ " + error.message;
  }
}

async function refreshLedger() {
  if (!state.msisdn) return;
  try {
    const l = await api(`/console/api/ledger?msisdn=${state.msisdn}`);
    const rows = [
      ["name", l.name], ["plan", l.plan], ["status", l.status], ["balance", l.balance], ["available", l.available],
      ["gift", l.gift], ["points", String(l.points)],
      ["packages", l.packages.map((p) => p.name + (p.until ? ` (to ${p.until})` : "")).join("、") || "—"],
      ["data left", l.data_left || "—"],
      ["dialog", l.dialogs.map((d) => `${d.kind} ${d.name} @${d.service}`).join("; ") || "—"],
    ];
    $("ledger").replaceChildren(...rows.flatMap(([k, v]) => {
      const dt = document.createElement("dt"); dt.textContent = k;
      const dd = document.createElement("dd"); dd.textContent = v; dd.dataset.field = k.replace(" ", "_");
      return [dt, dd];
    }));
  } catch (error) {
    $("ledger").textContent = error.message;
  }
}

async function refreshClock() {
  const clock = await api("/test/clock");
  $("clock").textContent = clock.now.replace("T", " ").slice(0, 19) + (clock.movable ? " (manual)" : " (system)");
  $("clock-moves").hidden = !clock.movable;
  return clock;
}

async function moveClock(body) {
  const clock = await api("/test/clock", body);
  record("at " + clock.now.replace("T", " ").slice(0, 19));
  await refreshClock();
}

async function send(event) {
  event.preventDefault();
  const text = $("input").value.trim();
  if (!text) return;
  $("input").value = "";
  await poll(); // whatever came before belongs before this step
  try {
    const { sent, at } = await api("/console/api/send", { msisdn: state.msisdn, service: state.service, text });
    if (sent === "dial") { showScreen("…", false); record("dial " + text); }
    else if (sent === "answer") { record("> " + text); }
    else {
      if (state.service !== state.lastService) { record("service " + state.service); state.lastService = state.service; }
      bubble("mo", text, at);
      record("> " + text);
    }
  } catch (error) {
    bubble("mt error", error.message, "");
  }
}

async function toggleRecording() {
  if (state.recording === null) {
    const [fixture, clock] = await Promise.all([api(`/console/api/fixture?msisdn=${state.msisdn}`), refreshClock()]);
    state.lastService = state.service;
    state.recording = [
      "# Recorded on the handset", `subscriber ${state.msisdn}`, `service ${state.service}`,
      "clock " + clock.now.replace("T", " ").slice(0, 19), "", ...fixture.ledger.trimEnd().split("\n"), "",
    ];
    $("script").value = state.recording.join("\n") + "\n";
    $("record").textContent = "Stop recording";
    $("download").hidden = true;
  } else {
    await poll();
    const text = state.recording.join("\n") + "\n";
    state.recording = null;
    $("script").value = text;
    $("download").href = "data:text/plain;charset=utf-8," + encodeURIComponent(text);
    $("download").hidden = false;
    $("record").textContent = "Start recording";
  }
}

async function start() {
  const { subscribers, services } = await api("/console/api/subscribers");
  $("subscriber").replaceChildren(...subscribers.map((s) => new Option(`${s.msisdn} ${s.name}`, s.msisdn)));
  $("service").replaceChildren(...services.map((n) => new Option(n, n)));
  const chosen = () => {
    state.msisdn = $("subscriber").value;
    state.service = $("service").value;
    $("to").textContent = `${state.msisdn} → ${state.service}`;
    $("thread").replaceChildren();
    $("screen").hidden = true;
    refreshLedger();
  };
  $("subscriber").addEventListener("change", chosen);
  $("service").addEventListener("change", chosen);
  chosen();
  // what is already in the simulator's record is history: every thread starts after it
  state.start = (await api(`/console/api/messages?msisdn=${state.msisdn}&since=1000000000`)).next;
  $("compose").addEventListener("submit", send);
  $("record").addEventListener("click", toggleRecording);
  for (const button of document.querySelectorAll("[data-advance]")) {
    button.addEventListener("click", () => moveClock({ advance: Number(button.dataset.advance) }));
  }
  $("clock-set").addEventListener("click", () => moveClock({ at: $("clock-at").value.trim().replace(" ", "T") }));
  await refreshClock();
  setInterval(poll, 400);
  setInterval(refreshLedger, 1500);
  document.body.dataset.ready = "true";
}

start();
