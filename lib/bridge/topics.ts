/**
 * Kafka topic names for posttroll subjects.
 *
 * A subject's components become dot-separated parts after a prefix:
 * `/oper/polar/avhrr` -> `posttroll.oper.polar.avhrr`. Kafka allows only `[A-Za-z0-9._-]` in
 * topic names and refuses a topic whose name equals an existing one's once every `.` and `_` is
 * read as the same character (`a.b` and `a_b` "collide"), so after the prefix a name holds only
 * letters, digits, `-` escapes and the `.` separators: every other byte of a component's UTF-8
 * (and `-` itself) is written `-XX` (upper-case hex): `/a.b/c d_e` -> `posttroll.a-2Eb.c-20d-5Fe`.
 * Empty components are kept (`/a//b` -> `posttroll.a..b`); a subject without the leading `/` maps
 * like the one with it. The mapping is reversible ({@linkcode topicToSubject}). `depth` keeps
 * only the first components, so a family of subjects shares a topic; names beyond Kafka's 249
 * characters are cut and end in `_` and a hash of the whole name. Messages are keyed by their
 * full subject, so each subject's messages stay in order.
 *
 * @module
 */
import { sha256 } from "../_util/sha256.ts";
import { utf8Bytes } from "../_util/utf8.ts";
import { BridgeOptionError } from "./errors.ts";

/** Topic prefix used when none is given. */
export const DEFAULT_TOPIC_PREFIX = "posttroll";

/** Kafka's longest topic name. */
export const MAX_TOPIC_LENGTH = 249;

/** How subjects map to topics. */
export interface TopicMapping {
  /** First part of every topic. @default "posttroll" */
  prefix?: string;
  /** Subject components kept (1 or more); all when absent. */
  depth?: number;
  /** One topic for every subject (overrides prefix and depth). */
  topic?: string;
}

const LEGAL = /^[A-Za-z0-9._-]+$/;

/**
 * Checks a Kafka topic name (or prefix): 1..249 characters of `[A-Za-z0-9._-]`, not `.` or `..`.
 *
 * @param name the name
 * @param what how to call it in the error
 * @throws BridgeOptionError when invalid
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { validateTopicName } from "./topics.ts";
 * import { BridgeOptionError } from "./errors.ts";
 * validateTopicName("posttroll.oper"); // ok
 * assertThrows(() => validateTopicName("a b"), BridgeOptionError, "not a valid Kafka topic name");
 * ```
 */
export function validateTopicName(name: string, what = "topic"): void {
  if (
    typeof name !== "string" || !LEGAL.test(name) || name.length > MAX_TOPIC_LENGTH ||
    name === "." || name === ".."
  ) {
    throw new BridgeOptionError(
      `${what} ${JSON.stringify(name)} is not a valid Kafka topic name ` +
        `(1-${MAX_TOPIC_LENGTH} characters of A-Z a-z 0-9 . _ -)`,
    );
  }
}

/**
 * Checks a mapping's options.
 *
 * @param mapping the mapping
 * @throws BridgeOptionError for a bad prefix, depth or topic
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { validateTopicMapping } from "./topics.ts";
 * import { BridgeOptionError } from "./errors.ts";
 * validateTopicMapping({ prefix: "site-a", depth: 2 });
 * assertThrows(() => validateTopicMapping({ prefix: "site-a", depth: 0 }), BridgeOptionError);
 * ```
 */
export function validateTopicMapping(mapping: TopicMapping): void {
  if (mapping.topic !== undefined) validateTopicName(mapping.topic, "topic");
  const prefix = mapping.prefix ?? DEFAULT_TOPIC_PREFIX;
  validateTopicName(prefix, "topic prefix");
  if (prefix.length > MAX_PREFIX_LENGTH) {
    // a cut name keeps its first CUT_AT characters: the prefix and its "." must fit in them
    throw new BridgeOptionError(
      `topic prefix ${JSON.stringify(prefix)} is longer than ${MAX_PREFIX_LENGTH} characters`,
    );
  }
  const d = mapping.depth;
  if (d !== undefined && (!Number.isInteger(d) || d < 1)) {
    throw new BridgeOptionError(`topic depth must be an integer >= 1, not ${String(d)}`);
  }
}

const enc = new TextEncoder();
const KEEP = /^[A-Za-z0-9]$/;
/** Length of the head a too-long name is cut to (then `_` and 16 hex digits). */
const CUT_AT = MAX_TOPIC_LENGTH - 17;
const MAX_PREFIX_LENGTH = CUT_AT - 1;

function escapeComponent(c: string): string {
  let out = "";
  for (const ch of c) {
    if (KEEP.test(ch)) {
      out += ch;
      continue;
    }
    for (const b of enc.encode(ch)) out += "-" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

function subjectParts(subject: string): string[] {
  const body = subject.startsWith("/") ? subject.slice(1) : subject;
  return body === "" ? [] : body.split("/");
}

/**
 * The Kafka topic of a subject.
 *
 * @param subject a posttroll subject (`/oper/polar/direct_readout`)
 * @param mapping prefix, depth or fixed topic
 * @returns the topic name (always valid for Kafka)
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { subjectToTopic } from "./topics.ts";
 * assertEquals(subjectToTopic("/oper/polar/direct_readout"), "posttroll.oper.polar.direct-5Freadout");
 * assertEquals(subjectToTopic("/oper/polar/direct_readout", { depth: 2 }), "posttroll.oper.polar");
 * assertEquals(subjectToTopic("/a.b/c d"), "posttroll.a-2Eb.c-20d");
 * ```
 */
export function subjectToTopic(subject: string, mapping: TopicMapping = {}): string {
  if (mapping.topic !== undefined) return mapping.topic;
  let parts = subjectParts(subject);
  if (mapping.depth !== undefined) parts = parts.slice(0, mapping.depth);
  const name = [mapping.prefix ?? DEFAULT_TOPIC_PREFIX, ...parts.map(escapeComponent)].join(".");
  if (name.length <= MAX_TOPIC_LENGTH) return name;
  // `_` appears nowhere else after the prefix: a cut name is recognisable and cannot collide
  const hash = Array.from(
    sha256(utf8Bytes(name)).subarray(0, 8),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
  return `${name.slice(0, CUT_AT)}_${hash}`;
}

/**
 * The subject (prefix) a topic stands for: the inverse of {@linkcode subjectToTopic} for topics
 * it made (without depth, the full subject; with depth, the subject prefix).
 *
 * @param topic the topic
 * @param prefix the topic prefix @default "posttroll"
 * @returns the subject, or undefined when the topic is not under the prefix or is a cut name
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { topicToSubject } from "./topics.ts";
 * assertEquals(topicToSubject("posttroll.a-2Eb.c-20d"), "/a.b/c d");
 * ```
 */
export function topicToSubject(
  topic: string,
  prefix: string = DEFAULT_TOPIC_PREFIX,
): string | undefined {
  if (topic === prefix) return "/";
  if (!topic.startsWith(prefix + ".")) return undefined;
  const parts = topic.slice(prefix.length + 1).split(".");
  const dec = new TextDecoder("utf-8", { fatal: true });
  let subject: string;
  try {
    subject = "/" + parts.map((p) => {
      const bytes: number[] = [];
      for (let i = 0; i < p.length;) {
        if (p[i] === "-") {
          const hex = p.slice(i + 1, i + 3);
          if (!/^[0-9A-F]{2}$/.test(hex)) throw new Error("bad escape");
          bytes.push(parseInt(hex, 16));
          i += 3;
        } else if (KEEP.test(p[i])) {
          bytes.push(p.charCodeAt(i));
          i++;
        } else {
          throw new Error("not a name made by subjectToTopic (a cut name ends in _hash)");
        }
      }
      return dec.decode(new Uint8Array(bytes));
    }).join("/");
  } catch {
    return undefined;
  }
  // only the canonical spelling (no needless escapes) is a name subjectToTopic makes
  return subjectToTopic(subject, { prefix }) === topic ? subject : undefined;
}

/**
 * Whether a topic is one of the prefix's: the prefix itself or `<prefix>.<anything>`.
 *
 * @param topic a topic name
 * @param prefix the topic prefix
 * @returns true when the topic belongs to the prefix
 * @example
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { topicHasPrefix } from "./topics.ts";
 * assert(topicHasPrefix("posttroll.oper", "posttroll"));
 * assertEquals(topicHasPrefix("posttrollx.oper", "posttroll"), false);
 * ```
 */
export function topicHasPrefix(topic: string, prefix: string): boolean {
  return topic === prefix || topic.startsWith(prefix + ".");
}
