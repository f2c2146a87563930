/**
 * The chat page served at "/": pick a name, see who is online, the room's last messages, join/leave notices.
 * Plain HTML and the browser's WebSocket, on the JSON protocol (chat-protocol.ts). `/?room=x` opens the room
 * "x" (ws://host/chat/x), `/?name=ana` joins at once. When the connection drops it reconnects with exponential
 * backoff (0.5 s doubling to 10 s, with jitter), saying so ("reconnecting in 2 s…"); what is typed meanwhile
 * is queued (at most 100 messages) and sent once the room has welcomed it back. A message shows as pending
 * until the server sends it back; one the server refuses is marked as such, with the reason.
 */
export const chatPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chat</title>
<style>
  body { font: 16px/1.4 system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; }
  main { display: flex; gap: 1rem; }
  #messages { flex: 1; list-style: none; padding: 0; margin: 0; border: 1px solid #ccc; height: 20rem; overflow-y: auto; }
  #messages li { padding: .25rem .5rem; border-bottom: 1px solid #eee; }
  #messages li .from { font-weight: 600; margin-right: .5rem; }
  #messages li.mine { background: #f4f8ff; }
  #messages li.pending { color: #888; font-style: italic; }
  #messages li.refused { color: #b00; text-decoration: line-through; }
  #messages li.notice { color: #666; font-size: .9rem; }
  #messages li.history { color: #444; }
  aside { width: 10rem; }
  #online { list-style: none; padding: 0; margin: 0; }
  form { display: flex; gap: .5rem; margin-top: .5rem; }
  #message { flex: 1; padding: .4rem; }
  #status { color: #666; font-size: .9rem; }
  [hidden] { display: none !important; }
</style>
</head>
<body>
<h1>Chat <small id="room"></small></h1>
<p id="status" data-state="idle">pick a name to join</p>
<form id="join-form">
  <input id="name" autocomplete="nickname" placeholder="Your name" maxlength="32" required autofocus>
  <button id="join" type="submit">Join</button>
</form>
<main>
  <ul id="messages"></ul>
  <aside><strong>Online</strong><ul id="online"></ul></aside>
</main>
<form id="form">
  <input id="message" autocomplete="off" placeholder="Say something" maxlength="4000">
  <button id="send" type="submit">Send</button>
</form>
<script>
  const PROTOCOL = "chat.v2";
  const MAX_QUEUED = 100;
  const params = new URLSearchParams(location.search);
  const room = params.get("room");
  const status = document.getElementById("status");
  const list = document.getElementById("messages");
  const onlineList = document.getElementById("online");
  const input = document.getElementById("message");
  const joinForm = document.getElementById("join-form");
  const nameInput = document.getElementById("name");
  document.getElementById("room").textContent = room ? "#" + room : "#lobby";
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const base = scheme + "//" + location.host + "/chat" + (room ? "/" + encodeURIComponent(room) : "");

  let socket = null;
  let wanted = null; // the name asked for (again on every reconnect)
  let me = null;     // the name the room gave us
  let joined = false;
  let attempt = 0;
  let online = [];
  /** typed, not yet sent: {text, li} */
  const outbox = [];
  /** sent, not yet confirmed by the server (it sends each back, or refuses it): {text, li} */
  const unconfirmed = [];

  function setStatus(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }
  function item(className, from, text) {
    const li = document.createElement("li");
    li.className = className;
    if (from !== null) {
      const who = document.createElement("span");
      who.className = "from";
      who.textContent = from;
      li.appendChild(who);
    }
    const what = document.createElement("span");
    what.className = "text";
    what.textContent = text;
    li.appendChild(what);
    list.appendChild(li);
    list.scrollTop = list.scrollHeight;
    return li;
  }
  function notice(text) {
    return item("notice", null, text);
  }
  function renderOnline() {
    onlineList.replaceChildren(...online.map((name) => {
      const li = document.createElement("li");
      li.textContent = name + (name === me ? " (you)" : "");
      return li;
    }));
  }

  function connect() {
    setStatus("connecting", attempt === 0 ? "connecting…" : "reconnecting…");
    const ws = new WebSocket(base + "?name=" + encodeURIComponent(wanted), PROTOCOL);
    socket = ws;
    ws.onopen = () => {
      attempt = 0;
      status.dataset.protocol = ws.protocol;
      status.dataset.extensions = ws.extensions;
    };
    ws.onmessage = (event) => {
      let m;
      try { m = JSON.parse(event.data); } catch { return; }
      if (m.type === "welcome") {
        me = m.you;
        joined = true;
        online = m.online;
        renderOnline();
        // the room's last messages replace what was shown; what waits to be sent stays, after them
        list.replaceChildren();
        for (const line of m.history) item("history message" + (line.from === me ? " mine" : ""), line.from, line.text);
        notice("you are " + me + (me !== wanted ? " (" + wanted + " was taken)" : "") + " in " + m.room);
        for (const queued of outbox) list.appendChild(queued.li);
        setStatus("open", "connected as " + me + " (protocol: " + ws.protocol + (ws.extensions ? ", extensions: " + ws.extensions : "") + ")");
        flush();
      } else if (m.type === "joined") {
        if (!online.includes(m.name)) online.push(m.name);
        renderOnline();
        notice(m.name + " joined");
      } else if (m.type === "left") {
        online = online.filter((name) => name !== m.name);
        renderOnline();
        notice(m.name + " left");
      } else if (m.type === "message") {
        if (m.from === me && unconfirmed.length > 0) {
          const sent = unconfirmed.shift();
          sent.li.className = "message mine";
          sent.li.querySelector(".from").textContent = m.from;
        } else {
          item("message" + (m.from === me ? " mine" : ""), m.from, m.text);
        }
      } else if (m.type === "error" && m.code === "bad-name" && !joined) {
        // the name in the URL was refused: ask again (no reconnecting with it)
        socket = null;
        ws.close(1000, "another name");
        wanted = null;
        joinForm.hidden = false;
        nameInput.focus();
        setStatus("idle", m.message);
      } else if (m.type === "error") {
        const refused = ["too-long", "rate-limited", "empty", "not-joined"].includes(m.code) ? unconfirmed.shift() : undefined;
        if (refused) {
          refused.li.className = "refused";
          refused.li.title = m.message;
        }
        notice("error: " + m.message);
      }
    };
    ws.onclose = (event) => {
      if (socket !== ws) return;
      joined = false;
      // what was sent and never confirmed goes out again after reconnecting (first, in order)
      outbox.unshift(...unconfirmed.splice(0));
      for (const queued of outbox) queued.li.className = "pending";
      const delay = Math.min(10000, 500 * 2 ** attempt) * (0.75 + Math.random() * 0.5);
      attempt++;
      status.dataset.closeCode = String(event.code);
      let left = Math.ceil(delay / 1000);
      const why = "disconnected (" + event.code + (event.reason ? ": " + event.reason : "") + ")";
      setStatus("reconnecting", why + ", reconnecting in " + left + " s…");
      const tick = setInterval(() => {
        left--;
        if (left > 0) setStatus("reconnecting", why + ", reconnecting in " + left + " s…");
      }, 1000);
      setTimeout(() => {
        clearInterval(tick);
        connect();
      }, delay);
    };
  }

  function flush() {
    while (joined && outbox.length > 0 && socket.readyState === WebSocket.OPEN) {
      const next = outbox.shift();
      socket.send(JSON.stringify({ type: "message", text: next.text }));
      unconfirmed.push(next);
    }
  }

  function join(name) {
    wanted = name;
    joinForm.hidden = true;
    input.focus();
    connect();
  }

  joinForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = nameInput.value.trim();
    if (name) join(name);
  });
  document.getElementById("form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    if (outbox.length >= MAX_QUEUED) {
      notice("not sent: " + MAX_QUEUED + " messages are already waiting for the connection");
      return;
    }
    outbox.push({ text, li: item("pending", me ?? wanted ?? "you", text) });
    input.value = "";
    if (wanted === null) notice("pick a name first: your message waits");
    flush();
  });
  if (params.get("name")) join(params.get("name"));
</script>
</body>
</html>
`;

/** A fetch-style handler for the page (the same on every runtime). */
export function pageHandler(request: Request): Response {
  const { pathname } = new URL(request.url);
  if (pathname === "/" || pathname === "/index.html") {
    return new Response(chatPage, { headers: { "Content-Type": "text/html; charset=utf-8" } });
  }
  return new Response("Not Found\n", { status: 404, headers: { "Content-Type": "text/plain" } });
}
