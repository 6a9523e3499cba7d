/**
 * Internal: the client library (`@platformatic/kafka`), loaded on first use. Importing it
 * compiles its option validators (about 0.3 s of CPU), which commands that never connect
 * (`igwn-alert --version`, `--help`, option errors) should not pay.
 *
 * @module
 */

/** The client library's module. */
export type KafkaLibrary = typeof import("@platformatic/kafka");

let loading: Promise<KafkaLibrary> | undefined;

/**
 * The client library, imported once.
 *
 * @returns the module
 * @example
 * ```ts
 * import { assertStrictEquals } from "@std/assert";
 * import { kafkaLibrary } from "./_library.ts";
 * const { Admin } = await kafkaLibrary(); // imported on first use
 * assertStrictEquals((await kafkaLibrary()).Admin, Admin); // once
 * ```
 */
export function kafkaLibrary(): Promise<KafkaLibrary> {
  loading ??= import("@platformatic/kafka");
  return loading;
}
