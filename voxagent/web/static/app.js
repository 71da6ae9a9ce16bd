// voxagent web: the page. Captures the microphone (AudioWorklet, 16 kHz mono PCM16, 20 ms
// frames), sends it over the websocket, and shows what the agent does: captions, the answer as
// it streams, tool calls with their arguments and results, confirmations, a latency bar per
// turn. Speaks answers with the browser's speech synthesis and stops at once on barge-in.
// The protocol is in docs/web.md. Text from the server (the model's, the tools') is only ever
// put into the page as text (textContent), never as HTML.

const $ = (id) => document.getElementById(id);
const ui = {
  status: $("status"), error: $("error"), log: $("log"), caption: $("caption"),
  start: $("start"), talk: $("talk"), speak: $("speak"), level: $("level"), tools: $("tools"),
  intro: $("intro"),
};

// Closes after which reconnecting would only be refused again.
const FINAL_CLOSES = new Set([1008, 1009, 4401]);
const token = new URLSearchParams(location.hash.slice(1)).get("token");

let socket = null;
let everConnected = false;
let retryDelay = 1000;
let mode = "hands_free";
let micOn = false;
let ready = false;
let turn = null;            // the turn being answered: {id, el, assistant, tools: Map}
let pendingYou = null;      // the user's bubble before its turn has started
const turns = new Map();    // turn_id -> turn
const confirms = new Map(); // call_id -> confirmation card

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function scrollDown() {
  window.scrollTo(0, document.body.scrollHeight);
}

// ------------------------------------------------------------------ status and errors

function setStatus(text, kind) {
  ui.status.textContent = text;
  ui.status.className = "status " + kind;
}

function showError(message, hint, warning = false) {
  ui.error.textContent = hint ? `${message} (${hint})` : message;
  ui.error.classList.toggle("warning", warning);
  ui.error.hidden = false;
}

function clearError() {
  ui.error.hidden = true;
  ui.error.textContent = "";
}

// ------------------------------------------------------------------ connection

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws`);
  ws.binaryType = "arraybuffer";
  socket = ws;
  let opened = false;
  ws.onopen = () => {
    opened = true;
    retryDelay = 1000;
    ws.send(JSON.stringify({ type: "hello", token, mode }));
  };
  ws.onmessage = (message) => {
    if (typeof message.data !== "string") return;
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    handle(event);
  };
  ws.onclose = (close) => {
    if (socket !== ws) return;
    socket = null;
    ready = false;
    updateControls();
    if (FINAL_CLOSES.has(close.code)) {
      setStatus("refused", "refused");
      if (ui.error.hidden) showError(close.reason || "the server refused this page");
      return;
    }
    if (!opened) {
      setStatus("server unreachable", "unreachable");
      showError(`The server at ${location.host} is unreachable: is voxagent web still running?`,
        `retrying in ${Math.round(retryDelay / 1000)} s`);
    } else {
      setStatus("disconnected", "unreachable");
      showError(`Lost the connection to the server at ${location.host}`,
        `retrying in ${Math.round(retryDelay / 1000)} s; a new conversation starts then`);
    }
    setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 10000);
  };
}

function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

// ------------------------------------------------------------------ events

function handle(event) {
  switch (event.type) {
    case "ready": {
      ready = true;
      if (everConnected) ui.log.append(el("p", "notice", "new conversation"));
      everConnected = true;
      clearError();
      setStatus("connected", "connected");
      ui.tools.textContent = event.tools.length ? "tools: " + event.tools.join(", ") : "";
      setMode(event.mode);
      updateControls();
      break;
    }
    case "mode":
      setMode(event.mode);
      break;
    case "speech_started":
      if (event.while_busy) stopSpeaking();
      youBubble().classList.add("listening");
      break;
    case "speech_ended": {
      const you = youBubble();
      you.classList.remove("listening");
      if (!you.dataset.text) setYouText(you, `(${event.duration.toFixed(1)} s of speech)`);
      ui.caption.hidden = true;
      ui.caption.textContent = "";
      break;
    }
    case "transcript_delta": {
      ui.caption.hidden = false;
      ui.caption.textContent += event.text;
      const you = youBubble();
      you.dataset.text = (you.dataset.text || "") + event.text;
      setYouText(you, you.dataset.text);
      break;
    }
    case "transcript": {
      const you = turn && !pendingYou ? turn.you : youBubble();
      if (you) {
        you.dataset.text = event.text;
        setYouText(you, event.text);
      }
      break;
    }
    case "turn_started":
      stopSpeaking();
      startTurn(event);
      break;
    case "assistant_text_delta":
      assistantBubble().append(document.createTextNode(event.text));
      scrollDown();
      break;
    case "assistant_message":
      if (turn) turn.assistant = null; // the next round's text gets a bubble of its own
      speak(event.text);
      break;
    case "confirmation_requested":
      confirmation(event);
      speak(event.question);
      break;
    case "tool_call_started":
      settleConfirmation(event.call_id, true);
      toolCard(event.call_id, event.name, event.arguments, "running…");
      break;
    case "tool_still_running": {
      const card = toolCard(event.call_id, event.name);
      card.state.textContent = `still running after ${event.elapsed.toFixed(1)} s`;
      speak(event.notice);
      break;
    }
    case "tool_call_finished": {
      if (event.error_kind === "denied") settleConfirmation(event.call_id, false);
      const card = toolCard(event.call_id, event.name);
      card.el.classList.add(event.is_error ? "error" : "ok");
      card.state.textContent = (event.is_error ? `error (${event.error_kind || "failed"})` : "ok") +
        ` in ${Math.round(event.duration * 1000)} ms`;
      card.result.textContent = "→ " + event.result;
      break;
    }
    case "turn_completed":
      latency(event);
      if (turns.has(event.turn_id)) turns.get(event.turn_id).done = true;
      break;
    case "turn_cancelled": {
      stopSpeaking();
      const cancelled = turns.get(event.turn_id);
      if (cancelled) {
        cancelled.el.classList.add("cancelled");
        cancelled.el.append(el("p", "notice", `cancelled (${event.reason})`));
      }
      break;
    }
    case "audio_overflow":
      showError(`${event.dropped_frames} audio frames were dropped (${event.total_dropped} in all)`,
        "the server fell behind the microphone", true);
      break;
    case "error":
      showError(event.message, event.hint, event.recoverable);
      break;
    default:
      break; // newer servers may send more: ignore what this page does not know
  }
}

function startTurn(event) {
  if (ui.intro) {
    ui.intro.remove();
    ui.intro = null;
  }
  const node = el("section", "turn");
  node.dataset.turnId = String(event.turn_id);
  let you = pendingYou;
  pendingYou = null;
  if (!you) {
    you = el("div", "bubble you");
    setYouText(you, event.text || (event.has_audio ? "(speech)" : ""));
  }
  node.append(you);
  ui.log.append(node);
  turn = { id: event.turn_id, el: node, you, assistant: null, tools: new Map(), done: false };
  turns.set(event.turn_id, turn);
  scrollDown();
}

function youBubble() {
  if (!pendingYou) {
    pendingYou = el("div", "bubble you");
    setYouText(pendingYou, "listening…");
    ui.log.append(pendingYou);
    scrollDown();
  }
  return pendingYou;
}

function setYouText(bubble, text) {
  bubble.replaceChildren(el("span", "who", "you"), document.createTextNode(text.trim()));
}

function currentTurnEl() {
  return turn ? turn.el : ui.log;
}

function assistantBubble() {
  if (!turn) startTurn({ turn_id: -1, has_audio: false, text: "" });
  if (!turn.assistant) {
    turn.assistant = el("div", "bubble assistant");
    turn.assistant.append(el("span", "who", "assistant"));
    turn.el.append(turn.assistant);
  }
  return turn.assistant;
}

function toolCard(callId, name, args, state) {
  const tools = turn ? turn.tools : new Map();
  let card = tools.get(callId);
  if (!card) {
    const node = el("div", "tool");
    node.dataset.callId = callId;
    const head = el("div");
    head.append(el("span", "name", name), el("span", "state", state || ""));
    const argsEl = el("pre", "args", args ? callText(name, args) : "");
    const result = el("pre", "result");
    node.append(head, argsEl, result);
    card = { el: node, state: head.lastChild, args: argsEl, result };
    tools.set(callId, card);
    currentTurnEl().append(node);
    if (turn) turn.assistant = null; // text after the call goes below it, in a new bubble
    scrollDown();
  } else if (args) {
    card.args.textContent = callText(name, args);
  }
  if (state) card.state.textContent = state;
  return card;
}

// The call as a person reads it: name(key=value, ...), each value as JSON (a string argument
// cannot pose as more arguments or as the end of the call).
function callText(name, args) {
  const parts = Object.entries(args).map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  return `${name}(${parts.join(", ")})`;
}

// ------------------------------------------------------------------ confirmation

function confirmation(event) {
  const node = el("div", "confirm");
  node.dataset.callId = event.call_id;
  node.append(el("div", "question", event.question));
  const yes = el("button", "", "Yes");
  const no = el("button", "secondary", "No");
  const answer = el("span", "answer", "say yes or no, or click");
  const click = (approved) => {
    send({ type: "confirm", call_id: event.call_id, approved });
    yes.disabled = no.disabled = true;
    answer.textContent = approved ? "you clicked yes" : "you clicked no";
  };
  yes.type = no.type = "button";
  yes.addEventListener("click", () => click(true));
  no.addEventListener("click", () => click(false));
  node.append(yes, no, answer);
  currentTurnEl().append(node);
  confirms.set(event.call_id, { el: node, yes, no, answer });
  if (turn) turn.assistant = null;
  scrollDown();
}

function settleConfirmation(callId, approved) {
  const card = confirms.get(callId);
  if (!card) return;
  confirms.delete(callId);
  card.yes.disabled = card.no.disabled = true;
  card.answer.textContent = approved ? "approved" : "not approved";
  card.el.classList.add(approved ? "approved" : "denied");
}

// ------------------------------------------------------------------ latency

function latency(event) {
  const target = turns.get(event.turn_id);
  if (!target) return;
  const t = event.timings || {};
  const endpointing = t.endpointing || 0;
  const total = t.total || 0;
  const first = Math.min(t.first_token || 0, total);
  const tools = Math.min(t.tools || 0, Math.max(total - first, 0));
  const rest = Math.max(total - first - tools, 0);
  const scale = Math.max(3, endpointing + total);
  const box = el("div", "latency");
  box.title = "endpointing: from the end of speech to the decision; first token: from the " +
    "start of the turn; tools: time in tools; total: the whole turn";
  const bar = el("div", "bar");
  for (const [name, seconds] of [["endpointing", endpointing], ["first_token", first],
    ["tools", tools], ["rest", rest]]) {
    const seg = el("span", "seg " + name);
    seg.style.width = `${(100 * seconds) / scale}%`;
    bar.append(seg);
  }
  const ms = (s) => (s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(2)} s`);
  const legend = el("div", "legend");
  const parts = [["endpointing", "endpointing", t.endpointing], ["first_token", "first token", t.first_token],
    ["tools", "tools", t.tools]];
  for (const [name, label, seconds] of parts) {
    if (seconds === undefined) continue;
    legend.append(el("span", "key seg " + name), el("span", "stage " + name, `${label} ${ms(seconds)}`));
  }
  legend.append(el("span", "key seg rest"), el("span", "stage total", `total ${ms(total)}`));
  box.append(bar, legend);
  target.el.append(box);
  scrollDown();
}

// ------------------------------------------------------------------ speech out

function speak(text) {
  if (!text || !ui.speak.checked || !("speechSynthesis" in window)) return;
  window.speechSynthesis.speak(new SpeechSynthesisUtterance(text));
}

function stopSpeaking() {
  if ("speechSynthesis" in window) window.speechSynthesis.cancel();
}

// ------------------------------------------------------------------ microphone

async function startMicrophone() {
  if (!window.isSecureContext || !navigator.mediaDevices) {
    showError("This browser allows the microphone only on secure pages (https, or localhost)",
      "serve the page on loopback and forward the port (ssh -L), or put it behind https");
    return;
  }
  ui.start.disabled = true;
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
    });
    let context = new AudioContext({ sampleRate: 16000 });
    let input;
    try {
      input = context.createMediaStreamSource(stream);
    } catch {
      // Some browsers cannot mix a 16 kHz context with the device's rate: resample in the worklet.
      await context.close();
      context = new AudioContext();
      input = context.createMediaStreamSource(stream);
    }
    await context.audioWorklet.addModule("/worklet.js");
    const capture = new AudioWorkletNode(context, "pcm16-capture", {
      numberOfInputs: 1, numberOfOutputs: 0, channelCount: 1, channelCountMode: "explicit",
      processorOptions: { targetRate: 16000, frameSamples: 320 },
    });
    capture.port.onmessage = (message) => {
      ui.level.value = Math.min(1, message.data.level * 4);
      if (ready && socket && socket.readyState === WebSocket.OPEN) socket.send(message.data.pcm);
    };
    input.connect(capture);
    await context.resume();
    micOn = true;
    ui.start.textContent = "Microphone on";
    updateControls();
  } catch (error) {
    ui.start.disabled = false;
    showError(`Cannot use the microphone: ${error.message || error.name}`,
      "allow the page to use it, and check that one is connected");
  }
}

// ------------------------------------------------------------------ controls

function setMode(next) {
  mode = next;
  for (const radio of document.querySelectorAll('input[name="mode"]')) radio.checked = radio.value === mode;
  updateControls();
}

function updateControls() {
  ui.start.disabled = micOn || !ready;
  ui.talk.disabled = !(ready && micOn && mode === "push_to_talk");
}

let talking = false;
function talk(pressed) {
  if (ui.talk.disabled || pressed === talking) return;
  talking = pressed;
  ui.talk.classList.toggle("pressed", pressed);
  if (pressed) stopSpeaking();
  send({ type: "talk", pressed });
}

for (const radio of document.querySelectorAll('input[name="mode"]')) {
  radio.addEventListener("change", () => {
    if (!radio.checked) return;
    talk(false);
    mode = radio.value;
    send({ type: "mode", mode });
    updateControls();
  });
}
ui.start.addEventListener("click", startMicrophone);
ui.talk.addEventListener("pointerdown", (e) => { e.preventDefault(); talk(true); });
for (const name of ["pointerup", "pointerleave", "pointercancel"]) {
  ui.talk.addEventListener(name, () => talk(false));
}
document.addEventListener("keydown", (e) => {
  if (e.code === "Space" && !e.repeat && mode === "push_to_talk" && e.target === document.body) {
    e.preventDefault();
    talk(true);
  }
});
document.addEventListener("keyup", (e) => {
  if (e.code === "Space") talk(false);
});

connect();
