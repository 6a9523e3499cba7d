/**
 * A small reader for Avro object container files (what hop's `AvroBlob` sends, written by
 * fastavro): header, schema, `null` and `deflate` codecs, and the binary encoding of every Avro type
 * (records, enums, arrays, maps, unions, fixed, logical types left as their underlying values).
 * Pure functions (`deflate` by lib/_util/inflate.ts: node:zlib costs a publisher ~9 MiB of RSS).
 *
 * @module
 */
import { inflateRaw as inflate } from "../_util/inflate.ts";
import { HopFormatError } from "./errors.ts";

/** An Avro schema as parsed JSON. */
export type AvroSchema = string | AvroSchema[] | { [key: string]: unknown };

/** A decoded container file. */
export interface AvroContainer {
  /** The writer schema. */
  schema: AvroSchema;
  /** `avro.codec` (null or deflate). */
  codec: string;
  /** Every record, in order. */
  records: unknown[];
}

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}
  need(n: number) {
    if (this.pos + n > this.buf.length) throw new HopFormatError("Avro data ends early");
  }
  byte(): number {
    this.need(1);
    return this.buf[this.pos++];
  }
  long(): number {
    let n = 0n;
    let shift = 0n;
    let b: number;
    do {
      b = this.byte();
      n |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (shift > 70n) throw new HopFormatError("Avro varint too long");
    } while (b & 0x80);
    const v = (n >> 1n) ^ -(n & 1n);
    return Number(v);
  }
  bytes(): Uint8Array {
    const len = this.long();
    if (len < 0) throw new HopFormatError("negative Avro length");
    this.need(len);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  fixed(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

const td = new TextDecoder();

function named(schema: AvroSchema, names: Map<string, AvroSchema>): AvroSchema {
  if (typeof schema === "string" && names.has(schema)) return names.get(schema)!;
  return schema;
}

function register(schema: AvroSchema, names: Map<string, AvroSchema>, ns = ""): void {
  if (Array.isArray(schema)) {
    for (const s of schema) register(s, names, ns);
    return;
  }
  if (typeof schema !== "object" || schema === null) return;
  const s = schema as Record<string, unknown>;
  const type = s.type;
  if ((type === "record" || type === "enum" || type === "fixed" || type === "error") && s.name) {
    const name = String(s.name);
    const space = typeof s.namespace === "string" ? s.namespace : ns;
    const full = name.includes(".") ? name : space ? `${space}.${name}` : name;
    names.set(full, schema);
    names.set(name, schema);
    if (Array.isArray(s.fields)) {
      for (const f of s.fields as Array<{ type: AvroSchema }>) register(f.type, names, space);
    }
  } else if (type === "array") register(s.items as AvroSchema, names, ns);
  else if (type === "map") register(s.values as AvroSchema, names, ns);
  else if (typeof type === "object") register(type as AvroSchema, names, ns);
}

function decode(r: Reader, schema: AvroSchema, names: Map<string, AvroSchema>): unknown {
  schema = named(schema, names);
  if (Array.isArray(schema)) {
    const i = r.long();
    if (i < 0 || i >= schema.length) throw new HopFormatError(`Avro union index ${i} out of range`);
    return decode(r, schema[i], names);
  }
  const type = typeof schema === "string" ? schema : (schema as { type: AvroSchema }).type;
  if (typeof type !== "string") return decode(r, type, names);
  const s = schema as Record<string, unknown>;
  switch (type) {
    case "null":
      return null;
    case "boolean":
      return r.byte() !== 0;
    case "int":
    case "long":
      return r.long();
    case "float": {
      const v = new DataView(r.buf.buffer, r.buf.byteOffset + r.pos, 4).getFloat32(0, true);
      r.fixed(4);
      return v;
    }
    case "double": {
      r.need(8);
      const v = new DataView(r.buf.buffer, r.buf.byteOffset + r.pos, 8).getFloat64(0, true);
      r.pos += 8;
      return v;
    }
    case "bytes":
      return r.bytes().slice();
    case "string":
      return td.decode(r.bytes());
    case "record":
    case "error": {
      const out: Record<string, unknown> = {};
      for (const f of s.fields as Array<{ name: string; type: AvroSchema }>) {
        out[f.name] = decode(r, f.type, names);
      }
      return out;
    }
    case "enum": {
      const symbols = s.symbols as string[];
      const i = r.long();
      if (i < 0 || i >= symbols.length) throw new HopFormatError(`Avro enum index ${i}`);
      return symbols[i];
    }
    case "array": {
      const out: unknown[] = [];
      for (let n = r.long(); n !== 0; n = r.long()) {
        if (n < 0) {
          n = -n;
          r.long(); // block size in bytes
        }
        for (let i = 0; i < n; i++) out.push(decode(r, s.items as AvroSchema, names));
      }
      return out;
    }
    case "map": {
      const out: Record<string, unknown> = {};
      for (let n = r.long(); n !== 0; n = r.long()) {
        if (n < 0) {
          n = -n;
          r.long();
        }
        for (let i = 0; i < n; i++) {
          const k = td.decode(r.bytes());
          out[k] = decode(r, s.values as AvroSchema, names);
        }
      }
      return out;
    }
    case "fixed":
      return r.fixed(Number(s.size)).slice();
  }
  throw new HopFormatError(`unknown Avro type ${JSON.stringify(type)}`);
}

function inflateRaw(data: Uint8Array): Uint8Array {
  try {
    return inflate(data);
  } catch (e) {
    throw new HopFormatError(`Avro deflate block: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Reads an Avro object container file.
 *
 * @param data the file's bytes (a hop `avro` record value)
 * @returns schema, codec and records
 * @throws HopFormatError when the data is not an Avro container or uses an unsupported codec
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readAvroContainer } from "./avro.ts";
 * // a container file with one string record, written by hand: magic, metadata, sync, one block
 * const te = new TextEncoder();
 * const str = (s: string) => [s.length * 2, ...te.encode(s)]; // Avro long (zig-zag) + bytes
 * const sync = new Array(16).fill(7);
 * const bytes = new Uint8Array([
 *   ...te.encode("Obj"), 1,
 *   2, ...str("avro.schema"), ...str('"string"'), 0, // a map of one entry, then its end
 *   ...sync,
 *   2, 8, ...str("hi!"), ...sync, // a block: 1 record in 4 bytes
 * ]);
 * const { schema, records } = readAvroContainer(bytes);
 * assertEquals([schema, records], ["string", ["hi!"]]);
 * ```
 */
export function readAvroContainer(data: Uint8Array): AvroContainer {
  const r = new Reader(data);
  const magic = r.fixed(4);
  if (magic[0] !== 0x4f || magic[1] !== 0x62 || magic[2] !== 0x6a || magic[3] !== 1) {
    throw new HopFormatError("not an Avro object container file (bad magic)");
  }
  const meta = decode(r, { type: "map", values: "bytes" }, new Map()) as Record<
    string,
    Uint8Array
  >;
  const sync = r.fixed(16);
  if (!meta["avro.schema"]) throw new HopFormatError("Avro container without avro.schema");
  const schema = JSON.parse(td.decode(meta["avro.schema"])) as AvroSchema;
  const codec = meta["avro.codec"] ? td.decode(meta["avro.codec"]) : "null";
  if (codec !== "null" && codec !== "deflate") {
    throw new HopFormatError(`unsupported Avro codec ${codec}`);
  }
  const names = new Map<string, AvroSchema>();
  register(schema, names);
  const records: unknown[] = [];
  while (r.pos < data.length) {
    const count = r.long();
    let block = r.bytes();
    if (codec === "deflate") block = inflateRaw(block);
    const br = new Reader(block);
    for (let i = 0; i < count; i++) records.push(decode(br, schema, names));
    const marker = r.fixed(16);
    if (!marker.every((b, i) => b === sync[i])) {
      throw new HopFormatError("Avro sync marker mismatch");
    }
  }
  return { schema, codec, records };
}
