/**
 * Kafka topic names for posttroll subjects.
 *
 * A subject's components become dot-separated parts after a prefix:
 * `/oper/polar/direct_readout` -> `posttroll.oper.polar.direct_readout`. Kafka allows only
 * `[A-Za-z0-9._-]` in topic names, so any other byte of a component's UTF-8 (and `.` and `_`
 * themselves) is written `_XX` (hex): `/a.b/c d` -> `posttroll.a_2Eb.c_20d`. The mapping is
 * reversible ({@linkcode topicToSubject}). `depth` keeps only the first components, so a family
 * of subjects shares a topic; names beyond Kafka's 249 characters are cut and end in a hash.
 * Messages are keyed by their full subject, so each subject's messages stay in order.
 *
 * @module
 */
import { createHash } from "node:crypto";
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
 * import { validateTopicName } from "./topics.ts";
 * validateTopicName("posttroll.oper"); // ok
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
 * import { validateTopicMapping } from "./topics.ts";
 * validateTopicMapping({ prefix: "site-a", depth: 2 });
 * ```
 */
export function validateTopicMapping(mapping: TopicMapping): void {
  if (mapping.topic !== undefined) validateTopicName(mapping.topic, "topic");
  validateTopicName(mapping.prefix ?? DEFAULT_TOPIC_PREFIX, "topic prefix");
  const d = mapping.depth;
  if (d !== undefined && (!Number.isInteger(d) || d < 1)) {
    throw new BridgeOptionError(`topic depth must be an integer >= 1, not ${String(d)}`);
  }
}

const enc = new TextEncoder();
const KEEP = /^[A-Za-z0-9-]$/;

function escapeComponent(c: string): string {
  let out = "";
  for (const ch of c) {
    if (KEEP.test(ch)) {
      out += ch;
      continue;
    }
    for (const b of enc.encode(ch)) out += "_" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/**
 * The Kafka topic of a subject.
 *
 * @param subject a posttroll subject (`/oper/polar/direct_readout`)
 * @param mapping prefix, depth or fixed topic
 * @returns the topic name (always valid for Kafka)
 * @example
 * ```ts
 * import { subjectToTopic } from "./topics.ts";
 * subjectToTopic("/oper/polar/direct_readout"); // "posttroll.oper.polar.direct_readout"
 * subjectToTopic("/oper/polar/direct_readout", { depth: 2 }); // "posttroll.oper.polar"
 * subjectToTopic("/a.b/c d"); // "posttroll.a_2Eb.c_20d"
 * ```
 */
export function subjectToTopic(subject: string, mapping: TopicMapping = {}): string {
  if (mapping.topic !== undefined) return mapping.topic;
  let parts = subject.split("/").filter((p) => p.length > 0);
  if (mapping.depth !== undefined) parts = parts.slice(0, mapping.depth);
  const name = [mapping.prefix ?? DEFAULT_TOPIC_PREFIX, ...parts.map(escapeComponent)].join(".");
  if (name.length <= MAX_TOPIC_LENGTH) return name;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 16);
  return `${name.slice(0, MAX_TOPIC_LENGTH - 17)}.${hash}`;
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
 * import { topicToSubject } from "./topics.ts";
 * topicToSubject("posttroll.a_2Eb.c_20d"); // "/a.b/c d"
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
  try {
    return "/" + parts.map((p) => {
      const bytes: number[] = [];
      for (let i = 0; i < p.length;) {
        if (p[i] === "_") {
          const hex = p.slice(i + 1, i + 3);
          if (!/^[0-9A-F]{2}$/.test(hex)) throw new Error("bad escape");
          bytes.push(parseInt(hex, 16));
          i += 3;
        } else {
          bytes.push(p.charCodeAt(i));
          i++;
        }
      }
      return dec.decode(new Uint8Array(bytes));
    }).join("/");
  } catch {
    return undefined;
  }
}

/**
 * Whether a topic is one of the prefix's: the prefix itself or `<prefix>.<anything>`.
 *
 * @param topic a topic name
 * @param prefix the topic prefix
 * @returns true when the topic belongs to the prefix
 * @example
 * ```ts
 * import { topicHasPrefix } from "./topics.ts";
 * topicHasPrefix("posttroll.oper", "posttroll"); // true
 * topicHasPrefix("posttrollx.oper", "posttroll"); // false
 * ```
 */
export function topicHasPrefix(topic: string, prefix: string): boolean {
  return topic === prefix || topic.startsWith(prefix + ".");
}
