/**
 * The body of a Kafka Produce request (API key 0, versions 3 to 11) with one record batch
 * (magic 2, uncompressed) per partition, written in one pass into one buffer of the exact size.
 * The client library builds each record from a dozen small buffers and copies the batch twice;
 * this costs about a tenth of it per record (measured in bench/README.md, "Kafka client (#17)").
 * Pure functions, no I/O: the CRC-32C function is passed in.
 *
 * Record batch v2 (KIP-98): baseOffset int64, batchLength int32, partitionLeaderEpoch int32,
 * magic int8, crc uint32 (CRC-32C of what follows it), attributes int16, lastOffsetDelta int32,
 * baseTimestamp int64, maxTimestamp int64, producerId int64, producerEpoch int16, baseSequence
 * int32, then the records (a count and each record with varint lengths, zigzag-encoded).
 *
 * @module
 */

/** One record as the encoder takes it (header names as text, values as bytes). */
export interface EncodableRecord {
  /** The key, or null. */
  key?: Uint8Array | null;
  /** The value, or null. */
  value: Uint8Array | null;
  /** Headers, in order. */
  headers: Array<[string, Uint8Array]>;
}

/** The records of one partition. */
export interface PartitionBatch {
  /** The topic. */
  topic: string;
  /** The partition. */
  partition: number;
  /** Its records, in order (at least one). */
  records: EncodableRecord[];
}

/** What an idempotent producer puts in each batch (absent: not idempotent). */
export interface ProducerIdentity {
  /** The producer id from InitProducerId. */
  producerId: bigint;
  /** The producer epoch. */
  producerEpoch: number;
  /** The sequence number of each batch's first record. */
  baseSequence: (topic: string, partition: number) => number;
}

/** Options of {@linkcode encodeProduceRequest}. */
export interface ProduceRequestOptions {
  /** Request version, 3 to 11 (9 and later use the compact, tagged encoding). */
  version: number;
  /** Acknowledgements: -1 all in-sync replicas, 1 the leader, 0 none. */
  acks: number;
  /** How long the broker may wait for the acknowledgements, in ms. */
  timeoutMs: number;
  /** Timestamp of every record, ms since the epoch. */
  timestamp: number;
  /** CRC-32C of the bytes given. */
  crc32c: (bytes: Uint8Array) => number;
  /** Producer id, epoch and sequences for an idempotent producer. */
  producer?: ProducerIdentity;
  /** Gives the array to write into, of exactly `size` bytes (e.g. from a pool). @default a new one */
  buffer?: (size: number) => Uint8Array;
}

/** Lowest and highest Produce version this encoder writes. */
export const PRODUCE_VERSIONS = { min: 3, max: 11 } as const;

const enc = new TextEncoder();
const names = new Map<string, Uint8Array>();
/** The last names looked up, tried first (a producer writes the same few header names). */
const recentNames: string[] = [];
const recentBytes: Uint8Array[] = [];
let recentNext = 0;

/** A header or topic name's UTF-8 bytes (names repeat: each is encoded once). */
function nameBytes(name: string): Uint8Array {
  for (let i = 0; i < recentNames.length; i++) if (recentNames[i] === name) return recentBytes[i];
  let b = names.get(name);
  if (b === undefined) {
    b = enc.encode(name);
    if (names.size < 1024) names.set(name, b);
  }
  recentNames[recentNext] = name;
  recentBytes[recentNext] = b;
  recentNext = (recentNext + 1) % 8;
  return b;
}

/** Bytes of an unsigned varint. */
function uvarintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Bytes of a zigzag varint (a signed 32-bit value). */
function varintSize(v: number): number {
  return uvarintSize(((v << 1) ^ (v >> 31)) >>> 0);
}

/** Size of one record without its own length prefix. */
function recordBodySize(r: EncodableRecord, offsetDelta: number): number {
  // attributes, timestampDelta 0
  let n = 2 + varintSize(offsetDelta);
  const k = r.key, v = r.value;
  n += k ? varintSize(k.length) + k.length : 1;
  n += v ? varintSize(v.length) + v.length : 1;
  n += varintSize(r.headers.length);
  for (const [name, value] of r.headers) {
    const nb = nameBytes(name);
    n += varintSize(nb.length) + nb.length + varintSize(value.length) + value.length;
  }
  return n;
}

/** Record batch header bytes, from baseOffset to the record count. */
const BATCH_HEADER = 61;

/** Bytes of a partition's record batch, and each record's body size. */
function batchSize(b: PartitionBatch, bodies: number[]): number {
  let n = BATCH_HEADER;
  for (let i = 0; i < b.records.length; i++) {
    const body = recordBodySize(b.records[i], i);
    bodies.push(body);
    n += varintSize(body) + body;
  }
  return n;
}

/** A cursor writing into one buffer. */
class Out {
  readonly buf: Uint8Array;
  readonly view: DataView;
  at = 0;
  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  i8(v: number): void {
    this.buf[this.at++] = v;
  }
  i16(v: number): void {
    this.view.setInt16(this.at, v);
    this.at += 2;
  }
  i32(v: number): void {
    this.view.setInt32(this.at, v);
    this.at += 4;
  }
  i64(v: bigint): void {
    this.view.setBigInt64(this.at, v);
    this.at += 8;
  }
  uvarint(v: number): void {
    while (v >= 0x80) {
      this.buf[this.at++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.at++] = v;
  }
  varint(v: number): void {
    this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }
  bytes(b: Uint8Array): void {
    const n = b.length;
    if (n > 32) this.buf.set(b, this.at);
    else {
      // a loop beats TypedArray.prototype.set's fixed cost for a few bytes (header values)
      const buf = this.buf, at = this.at;
      for (let i = 0; i < n; i++) buf[at + i] = b[i];
    }
    this.at += n;
  }
  /** A varint length and the bytes, or -1 for null. */
  varBytes(b: Uint8Array | null | undefined): void {
    if (!b) {
      this.varint(-1);
      return;
    }
    this.varint(b.length);
    this.bytes(b);
  }
}

/** Groups the batches by topic, keeping the order in which topics first appear. */
function byTopic(batches: PartitionBatch[]): Map<string, PartitionBatch[]> {
  const topics = new Map<string, PartitionBatch[]>();
  for (const b of batches) {
    const list = topics.get(b.topic);
    if (list) list.push(b);
    else topics.set(b.topic, [b]);
  }
  return topics;
}

/**
 * Writes a Produce request's body (what follows the request header).
 *
 * @param batches the records of each partition (one record batch each)
 * @param o version, acks, timeout, timestamp, CRC function, producer identity
 * @returns the body bytes
 * @throws RangeError for a version outside {@linkcode PRODUCE_VERSIONS}
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { encodeProduceRequest } from "./produce_request.ts";
 * const body = encodeProduceRequest(
 *   [{ topic: "t", partition: 0, records: [{ value: new Uint8Array([1]), headers: [] }] }],
 *   { version: 9, acks: -1, timeoutMs: 30000, timestamp: 0, crc32c: () => 0 },
 * );
 * assertEquals(body.length, 88);
 * ```
 */
export function encodeProduceRequest(
  batches: PartitionBatch[],
  o: ProduceRequestOptions,
): Uint8Array {
  const v = o.version;
  if (!Number.isInteger(v) || v < PRODUCE_VERSIONS.min || v > PRODUCE_VERSIONS.max) {
    throw new RangeError(`Produce version ${v} is not supported`);
  }
  const flexible = v >= 9;
  const topics = byTopic(batches);
  const bodies: number[][] = [];
  const sizes: number[] = [];
  // transactional id (null), acks, timeout, topic count
  let size = (flexible ? 1 : 2) + 2 + 4 + (flexible ? uvarintSize(topics.size + 1) : 4);
  const topicNames = new Map<string, Uint8Array>();
  for (const [topic, list] of topics) {
    const name = nameBytes(topic);
    topicNames.set(topic, name);
    size += flexible ? uvarintSize(name.length + 1) + name.length : 2 + name.length;
    size += flexible ? uvarintSize(list.length + 1) : 4;
    for (const b of list) {
      const rb: number[] = [];
      const n = batchSize(b, rb);
      bodies.push(rb);
      sizes.push(n);
      // partition index, records length, the batch, tagged fields
      size += 4 + (flexible ? uvarintSize(n + 1) + 1 : 4) + n;
    }
    if (flexible) size++;
  }
  if (flexible) size++;

  const buf = o.buffer?.(size) ?? new Uint8Array(size);
  if (buf.length !== size) {
    throw new RangeError(`produce request: a buffer of ${size} bytes expected`);
  }
  const out = new Out(buf);
  if (flexible) out.uvarint(0);
  else out.i16(-1);
  out.i16(o.acks);
  out.i32(o.timeoutMs);
  if (flexible) out.uvarint(topics.size + 1);
  else out.i32(topics.size);
  const ts = BigInt(o.timestamp);
  let k = 0;
  for (const [topic, list] of topics) {
    const name = topicNames.get(topic)!;
    if (flexible) out.uvarint(name.length + 1);
    else out.i16(name.length);
    out.bytes(name);
    if (flexible) out.uvarint(list.length + 1);
    else out.i32(list.length);
    for (const b of list) {
      const n = sizes[k];
      const rb = bodies[k++];
      out.i32(b.partition);
      if (flexible) out.uvarint(n + 1);
      else out.i32(n);
      writeBatch(out, b, rb, n, ts, o);
      if (flexible) out.uvarint(0);
    }
    if (flexible) out.uvarint(0);
  }
  if (flexible) out.uvarint(0);
  if (out.at !== size) throw new Error(`produce request: wrote ${out.at} of ${size} bytes`);
  return out.buf;
}

function writeBatch(
  out: Out,
  b: PartitionBatch,
  bodies: number[],
  size: number,
  ts: bigint,
  o: ProduceRequestOptions,
): void {
  const start = out.at;
  const p = o.producer;
  out.i64(0n); // base offset
  out.i32(size - 12); // batch length: what follows this field
  out.i32(-1); // partition leader epoch (set by the broker)
  out.i8(2); // magic
  const crcAt = out.at;
  out.i32(0); // crc, below
  out.i16(0); // attributes: no compression, create time, not transactional
  out.i32(b.records.length - 1); // last offset delta
  out.i64(ts);
  out.i64(ts);
  out.i64(p ? p.producerId : -1n);
  out.i16(p ? p.producerEpoch : -1);
  out.i32(p ? p.baseSequence(b.topic, b.partition) : -1);
  out.i32(b.records.length);
  for (let i = 0; i < b.records.length; i++) {
    const r = b.records[i];
    out.varint(bodies[i]);
    out.i8(0); // attributes
    out.i8(0); // timestamp delta (zigzag 0)
    out.varint(i); // offset delta
    out.varBytes(r.key);
    out.varBytes(r.value);
    out.varint(r.headers.length);
    for (const [name, value] of r.headers) {
      out.varBytes(nameBytes(name));
      out.varBytes(value);
    }
  }
  if (out.at - start !== size) throw new Error("produce request: record batch size mismatch");
  out.view.setUint32(crcAt, o.crc32c(out.buf.subarray(crcAt + 4, out.at)));
}

/**
 * Kafka's murmur2 of a key, as the Java client's default partitioner computes it (the partition
 * is `(murmur2(key) & 0x7fffffff) % partitions`).
 *
 * @param data the key bytes
 * @returns the signed 32-bit hash
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { murmur2 } from "./produce_request.ts";
 * assertEquals(murmur2(new TextEncoder().encode("21")) & 0x7fffffff, 1173551340);
 * ```
 */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = (0x9747b28c ^ length) | 0;
  const n4 = length & ~3;
  for (let i = 0; i < n4; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  switch (length & 3) {
    case 3:
      h ^= data[n4 + 2] << 16;
    // falls through
    case 2:
      h ^= data[n4 + 1] << 8;
    // falls through
    case 1:
      h ^= data[n4];
      h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}
