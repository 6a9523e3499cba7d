/**
 * ZeroMQ in TypeScript on Deno's sockets: ZMTP 3.1 (RFC 37, 3.0 peers accepted) with the NULL and
 * CURVE (RFC 26) mechanisms, PUB/SUB, REQ/REP and PUSH/PULL with libzmq semantics over
 * `tcp://` (IPv4, IPv6) and `ipc://`, interoperable with libzmq/pyzmq.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PubSocket, SubSocket } from "./mod.ts";
 * await using pub = new PubSocket();
 * const endpoint = await pub.bind("tcp://127.0.0.1:0");
 * await using sub = new SubSocket();
 * sub.subscribe("news");
 * sub.connect(endpoint);
 * while (pub.subscriberCount("news") === 0) await new Promise((r) => setTimeout(r, 10));
 * await pub.send(["news", "hello"]);
 * const [topic, body] = await sub.receive({ signal: AbortSignal.timeout(5000) });
 * assertEquals([new TextDecoder().decode(topic), new TextDecoder().decode(body)], ["news", "hello"]);
 * ```
 *
 * @module
 */
export type {
  CurveClientOptions,
  CurveServerOptions,
  Frame,
  KeepaliveOption,
  LimitName,
  Multipart,
  PeerInfo,
  ReceiveOptions,
  SignalOptions,
  SocketEvent,
  SocketOptions,
} from "./types.ts";
export {
  ZmqClosedError,
  ZmqError,
  ZmqLimitError,
  ZmqProtocolError,
  ZmqStateError,
} from "./errors.ts";
export { ZmqSocket } from "./socket.ts";
export { InboxSocket } from "./inbox.ts";
export type { ChannelWait, Gate } from "../_util/channel.ts";
export { PubSocket } from "./pub.ts";
export { SubSocket } from "./sub.ts";
export { ReqSocket } from "./req.ts";
export { RepSocket } from "./rep.ts";
export { PushSocket } from "./push.ts";
export { PullSocket } from "./pull.ts";
export { z85Decode, z85Encode } from "./z85.ts";
export { curveKeyPair, curvePublicKey } from "./curve_keys.ts";
