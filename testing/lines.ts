/**
 * The one line reader of the harnesses and bench peers: a child's stdout/stderr, a peer's stdin.
 *
 * @module
 */

/**
 * The lines of a UTF-8 byte stream, split at `"\n"` (which is not part of a line; a last line
 * without one is yielded too). Ends quietly when the stream ends or is torn down (a killed child's
 * pipe, stdin gone).
 *
 * @param stream the bytes, e.g. `child.stdout` or `Deno.stdin.readable`
 * @returns the lines in order
 */
export async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const dec = new TextDecoder();
  let buf = "";
  try {
    for await (const chunk of stream) {
      buf += dec.decode(chunk, { stream: true });
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        yield buf.slice(0, i);
        buf = buf.slice(i + 1);
      }
    }
  } catch {
    // stream torn down
  }
  buf += dec.decode();
  if (buf) yield buf;
}

/**
 * Calls `onLine` for each line of `stream` (see {@linkcode lines}) and resolves at its end.
 *
 * @param stream the bytes
 * @param onLine called with each line, in order
 */
export async function eachLine(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  for await (const line of lines(stream)) onLine(line);
}
