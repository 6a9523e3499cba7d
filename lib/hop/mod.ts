/**
 * hop-client compatibility layer: the hop message models and Kafka wire format (`pack`,
 * `unpack`, hop's `_id`/`_sender`/`_test`/`_format` headers), hop credentials (`auth.toml`,
 * `select_matching_auth`, `.netrc`), Python-exact JSON text, and typed errors.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { JSONBlob, pack, unpack } from "./mod.ts";
 * const record = pack('{"uid": "S240101a"}', { sender: "alice" });
 * const model = unpack(record);
 * assertEquals(model instanceof JSONBlob && model.content, '{"uid": "S240101a"}');
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./models.ts";
export * from "./auth.ts";
export { type AvroContainer, type AvroSchema, readAvroContainer } from "./avro.ts";
export { pyJsonDumps, type PyJsonDumpsOptions, pyJsonParse, PyNumber } from "./pyjson.ts";
