/**
 * The Python originals' names for things this package names otherwise, for code ported line by
 * line: posttroll's `Publish` and `Subscribe` context managers and igwn-alert's `client` class.
 * Each is the very same function or class as its TypeScript name (docs/PARITY.md lists both).
 *
 * @example Publish and Subscribe as in posttroll, here without a nameserver
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Publish, Subscribe } from "./mod.ts";
 * import { Message } from "../posttroll/message.ts";
 *
 * await using pub = await Publish("compat_example", { port: 0, nameservers: false });
 * await using sub = await Subscribe({
 *   addresses: [`tcp://127.0.0.1:${pub.portNumber}`],
 *   nameserver: false,
 *   topics: "/compat",
 * });
 * // a SUB socket joins a little after it connects: send until one message arrives
 * const timer = setInterval(() => pub.send(new Message("/compat", "info", "hello").encode()), 50);
 * try {
 *   for await (const msg of sub.recv(5)) {
 *     assertEquals(msg?.data, "hello");
 *     break;
 *   }
 * } finally {
 *   clearInterval(timer);
 * }
 * ```
 *
 * @module
 */
import { publish } from "../posttroll/publisher.ts";
import { subscribe } from "../posttroll/subscriber.ts";
import { IgwnAlertClient } from "../igwn_alert/client.ts";

/**
 * posttroll's `Publish` context manager: {@linkcode publish} under its Python name.
 *
 * @example
 * ```ts
 * import { assertStrictEquals } from "@std/assert";
 * import { Publish } from "./mod.ts";
 * import { publish } from "../posttroll/publisher.ts";
 * assertStrictEquals(Publish, publish);
 * ```
 */
export const Publish: typeof publish = publish;

/**
 * posttroll's `Subscribe` context manager: {@linkcode subscribe} under its Python name.
 *
 * @example
 * ```ts
 * import { assertStrictEquals } from "@std/assert";
 * import { Subscribe } from "./mod.ts";
 * import { subscribe } from "../posttroll/subscriber.ts";
 * assertStrictEquals(Subscribe, subscribe);
 * ```
 */
export const Subscribe: typeof subscribe = subscribe;

/**
 * igwn-alert's class name (`igwn_alert.client`): {@linkcode IgwnAlertClient} under its Python
 * name.
 *
 * @example
 * ```ts
 * import { assertInstanceOf } from "@std/assert";
 * import { client } from "./mod.ts";
 * import { IgwnAlertClient } from "../igwn_alert/client.ts";
 * await using c = new client({ noauth: true, server: "kafka://127.0.0.1/" });
 * assertInstanceOf(c, IgwnAlertClient);
 * ```
 */
export const client: typeof IgwnAlertClient = IgwnAlertClient;
