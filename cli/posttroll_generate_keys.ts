/**
 * `posttroll-generate-keys NAME [-d DIRECTORY] [-p]`: creates a CurveZMQ key pair for posttroll's
 * `secure_zmq` backend as `DIRECTORY/NAME.key` (public) and `DIRECTORY/NAME.key_secret` (public
 * and secret, readable by its owner only), in the certificate format pyzmq reads.
 *
 * `-p`/`--parents` creates the directory and its parents first (like `mkdir -p`); without it a
 * missing directory is refused, as in posttroll.
 *
 * Exit codes: 0 written, 1 refused (missing directory, existing files), 2 usage error.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { main } from "./posttroll_generate_keys.ts";
 * const dir = await Deno.makeTempDir(); // stands for /etc/posttroll
 * const code: number = await main(["server", "-d", dir]);
 * assertEquals(code, 0);
 * assertEquals((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort(), [
 *   "server.key",
 *   "server.key_secret",
 * ]);
 * assertEquals(await main(["server", "-d", dir]), 1); // refuses to overwrite them
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { generateKeyFiles, KeyFileError } from "../lib/posttroll/secure_keys.ts";
import denoJson from "../deno.json" with { type: "json" };

const USAGE = `usage: posttroll-generate-keys [-h] [-V] [-d DIRECTORY] [-p] name

Create a public/secret key pair for the secure zmq backend. This will create two files (in the
current directory if not otherwise specified) with the suffixes '.key' and '.key_secret'. The name
of the files will be the one provided.

positional arguments:
  name                  Name of the file.

options:
  -h, --help            show this help message and exit
  -V, --version         show the version and exit
  -d, --directory DIRECTORY
                        Directory to place the keys in.
  -p, --parents         Create the directory and its parents when missing.
`;

/**
 * Runs the command with `args` (without the program name) and returns the exit code.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { main } from "./posttroll_generate_keys.ts";
 * const dir = await Deno.makeTempDir();
 * assert((await main(["node1", "-d", dir])) === 0);
 * ```
 */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        directory: { type: "string", short: "d", default: "." },
        parents: { type: "boolean", short: "p" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
      },
    });
  } catch (e) {
    console.error(
      `${USAGE.split("\n")[0]}\nposttroll-generate-keys: error: ${(e as Error).message}`,
    );
    return 2;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  if (parsed.values.version) {
    console.log(`posttroll-generate-keys (${denoJson.name}) ${denoJson.version}`);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    console.error(
      `${USAGE.split("\n")[0]}\nposttroll-generate-keys: error: ` +
        (parsed.positionals.length
          ? "exactly one name is expected"
          : "the following arguments are required: name"),
    );
    return 2;
  }
  const directory = parsed.values.directory;
  try {
    if (parsed.values.parents) {
      await Deno.mkdir(directory, { recursive: true, mode: 0o755 });
    } else if (!(await Deno.stat(directory).then(() => true, () => false))) {
      console.error(
        `posttroll-generate-keys: error: key directory ${directory} does not exist ` +
          `(create it, or pass --parents)`,
      );
      return 1;
    }
    const keys = await generateKeyFiles(parsed.positionals[0], {
      directory,
    });
    console.log(`wrote ${keys.publicFile} and ${keys.secretFile}`);
    return 0;
  } catch (e) {
    if (e instanceof KeyFileError || e instanceof Deno.errors.PermissionDenied) {
      console.error(`posttroll-generate-keys: error: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
