import WebSocket from "ws";
const ws = new WebSocket(`ws://127.0.0.1:${process.argv[2]}/`);
ws.on("open", () => ws.send("x")); ws.on("close", (c, r) => { console.log("close", c, r.toString()); process.exit(0); });
