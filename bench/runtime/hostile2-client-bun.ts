/**
 * The client under attack in round 2 (issue 21, defects 1 and 2), on Bun: the same as
 * bench/src/hostile/round2-client.ts (Node): `connect()` with every default and no message handler, then
 * nothing. URL from the first argument. Prints "connected", then "closed CODE" if the connection ends.
 */
import { connect } from "../../packages/bun/src/index.ts";

const conn = await connect(process.argv[2]!);
console.log("connected");
void conn.closed.then(({ code }: { code: number }) => console.log(`closed ${code}`));
setInterval(() => {}, 1 << 30);
