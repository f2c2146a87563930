/** The chat page served at "/": type a line, see everyone else's. Plain HTML and the browser's WebSocket. */
export const chatPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chat</title>
<style>
  body { font: 16px/1.4 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
  #messages { list-style: none; padding: 0; border: 1px solid #ccc; height: 20rem; overflow-y: auto; }
  #messages li { padding: .25rem .5rem; border-bottom: 1px solid #eee; }
  #messages li.mine { color: #555; text-align: right; }
  form { display: flex; gap: .5rem; margin-top: .5rem; }
  #message { flex: 1; padding: .4rem; }
  #status { color: #666; font-size: .9rem; }
</style>
</head>
<body>
<h1>Chat</h1>
<p id="status">connecting…</p>
<ul id="messages"></ul>
<form id="form">
  <input id="message" autocomplete="off" placeholder="Say something" autofocus>
  <button id="send" type="submit">Send</button>
</form>
<script>
  const status = document.getElementById("status");
  const list = document.getElementById("messages");
  const input = document.getElementById("message");
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(scheme + "//" + location.host + "/chat", "chat");
  function add(text, mine) {
    const li = document.createElement("li");
    li.textContent = text;
    if (mine) li.className = "mine";
    list.appendChild(li);
    list.scrollTop = list.scrollHeight;
  }
  socket.onopen = () => {
    status.textContent = "connected (protocol: " + socket.protocol + (socket.extensions ? ", extensions: " + socket.extensions : "") + ")";
    status.dataset.state = "open";
    status.dataset.protocol = socket.protocol;
    status.dataset.extensions = socket.extensions;
  };
  socket.onmessage = (event) => add(event.data, false);
  socket.onclose = (event) => {
    status.textContent = "closed (" + event.code + (event.reason ? ": " + event.reason : "") + ")";
    status.dataset.state = "closed";
  };
  document.getElementById("form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!input.value || socket.readyState !== WebSocket.OPEN) return;
    socket.send(input.value);
    add(input.value, true);
    input.value = "";
  });
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
