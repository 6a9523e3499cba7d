/**
 * Stand-in for `jsr:@std/assert` (JSR is not reachable from the build machines), mapped to the
 * import name `@std/assert` in `deno.json`: switching back is a one-line change of that entry.
 * Only the functions the tests use are provided, with std's names and semantics, on `node:assert`.
 *
 * @module
 */
import nodeAssert from "node:assert/strict";

/** Error thrown by a failed assertion. */
export class AssertionError extends Error {
  /** @param message what failed */
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

function wrap(fn: () => void, msg?: string): void {
  try {
    fn();
  } catch (e) {
    const err = new AssertionError(msg ? `${msg}: ${(e as Error).message}` : (e as Error).message);
    throw err;
  }
}

/** Asserts that `expr` is truthy. */
export function assert(expr: unknown, msg = "Expected expression to be truthy"): asserts expr {
  if (!expr) throw new AssertionError(msg);
}

/** Deep structural equality (std semantics: Date, Map, Set, typed arrays compared by value). */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  wrap(() => nodeAssert.deepStrictEqual(actual, expected), msg);
}

/** Deep structural inequality. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  wrap(() => nodeAssert.notDeepStrictEqual(actual, expected), msg);
}

/** `Object.is` equality. */
export function assertStrictEquals<T>(actual: T, expected: T, msg?: string): void {
  wrap(() => nodeAssert.strictEqual(actual, expected), msg);
}

/** Asserts `actual` matches the regular expression. */
export function assertMatch(actual: string, expected: RegExp, msg?: string): void {
  wrap(() => nodeAssert.match(actual, expected), msg);
}

/** Asserts `actual` includes `expected`. */
export function assertStringIncludes(actual: string, expected: string, msg?: string): void {
  if (!actual.includes(expected)) {
    throw new AssertionError(
      msg ?? `Expected ${JSON.stringify(actual)} to include ${JSON.stringify(expected)}`,
    );
  }
}

/** Asserts `actual` is an instance of `expectedType`. */
export function assertInstanceOf<T extends abstract new (...args: never[]) => unknown>(
  actual: unknown,
  expectedType: T,
  msg?: string,
): asserts actual is InstanceType<T> {
  if (!(actual instanceof expectedType)) {
    throw new AssertionError(
      msg ??
        `Expected object to be an instance of "${expectedType.name}" but was ${String(actual)}`,
    );
  }
}

/** Asserts `a > b` / `a >= b` / `a < b` / `a <= b`. */
export function assertGreater<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual > expected)) throw new AssertionError(msg ?? `Expected ${actual} > ${expected}`);
}
/** Asserts `actual >= expected`. */
export function assertGreaterOrEqual<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual >= expected)) throw new AssertionError(msg ?? `Expected ${actual} >= ${expected}`);
}
/** Asserts `actual < expected`. */
export function assertLess<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual < expected)) throw new AssertionError(msg ?? `Expected ${actual} < ${expected}`);
}
/** Asserts `actual <= expected`. */
export function assertLessOrEqual<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual <= expected)) throw new AssertionError(msg ?? `Expected ${actual} <= ${expected}`);
}

/** Fails unconditionally. */
export function fail(msg?: string): never {
  throw new AssertionError(msg ? `Failed assertion: ${msg}` : "Failed assertion.");
}

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

function checkError(e: unknown, ErrorClass?: ErrorClass<Error>, includes?: string): void {
  if (ErrorClass && !(e instanceof ErrorClass)) {
    throw new AssertionError(
      `Expected error to be instance of "${ErrorClass.name}", but was "${
        (e as Error)?.constructor?.name
      }": ${(e as Error)?.message}`,
    );
  }
  if (includes !== undefined && !(e as Error).message.includes(includes)) {
    throw new AssertionError(
      `Expected error message to include ${JSON.stringify(includes)}, but got ${
        JSON.stringify((e as Error).message)
      }`,
    );
  }
}

/** Asserts `fn` throws (optionally an instance of `ErrorClass` whose message includes `msgIncludes`). */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  ErrorClass?: ErrorClass<E>,
  msgIncludes?: string,
): E {
  try {
    fn();
  } catch (e) {
    checkError(e, ErrorClass, msgIncludes);
    return e as E;
  }
  throw new AssertionError("Expected function to throw.");
}

/** Asserts the promise returned by `fn` rejects (optionally with `ErrorClass` and message part). */
export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  ErrorClass?: ErrorClass<E>,
  msgIncludes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (e) {
    checkError(e, ErrorClass, msgIncludes);
    return e as E;
  }
  throw new AssertionError("Expected function to reject.");
}
