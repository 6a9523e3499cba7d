/**
 * Deno permissions that a configuration needs, checked where it is read, so that a missing
 * `--allow-env`, `--allow-read`, `--allow-net` or `--allow-sys` is named instead of silently
 * ignoring settings (every `POSTTROLL_*` variable unread, config files skipped) or surfacing as a
 * misleading error ("could not bind tcp://*").
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { MissingPermissionError } from "./permissions.ts";
 * const e = new MissingPermissionError({ name: "env" }, "reading the POSTTROLL_* settings");
 * assertEquals(e.message, "reading the POSTTROLL_* settings needs environment access: run deno with --allow-env");
 * ```
 *
 * @module
 */

/**
 * The process lacks a Deno permission that the configuration needs. The message names the
 * flag to run with and what needs it.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { MissingPermissionError } from "./permissions.ts";
 * const e = new MissingPermissionError({ name: "env" }, "reading the POSTTROLL_* settings");
 * assertEquals(e.flag, "--allow-env");
 * ```
 */
export class MissingPermissionError extends Error {
  /** The narrowest flag that grants it, e.g. `--allow-env`, `--allow-read=/etc/posttroll`. */
  readonly flag: string;
  /** The permission asked for. */
  readonly descriptor: Deno.PermissionDescriptor;
  /**
   * Creates the error.
   *
   * @param descriptor the permission
   * @param what what needs it, e.g. "reading the POSTTROLL_* settings"
   * @param options standard error options
   */
  constructor(descriptor: Deno.PermissionDescriptor, what: string, options?: ErrorOptions) {
    const flag = permissionFlag(descriptor);
    const broad = `--allow-${descriptor.name}`;
    super(
      `${what} needs ${describe(descriptor)}: run deno with ${flag}` +
        (broad !== flag ? ` (or ${broad})` : ""),
      options,
    );
    this.name = "MissingPermissionError";
    this.flag = flag;
    this.descriptor = descriptor;
  }
}

function describe(d: Deno.PermissionDescriptor): string {
  switch (d.name) {
    case "env":
      return d.variable ? `access to the environment variable ${d.variable}` : "environment access";
    case "read":
    case "write":
      return d.path ? `${d.name} access to ${d.path}` : `${d.name} access`;
    case "net":
      return d.host ? `network access to ${d.host}` : "network access";
    case "sys":
      return d.kind ? `system information (${d.kind})` : "system information";
    default:
      return `${d.name} permission`;
  }
}

/**
 * The command-line flag that grants a permission.
 *
 * @param d the permission
 * @returns e.g. `--allow-net=localhost:5557`
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { permissionFlag } from "./permissions.ts";
 * assertEquals(permissionFlag({ name: "sys", kind: "hostname" }), "--allow-sys=hostname");
 * ```
 */
export function permissionFlag(d: Deno.PermissionDescriptor): string {
  switch (d.name) {
    case "env":
      return d.variable ? `--allow-env=${d.variable}` : "--allow-env";
    case "read":
    case "write":
      return d.path ? `--allow-${d.name}=${d.path}` : `--allow-${d.name}`;
    case "net":
      return d.host ? `--allow-net=${d.host}` : "--allow-net";
    case "sys":
      return d.kind ? `--allow-sys=${d.kind}` : "--allow-sys";
    default:
      return `--allow-${d.name}`;
  }
}

/**
 * Throws {@linkcode MissingPermissionError} unless the permission is granted. When Deno would
 * prompt (an interactive terminal without `--no-prompt`), it prompts now, as the access itself
 * would; otherwise the answer is no.
 *
 * @param descriptor the permission
 * @param what what needs it (starts the error message)
 * @throws {MissingPermissionError} when it is not granted
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ensurePermission } from "./permissions.ts";
 * // granted (examples run with --allow-all): returns; without it, throws a MissingPermissionError
 * // naming --allow-net=localhost:5557
 * assertEquals(ensurePermission({ name: "net", host: "localhost:5557" }, "asking the nameserver"), undefined);
 * ```
 */
export function ensurePermission(descriptor: Deno.PermissionDescriptor, what: string): void {
  if (Deno.permissions.querySync(descriptor).state === "granted") return;
  if (Deno.permissions.requestSync(descriptor).state === "granted") return;
  throw new MissingPermissionError(descriptor, what);
}

/**
 * True for the error Deno raises when an access lacks its permission.
 *
 * @param e anything thrown
 * @returns whether it is `Deno.errors.NotCapable`
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { isNotCapable } from "./permissions.ts";
 * assertEquals(isNotCapable(new Error("x")), false);
 * ```
 */
export function isNotCapable(e: unknown): boolean {
  return e instanceof Deno.errors.NotCapable;
}
