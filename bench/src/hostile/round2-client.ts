/**
 * The client under attack in round 2 (issue 21, defects 1 and 2), on Node: `connect()` with every default and
 * no message handler (messages wait for `read()`), then nothing — the attacking server (attacks-round2.ts) pings
 * it or floods it while its RSS is sampled. URL from argv[2]. Prints "connected", then "closed CODE" if the
 * connection ends; stays alive until killed.
 */
import { connect } from "@ws/node";

const conn = await connect(process.argv[2]!);
console.log("connected");
void conn.closed.then(({ code }) => console.log(`closed ${code}`));
setInterval(() => {}, 1 << 30);
