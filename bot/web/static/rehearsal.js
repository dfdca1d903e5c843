// The rehearsal page: one phone per person, each a chat with the real bot.
// State arrives through server-sent events; actions are JSON POSTs to /api/*.
"use strict";

const phones = new Map(); // user id -> {root, chat, menu, toast, alert, data}
const ROLE = { chair: "Chair", secretariat: "Secretariat", delegate: "Delegate" };
const LANGUAGE = { ar: "العربية", en: "English", fr: "Français" };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({ ok: false, error: response.statusText }));
  if (!data.ok) status(data.error || "refused");
  return data;
}

function status(text) {
  document.getElementById("status").textContent = text;
}

// --- Telegram's entities to DOM (offsets are UTF-16 code units, as JavaScript counts) ---------

function entityNode(entity, phoneId) {
  switch (entity.type) {
    case "bold": return el("b");
    case "italic": return el("i");
    case "underline": return el("u");
    case "strikethrough": return el("s");
    case "code": return el("code");
    case "pre": return el("pre");
    case "blockquote":
    case "expandable_blockquote": return el("blockquote");
    case "spoiler": return el("span", { class: "spoiler", onclick: (e) => e.currentTarget.classList.add("shown") });
    case "text_link": return el("a", { href: entity.url, rel: "noopener noreferrer", class: "outside" });
    case "url": return el("a", { rel: "noopener noreferrer", class: "outside" });
    case "bot_command": return el("span", { class: "command", "data-phone": phoneId });
    default: return el("span", { class: entity.type });
  }
}

function renderText(container, text, entities, phoneId) {
  const sorted = [...(entities || [])].sort((a, b) => a.offset - b.offset || b.length - a.length);
  build(container, text, 0, text.length, sorted, phoneId);
  for (const link of container.querySelectorAll("a.outside")) {
    if (!link.getAttribute("href")) link.setAttribute("href", link.textContent);
    link.addEventListener("click", (event) => {
      event.preventDefault();
      toast(phoneId, "Links open outside the rehearsal: " + link.getAttribute("href"));
    });
  }
  for (const command of container.querySelectorAll(".command")) {
    command.addEventListener("click", () => send(phoneId, command.textContent));
  }
}

function build(parent, text, start, end, entities, phoneId) {
  let position = start;
  while (entities.length) {
    const entity = entities.shift();
    const from = Math.max(entity.offset, position);
    const to = Math.min(entity.offset + entity.length, end);
    if (from >= to) continue;
    if (from > position) parent.append(text.slice(position, from));
    const inner = [];
    while (entities.length && entities[0].offset < to) inner.push(entities.shift());
    const node = entityNode(entity, phoneId);
    build(node, text, from, to, inner, phoneId);
    parent.append(node);
    position = to;
  }
  if (position < end) parent.append(text.slice(position, end));
}

// --- Phones ---------------------------------------------------------------------------------

function phoneTitle(data) {
  const member = data.member ? data.member.charAt(0) + data.member.slice(1).toLowerCase() : "General Secretariat";
  return [data.name, member, ROLE[data.role] || data.role];
}

function makePhone(data) {
  const [name, member, role] = phoneTitle(data);
  const language = el("select", { "aria-label": "Phone language", class: "language" });
  for (const code of Object.keys(LANGUAGE)) {
    language.append(el("option", { value: code, text: LANGUAGE[code] }));
  }
  language.value = data.language;
  language.addEventListener("change", () => post("/api/language", { phone: data.user_id, language: language.value }));
  const chat = el("div", { class: "chat" });
  const menu = el("div", { class: "menu", hidden: "" });
  const toastBox = el("div", { class: "toast", hidden: "", role: "status" });
  const alertText = el("p");
  const alertBox = el("div", { class: "alert", hidden: "", role: "alertdialog" },
    el("div", {}, alertText, el("button", { type: "button", text: "OK", onclick: () => { alertBox.hidden = true; } })));
  const input = el("input", { type: "text", dir: "auto", placeholder: "Message", "aria-label": "Message", autocomplete: "off" });
  const compose = el("form", { class: "compose" },
    el("button", { type: "button", class: "menu-button", title: "Menu", text: "/", onclick: () => { menu.hidden = !menu.hidden; } }),
    input,
    el("button", { type: "submit", class: "send", text: "Send" }));
  compose.addEventListener("submit", (event) => {
    event.preventDefault();
    if (input.value.trim()) send(data.user_id, input.value);
    input.value = "";
  });
  const root = el("section", { class: "phone", "data-phone": data.user_id, "data-member": data.member || "", "data-role": data.role, "data-language": data.language },
    el("header", {}, el("span", { class: "who" }, name + " · " + member, el("small", { text: role })), language),
    chat, menu, toastBox, alertBox, compose);
  const phone = { root, chat, menu, toast: toastBox, alert: alertBox, alertText, input, language, data };
  phones.set(data.user_id, phone);
  renderMenu(phone, data.menu || []);
  for (const message of data.messages || []) upsert(phone, message);
  return phone;
}

function renderMenu(phone, commands) {
  phone.menu.replaceChildren(...commands.map(([command, description]) =>
    el("button", { type: "button", "data-command": command, onclick: () => { phone.menu.hidden = true; send(phone.data.user_id, "/" + command); } },
      el("b", { text: "/" + command }), el("span", { dir: "auto", text: description }))));
}

function send(phoneId, text) {
  return post("/api/send", { phone: phoneId, text });
}

function renderMessage(phoneId, message) {
  const bubble = el("div", { class: "bubble" });
  if (message.file && message.kind === "photo") {
    bubble.append(el("img", { src: message.file, alt: "photo", loading: "eager" }));
  } else if (message.file) {
    bubble.append(el("div", { class: "doc" }, el("a", { href: message.file, download: message.file_name || "document", text: message.file_name || "document" })));
  }
  if (message.text) {
    const text = el("div", { class: "text", dir: "auto" });
    renderText(text, message.text, message.entities, phoneId);
    bubble.append(text);
  }
  const time = new Date(message.at * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  bubble.append(el("span", { class: "meta", text: (message.edited ? "edited " : "") + time }));
  const node = el("div", { class: "msg " + (message.out ? "out" : "in"), "data-id": message.id, "data-kind": message.kind }, bubble);
  if (message.buttons && message.buttons.length) {
    const keyboard = el("div", { class: "keyboard" });
    for (const row of message.buttons) {
      keyboard.append(el("div", { class: "row" }, ...row.map((button) => {
        if (button.data !== undefined) {
          return el("button", { type: "button", dir: "auto", text: button.text, onclick: () => post("/api/press", { phone: phoneId, message: message.id, data: button.data }) });
        }
        return el("button", { type: "button", class: "link", dir: "auto", text: button.text, onclick: () => toast(phoneId, "Links open outside the rehearsal") });
      })));
    }
    node.append(keyboard);
  }
  return node;
}

function upsert(phone, message, live) {
  const node = renderMessage(phone.data.user_id, message);
  const existing = phone.chat.querySelector(`.msg[data-id="${message.id}"]`);
  const atBottom = phone.chat.scrollHeight - phone.chat.scrollTop - phone.chat.clientHeight < 40;
  if (existing) {
    existing.replaceWith(node);
  } else {
    let before = null;
    for (const other of phone.chat.children) {
      if (Number(other.dataset.id) > message.id) { before = other; break; }
    }
    phone.chat.insertBefore(node, before);
    if (live && window.rehearsalSeen) window.rehearsalSeen(message, Date.now()); // for bench/
  }
  if (atBottom || !existing) phone.chat.scrollTop = phone.chat.scrollHeight;
  const image = node.querySelector("img");
  if (image) image.addEventListener("load", () => { phone.chat.scrollTop = phone.chat.scrollHeight; });
}

function toast(phoneId, text) {
  const phone = phones.get(phoneId);
  if (!phone) return;
  phone.toast.textContent = text;
  phone.toast.hidden = false;
  clearTimeout(phone.toastTimer);
  phone.toastTimer = setTimeout(() => { phone.toast.hidden = true; }, 3500);
}

// --- The bar -------------------------------------------------------------------------------

function fillBar(state) {
  const member = document.getElementById("add-member");
  const chosen = member.value;
  member.replaceChildren(...state.members.map((code) => el("option", { value: code, text: code })));
  if (state.members.includes(chosen)) member.value = chosen;
  const language = document.getElementById("add-language");
  if (!language.options.length) {
    for (const code of state.languages) language.append(el("option", { value: code, text: LANGUAGE[code] || code }));
  }
}

document.getElementById("add-delegate").addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = event.submitter || event.target.querySelector("button");
  button.disabled = true;
  status("Inviting…");
  try {
    const answer = await post("/api/delegate", {
      member: document.getElementById("add-member").value,
      language: document.getElementById("add-language").value,
    });
    if (answer.ok) status("Delegate added");
  } finally {
    button.disabled = false;
  }
});

document.getElementById("start-over").addEventListener("click", async (event) => {
  event.target.disabled = true;
  status("Starting over…");
  try {
    const answer = await post("/api/reset", {});
    if (answer.ok) status("Ready");
  } finally {
    event.target.disabled = false;
  }
});

// --- Server push ---------------------------------------------------------------------------

function applyState(state) {
  const main = document.getElementById("phones");
  phones.clear();
  main.replaceChildren(...state.phones.map((data) => makePhone(data).root));
  fillBar(state);
  document.body.dataset.ready = state.ready ? "yes" : "no";
  status(state.ready ? "Ready" : "Starting…");
}

function connect() {
  const source = new EventSource("/events");
  source.addEventListener("state", (event) => applyState(JSON.parse(event.data)));
  source.addEventListener("message", (event) => {
    const data = JSON.parse(event.data);
    const phone = phones.get(data.phone);
    if (phone) upsert(phone, data.message, true);
  });
  source.addEventListener("delete", (event) => {
    const data = JSON.parse(event.data);
    const phone = phones.get(data.phone);
    const node = phone && phone.chat.querySelector(`.msg[data-id="${data.id}"]`);
    if (node) node.remove();
  });
  source.addEventListener("answer", (event) => {
    const data = JSON.parse(event.data);
    const phone = phones.get(data.phone);
    if (!phone) return;
    if (data.alert) {
      phone.alertText.textContent = data.text;
      phone.alert.hidden = false;
    } else {
      toast(data.phone, data.text);
    }
  });
  source.addEventListener("menu", (event) => {
    const data = JSON.parse(event.data);
    const phone = phones.get(data.phone);
    if (phone) renderMenu(phone, data.menu);
  });
  source.onerror = () => status("Reconnecting…");
  source.onopen = () => status("Connected");
}

connect();
