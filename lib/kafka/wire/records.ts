/**
 * Decoding of Kafka record batches (magic 2, the only format Kafka 3+ writes) as a Fetch
 * response carries them: varint-framed records with key, value and headers as views into the
 * fetched bytes (no copy), control batches (transaction markers) and the batches of aborted
 * transactions skipped, a batch cut off at the end of the response left for the next fetch.
 * Compression: none, and gzip (through `DecompressionStream`); snappy, lz4 and zstd end in a
 * {@linkcode UnsupportedCompressionError} naming the codec. CRCs are not checked (TCP and TLS
 * already do, as librdkafka's default `check.crcs=false` assumes).
 *
 * @module
 */
import { KafkaError } from "../errors.ts";
import { ResponseFormatError } from "./codec.ts";

/** A decoded record (views into the fetched bytes). */
export interface BatchRecord {
  /** The record's offset. */
  offset: bigint;
  /** Its timestamp, ms since the epoch. */
  timestamp: number;
  /** The key, or null. */
  key: Uint8Array | null;
  /** The value, or null. */
  value: Uint8Array | null;
  /** Headers in order: name bytes and value (null values as empty). */
  headers: Array<[Uint8Array, Uint8Array]>;
}

/** An aborted transaction of a Fetch answer: records of `producerId` from `firstOffset` on. */
export interface AbortedTransaction {
  producerId: bigint;
  firstOffset: bigint;
}

const CODECS = ["none", "gzip", "snappy", "lz4", "zstd"];

/**
 * A record batch compressed with a codec this client does not decompress.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { UnsupportedCompressionError } from "./records.ts";
 * assertEquals(new UnsupportedCompressionError("zstd", "t", 0).codec, "zstd");
 * ```
 */
export class UnsupportedCompressionError extends KafkaError {
  /** The codec: `snappy`, `lz4`, `zstd` or `codec <n>`. */
  readonly codec: string;
  /**
   * Creates the error.
   *
   * @param codec the codec's name
   * @param topic the topic
   * @param partition the partition
   */
  constructor(codec: string, topic: string, partition: number) {
    super(
      `records of ${topic} partition ${partition} are compressed with ${codec}, which this ` +
        "client cannot decompress (it reads uncompressed and gzip batches; produce with " +
        "compression.type none or gzip)",
    );
    this.name = "UnsupportedCompressionError";
    this.codec = codec;
  }
}

/** Where the records of one partition's answer end up, and where the next fetch starts. */
export interface DecodedRecords {
  /** The records, in offset order, from `fromOffset` on. */
  records: BatchRecord[];
  /** The offset after the last whole batch read (control and aborted batches included). */
  nextOffset: bigint;
}

/** Reads zigzag varints and fields from a byte array without a reader object per call. */
class Cursor {
  at: number;
  constructor(readonly b: Uint8Array, at: number) {
    this.at = at;
  }
  varint(): number {
    const b = this.b;
    let at = this.at;
    if (at >= b.length) throw new ResponseFormatError("a record ends early");
    let byte = b[at++];
    if (byte < 0x80) {
      this.at = at;
      return (byte >>> 1) ^ -(byte & 1);
    }
    let v = byte & 0x7f, mul = 128;
    do {
      if (at >= b.length || mul > 2 ** 63) throw new ResponseFormatError("a record ends early");
      byte = b[at++];
      v += (byte & 0x7f) * mul;
      mul *= 128;
    } while (byte & 0x80);
    this.at = at;
    return v % 2 ? -(v + 1) / 2 : v / 2;
  }
  bytes(n: number): Uint8Array | null {
    if (n < 0) return null;
    const at = this.at;
    if (at + n > this.b.length) throw new ResponseFormatError("a record ends early");
    this.at = at + n;
    return this.b.subarray(at, at + n);
  }
}

const EMPTY = new Uint8Array(0);

/** Decodes the records of one (decompressed) batch body. */
function decodeRecords(
  body: Uint8Array,
  count: number,
  baseOffset: bigint,
  baseTimestamp: number,
  logAppendTime: number | undefined,
  fromOffset: bigint,
  out: BatchRecord[],
): void {
  const c = new Cursor(body, 0);
  for (let i = 0; i < count; i++) {
    const length = c.varint();
    const end = c.at + length;
    if (length < 0 || end > body.length) throw new ResponseFormatError("a record ends early");
    c.at++; // attributes
    const tsDelta = c.varint();
    const offsetDelta = c.varint();
    const key = c.bytes(c.varint());
    const value = c.bytes(c.varint());
    const n = c.varint();
    const headers: Array<[Uint8Array, Uint8Array]> = [];
    for (let h = 0; h < n; h++) {
      const name = c.bytes(c.varint()) ?? EMPTY;
      headers.push([name, c.bytes(c.varint()) ?? EMPTY]);
    }
    c.at = end;
    const offset = baseOffset + BigInt(offsetDelta);
    if (offset < fromOffset) continue;
    out.push({ offset, timestamp: logAppendTime ?? baseTimestamp + tsDelta, key, value, headers });
  }
}

/**
 * The record batches of one partition in a Fetch answer (its `records` field).
 *
 * @param data the bytes of the partition's record set (views of it are handed out)
 * @param fromOffset the fetch position: records before it (a batch starts earlier) are skipped
 * @param aborted the partition's aborted transactions (read_committed), or none
 * @param where topic and partition, for errors
 * @returns the records, or a promise of them when a batch is gzip-compressed
 * @throws UnsupportedCompressionError; ResponseFormatError for a malformed batch
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { decodeRecordBatches } from "./records.ts";
 * // one batch at offset 5: one record, value "hi", no key, no headers
 * const record = [16, 0, 0, 0, 1, 4, 104, 105, 0];
 * const batch = new Uint8Array(61 + record.length);
 * const v = new DataView(batch.buffer);
 * v.setBigInt64(0, 5n);
 * v.setInt32(8, batch.length - 12);
 * v.setInt8(16, 2); // magic
 * v.setInt32(57, 1); // record count
 * batch.set(record, 61);
 * const got = decodeRecordBatches(batch, 0n, [], { topic: "t", partition: 0 });
 * if (got instanceof Promise) throw new Error("not compressed");
 * assertEquals(got.records.map((r) => [r.offset, new TextDecoder().decode(r.value!)]), [[5n, "hi"]]);
 * assertEquals(got.nextOffset, 6n);
 * ```
 */
export function decodeRecordBatches(
  data: Uint8Array,
  fromOffset: bigint,
  aborted: AbortedTransaction[],
  where: { topic: string; partition: number },
): DecodedRecords | Promise<DecodedRecords> {
  const out: BatchRecord[] = [];
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let at = 0;
  let next = fromOffset;
  let pending: Array<Promise<void>> | undefined;
  // producers inside an aborted transaction, by the offset it started at
  const abortedFrom = aborted.length > 0
    ? [...aborted].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : 1))
    : aborted;
  let ai = 0;
  const inAborted = new Set<bigint>();
  while (data.length - at >= 61) {
    const baseOffset = view.getBigInt64(at);
    const length = view.getInt32(at + 8);
    const end = at + 12 + length;
    if (length < 49 || end > data.length) break; // cut off: the next fetch gets it whole
    const magic = view.getInt8(at + 16);
    if (magic !== 2) {
      throw new ResponseFormatError(
        `records of ${where.topic} partition ${where.partition} use message format ${magic} ` +
          "(only 2, Kafka 0.11 and newer, is read)",
      );
    }
    const attributes = view.getInt16(at + 21);
    const lastOffsetDelta = view.getInt32(at + 23);
    const baseTimestamp = Number(view.getBigInt64(at + 27));
    const maxTimestamp = Number(view.getBigInt64(at + 35));
    const producerId = view.getBigInt64(at + 43);
    const count = view.getInt32(at + 57);
    const batchNext = baseOffset + BigInt(lastOffsetDelta) + 1n;
    const transactional = (attributes & 0x10) !== 0;
    const control = (attributes & 0x20) !== 0;
    while (ai < abortedFrom.length && abortedFrom[ai].firstOffset <= baseOffset) {
      inAborted.add(abortedFrom[ai++].producerId);
    }
    if (control) {
      // a transaction marker: an abort marker ends that producer's aborted transaction
      if (transactional) inAborted.delete(producerId);
    } else if (batchNext > fromOffset && !(transactional && inAborted.has(producerId))) {
      const codec = attributes & 0x07;
      const logAppend = (attributes & 0x08) !== 0 ? maxTimestamp : undefined;
      const body = data.subarray(at + 61, end);
      if (codec === 0) {
        decodeRecords(body, count, baseOffset, baseTimestamp, logAppend, fromOffset, out);
      } else if (codec === 1) {
        // keep the order: decompressed batches fill their slot once ready
        const slot: BatchRecord[] = [];
        out.push(slot as unknown as BatchRecord);
        (pending ??= []).push(
          gunzip(body).then((plain) => {
            decodeRecords(plain, count, baseOffset, baseTimestamp, logAppend, fromOffset, slot);
          }),
        );
      } else {
        throw new UnsupportedCompressionError(
          CODECS[codec] ?? `codec ${codec}`,
          where.topic,
          where.partition,
        );
      }
    }
    if (batchNext > next) next = batchNext;
    at = end;
  }
  if (!pending) return { records: out, nextOffset: next };
  return Promise.all(pending).then(() => ({
    records: out.flatMap((r) => (Array.isArray(r) ? r as BatchRecord[] : [r])),
    nextOffset: next,
  }));
}

/**
 * Decompresses gzip data.
 *
 * @param data gzip bytes
 * @returns the plain bytes
 */
async function gunzip(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new DecompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
