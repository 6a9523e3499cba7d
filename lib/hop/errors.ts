/**
 * Typed errors of the hop-client layer (message format and credentials). Messages never contain a
 * password.
 *
 * @module
 */

/**
 * Base class of every hop-layer error.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { HopError } from "./errors.ts";
 * assertEquals(new HopError("bad").name, "HopError");
 * ```
 */
export class HopError extends Error {
  /** True when the same call may succeed if made again later (a transient failure). */
  readonly retriable: boolean;
  /**
   * Creates a hop-layer error.
   *
   * @param message what went wrong
   * @param options `cause`; `retriable` (default false)
   */
  constructor(message: string, options?: ErrorOptions & { retriable?: boolean }) {
    super(message, options);
    this.name = "HopError";
    this.retriable = options?.retriable ?? false;
  }
}

/** Why a credential file was refused. */
export type CredentialFileProblem = "not-found" | "unsafe-permissions" | "malformed";

/**
 * A credential file (hop `auth.toml`, `config.toml` or `.netrc`) is missing, has unsafe
 * permissions or cannot be interpreted.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { CredentialFileError } from "./errors.ts";
 * const e = new CredentialFileError("missing", "/x/auth.toml", "not-found");
 * assertEquals(e.problem, "not-found");
 * ```
 */
export class CredentialFileError extends HopError {
  /** The file concerned. */
  readonly path: string;
  /** What is wrong with it. */
  readonly problem: CredentialFileProblem;
  /**
   * Creates an error about a credential file.
   *
   * @param message description (never the file's secrets)
   * @param path the file
   * @param problem the kind of problem
   * @param options `cause`
   */
  constructor(
    message: string,
    path: string,
    problem: CredentialFileProblem,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "CredentialFileError";
    this.path = path;
    this.problem = problem;
  }
}

/**
 * No usable credential, or the broker refused the credential (wrong username or password).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { AuthError } from "./errors.ts";
 * assertEquals(new AuthError("refused").name, "AuthError");
 * ```
 */
export class AuthError extends HopError {
  /**
   * Creates an error about a missing or refused credential.
   *
   * @param message description (never the password)
   * @param options `cause`
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AuthError";
  }
}

/**
 * Several credentials match a host equally well (hop's `AmbiguousCredentialError`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { AmbiguousCredentialError } from "./errors.ts";
 * assert(new AmbiguousCredentialError("two matches") instanceof Error);
 * ```
 */
export class AmbiguousCredentialError extends AuthError {
  /**
   * Creates an error listing the credentials that match equally well.
   *
   * @param message the list of matching usernames and hosts
   * @param options `cause`
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AmbiguousCredentialError";
  }
}

/**
 * A Kafka record could not be decoded as a hop message of the format it claims.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { HopFormatError } from "./errors.ts";
 * assertEquals(new HopFormatError("not JSON").name, "HopFormatError");
 * ```
 */
export class HopFormatError extends HopError {
  /**
   * Creates an error about a record that cannot be decoded.
   *
   * @param message description
   * @param options `cause`
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HopFormatError";
  }
}
