// Opens connections to a port from its own process (so the test runner's descriptor count, which
// other fault tests watch, is not disturbed) and holds them until its stdin closes.
// Usage: deno run --allow-net tests/faults/_connect_flood.ts <port> <n> [socketType|-]
//   (socketType: complete the ZMTP handshake as that type; "-": plain TCP connections)
// Prints `held <connections opened> <bytes written>` once they are open.
import { idleConnections } from "./_attacks.ts";

const [port, n, type] = Deno.args;
const h = await idleConnections(Number(port), Number(n), {
  handshake: type !== undefined && type !== "-",
  socketType: type === "-" ? undefined : type,
});
console.log(`held ${h.opened} ${h.bytes}`);
// hold until the parent closes our stdin (or kills us)
for await (const _ of Deno.stdin.readable) { /* nothing is sent */ }
h.close();
