Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: ({ port }) => console.log("Listening on port " + port) }, (req) => {
  const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout: 0 });
  socket.onmessage = (e) => { try { socket.close(1003, "text only"); } catch (err) { console.log("close threw", String(err)); socket.close(4000, "x"); } };
  return response;
});
