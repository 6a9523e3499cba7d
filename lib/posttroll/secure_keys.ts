/**
 * CurveZMQ key files for posttroll's `secure_zmq` backend, in the ZeroMQ certificate format that
 * pyzmq's `zmq.auth.create_certificates` writes and `load_certificate` reads: `NAME.key` holds the
 * public key, `NAME.key_secret` the public and the secret key, both Z85 (40 characters).
 *
 * @example Generate a key pair and read it back
 * ```ts
 * import { assert } from "@std/assert";
 * import { generateKeyFiles, loadCertificate } from "./secure_keys.ts";
 * const dir = await Deno.makeTempDir();
 * const { publicFile, secretFile } = await generateKeyFiles("server", { directory: dir });
 * const pub = await loadCertificate(publicFile);
 * const both = await loadCertificate(secretFile);
 * assert(pub.publicKey === both.publicKey && both.secretKey !== undefined);
 * ```
 *
 * @module
 */
import { z85Decode } from "../zmq/z85.ts";
import { KeyFileError } from "./errors.ts";
export { KeyFileError, PosttrollError } from "./errors.ts";

/** Keys read from a certificate file (Z85 text). */
export interface Certificate {
  /** Z85 public key (40 characters). */
  publicKey: string;
  /** Z85 secret key, present in `.key_secret` files only. */
  secretKey?: string;
}

function banner(now: Date): string {
  // pyzmq writes Python's str(datetime.now()): "YYYY-MM-DD HH:MM:SS.ffffff" in local time.
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const stamp = `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())} ` +
    `${p(now.getHours())}:${p(now.getMinutes())}:${p(now.getSeconds())}.${
      p(now.getMilliseconds() * 1000, 6)
    }`;
  return `#   ****  Generated on ${stamp} by pytroll-deno  ****\n#   ZeroMQ CURVE certificate\n\n`;
}

/**
 * Renders a certificate file's text: `metadata` section (with `metadata` entries), then a `curve`
 * section with `public-key` and, when given, `secret-key`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { formatCertificate } from "./secure_keys.ts";
 * const text = formatCertificate({ publicKey: "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7" });
 * assert(text.includes('public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"'));
 * ```
 */
export function formatCertificate(
  cert: Certificate,
  metadata: Record<string, string> = {},
  now: Date = new Date(),
): string {
  let text = banner(now) + "metadata\n";
  for (const [k, v] of Object.entries(metadata)) text += `    ${k} = ${v}\n`;
  text += "curve\n";
  text += `    public-key = "${cert.publicKey}"\n`;
  if (cert.secretKey) text += `    secret-key = "${cert.secretKey}"\n`;
  return text;
}

function checkKey(key: string, what: string, source: string): string {
  let ok = false;
  try {
    ok = z85Decode(key).length === 32;
  } catch (e) {
    throw new KeyFileError(`${source}: ${what} is not a 40-character Z85 CurveZMQ key`, {
      cause: e,
    });
  }
  if (!ok) throw new KeyFileError(`${source}: ${what} is not a 40-character Z85 CurveZMQ key`);
  return key;
}

/**
 * Parses certificate text the way pyzmq's `load_certificate` does: `#` lines skipped, lines
 * starting `public-key`/`secret-key` split at the first `=`, value stripped of spaces, tabs and
 * quotes. Throws {@linkcode KeyFileError} when no public key is found or a key is not valid Z85.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { parseCertificate } from "./secure_keys.ts";
 * const cert = parseCertificate('curve\n    public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"\n');
 * assert(cert.secretKey === undefined);
 * ```
 */
export function parseCertificate(text: string, source = "certificate"): Certificate {
  let publicKey: string | undefined;
  let secretKey: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith("#") || !line.includes("=")) continue;
    const value = () => line.slice(line.indexOf("=") + 1).replace(/^[ \t'"]+|[ \t'"]+$/g, "");
    if (line.startsWith("public-key")) publicKey ??= value();
    if (line.startsWith("secret-key")) secretKey ??= value();
  }
  if (!publicKey) throw new KeyFileError(`No public key found in ${source}`);
  return {
    publicKey: checkKey(publicKey, "public-key", source),
    ...(secretKey ? { secretKey: checkKey(secretKey, "secret-key", source) } : {}),
  };
}

/**
 * Reads a `.key` or `.key_secret` file.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { generateKeyFiles, loadCertificate } from "./secure_keys.ts";
 * const dir = await Deno.makeTempDir(); // stands for /etc/posttroll
 * const made = await generateKeyFiles("server", { directory: dir });
 * const { publicKey, secretKey } = await loadCertificate(`${dir}/server.key_secret`);
 * assertEquals([publicKey, secretKey?.length], [made.publicKey, 40]);
 * assertEquals((await loadCertificate(`${dir}/server.key`)).secretKey, undefined); // public only
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadCertificate(path: string): Promise<Certificate> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new KeyFileError(`Invalid certificate file: ${path} (${(e as Error).message})`, {
      cause: e,
    });
  }
  return parseCertificate(text, path);
}

/**
 * Reads the public keys of every `*.key` file in `directory` (pyzmq's `load_certificates`), as
 * the authorizer of a secure server admits them.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { generateKeyFiles, loadPublicKeys } from "./secure_keys.ts";
 * const dir = await Deno.makeTempDir(); // stands for /etc/posttroll/clients
 * const a = await generateKeyFiles("a", { directory: dir });
 * const b = await generateKeyFiles("b", { directory: dir });
 * const allowed: Set<string> = await loadPublicKeys(dir);
 * assertEquals(allowed, new Set([a.publicKey, b.publicKey]));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadPublicKeys(directory: string): Promise<Set<string>> {
  const keys = new Set<string>();
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(directory));
  } catch (e) {
    throw new KeyFileError(`Invalid certificate directory: ${directory}`, { cause: e });
  }
  for (const entry of entries) {
    if (!entry.name.endsWith(".key")) continue;
    keys.add((await loadCertificate(`${directory}/${entry.name}`)).publicKey);
  }
  return keys;
}

/** Options of {@linkcode generateKeyFiles}. */
export interface GenerateKeyOptions {
  /** Directory for the two files; must exist. @default "." */
  directory?: string;
  /** Extra `metadata` entries for the secret file. */
  metadata?: Record<string, string>;
}

/** Paths and keys written by {@linkcode generateKeyFiles}. */
export interface GeneratedKeys {
  /** `DIR/NAME.key`: the public key, mode 0644. */
  publicFile: string;
  /** `DIR/NAME.key_secret`: public and secret key, mode 0600. */
  secretFile: string;
  /** Z85 public key. */
  publicKey: string;
}

/**
 * Creates a new CurveZMQ key pair as `DIR/NAME.key` and `DIR/NAME.key_secret` (what
 * `posttroll-generate-keys NAME -d DIR` does). The secret file is created readable by its owner
 * only; neither file is overwritten (a clear {@linkcode KeyFileError} instead), and a missing
 * directory is an error rather than created.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { generateKeyFiles } from "./secure_keys.ts";
 * const dir = await Deno.makeTempDir();
 * const keys = await generateKeyFiles("client1", { directory: dir });
 * assert(keys.publicFile.endsWith("client1.key"));
 * ```
 */
export async function generateKeyFiles(
  name: string,
  options: GenerateKeyOptions = {},
): Promise<GeneratedKeys> {
  const directory = options.directory ?? ".";
  if (!name || name.includes("/") || name === "." || name === "..") {
    throw new KeyFileError(
      `Invalid key name ${JSON.stringify(name)}: a plain file name is expected`,
    );
  }
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(directory);
  } catch (e) {
    throw new KeyFileError(`Key directory ${directory} does not exist`, { cause: e });
  }
  if (!info.isDirectory) throw new KeyFileError(`Key directory ${directory} is not a directory`);
  const base = `${directory.replace(/\/+$/, "") || "/"}/${name}`;
  const publicFile = `${base}.key`;
  const secretFile = `${base}.key_secret`;
  for (const f of [publicFile, secretFile]) {
    let exists = true;
    try {
      await Deno.lstat(f);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new KeyFileError(`Cannot check ${f}: ${(e as Error).message}`, { cause: e });
      }
      exists = false;
    }
    if (exists) throw new KeyFileError(`${f} already exists; not overwriting a key file`);
  }
  // loaded here only: @noble/curves costs every process that imports it ~9 MiB of RSS
  const { curveKeyPair } = await import("../zmq/curve_keys.ts");
  const { publicKey, secretKey } = curveKeyPair();
  const now = new Date();
  const write = async (path: string, text: string, mode: number) => {
    try {
      await Deno.writeTextFile(path, text, { createNew: true, mode });
      await Deno.chmod(path, mode); // the umask may have narrowed the mode
    } catch (e) {
      throw new KeyFileError(`Cannot write ${path}: ${(e as Error).message}`, { cause: e });
    }
  };
  await write(
    secretFile,
    formatCertificate({ publicKey, secretKey }, options.metadata, now),
    0o600,
  );
  await write(publicFile, formatCertificate({ publicKey }, {}, now), 0o644);
  return { publicFile, secretFile, publicKey };
}
