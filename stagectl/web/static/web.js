// stagectl remote: live updates over the WebSocket, and form posts as fetch() calls.
// The page works without this script (every button is a form that posts and comes back);
// with it, the page follows the stage live and a press does not reload the page.
"use strict";
(() => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const token = meta ? meta.content : "";
  const state = {};
  // Epoch milliseconds at which the page last changed for each state key (read by the tests).
  const stamps = {};
  window.stagectlState = state;
  window.stagectlStamps = stamps;
  const link = document.querySelector("[data-link]");
  const flash = document.getElementById("flash");

  function fillCsrf(root) {
    root.querySelectorAll('input[name="csrf"]').forEach((input) => { input.value = token; });
  }

  function setInputs(selector, values) {
    document.querySelectorAll(selector).forEach((input) => {
      if (input === document.activeElement) return;  // never overwrite what someone is typing
      const value = values(input);
      if (value !== undefined && input.value !== value) input.value = value;
    });
  }

  function apply(changes) {
    Object.assign(state, changes);
    for (const [key, value] of Object.entries(changes)) {
      let touched = false;
      document.querySelectorAll(`[data-bind="${key}"]`).forEach((el) => {
        const text = value === null || value === undefined ? "" : String(value);
        if (el.textContent !== text) { el.textContent = text; touched = true; }
      });
      document.querySelectorAll(`[data-html="${key}"]`).forEach((el) => {
        el.innerHTML = value;  // made by the server, every string escaped there
        fillCsrf(el);
        touched = true;
      });
      document.querySelectorAll(`[data-flag="${key}"]`).forEach((el) => {
        if (el.classList.contains("on") !== Boolean(value)) { el.classList.toggle("on", Boolean(value)); touched = true; }
      });
      if (key === "held") {
        const hold = document.querySelector("[data-hold-value]");
        if (hold) hold.value = value ? "0" : "1";
      } else if (key === "slate") {
        setInputs("form.slate input:not([type=hidden])", (input) => (value[input.name] === undefined ? undefined : String(value[input.name])));
      } else if (key === "fade_s") {
        setInputs('input[name="seconds"]', () => String(value));
      }
      if (touched) stamps[key] = performance.timeOrigin + performance.now();
    }
  }

  function say(text, error) {
    if (!flash) return;
    flash.textContent = text;
    flash.classList.toggle("error", Boolean(error));
  }

  let delay = 500;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + location.host + "/ws");
    ws.onopen = () => { delay = 500; if (link) { link.textContent = "live"; link.classList.add("on"); } };
    ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "state") apply(message.changes);
    };
    ws.onclose = (event) => {
      if (link) { link.textContent = "offline"; link.classList.remove("on"); }
      if (event.code === 1008) { location.reload(); return; }  // logged out
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.action.includes("/action/")) return;
    event.preventDefault();
    const body = new URLSearchParams(new FormData(form, event.submitter));
    try {
      const response = await fetch(form.action, {
        method: "POST", body, credentials: "same-origin",
        headers: { "X-Requested-With": "fetch", "X-CSRF-Token": token },
      });
      if (response.status === 401 || response.status === 403) { location.reload(); return; }
      const answer = await response.json();
      say(answer.message, !answer.ok);
      if (answer.ok && form.hasAttribute("data-reset")) form.reset();
    } catch (error) {
      say(`not sent: ${error}`, true);
    }
  });

  fillCsrf(document);
  connect();
})();
