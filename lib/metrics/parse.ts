/**
 * Reading the Prometheus text exposition format back: {@linkcode parseExposition} returns the
 * samples of a scrape (name, labels, value), so one exporter can be fed by another (the
 * nameserver's web view charts message rates from a `posttroll listen --metrics` instance or from
 * pytroll-messages-prom).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseExposition } from "./parse.ts";
 * const [s] = parseExposition('posttroll_message_counter_total{topic="/a"} 3\n');
 * assertEquals([s.name, s.labels.topic, s.value], ["posttroll_message_counter_total", "/a", 3]);
 * ```
 * @module
 */
import { MetricsError } from "./errors.ts";

/** One sample of a scrape. */
export interface Sample {
  /** Metric name as written (with `_total`, `_bucket`... suffixes). */
  name: string;
  /** Label values by name. */
  labels: Record<string, string>;
  /** The value. */
  value: number;
}

function parseValue(text: string, line: number): number {
  switch (text) {
    case "+Inf":
    case "Inf":
      return Infinity;
    case "-Inf":
      return -Infinity;
    case "NaN":
      return NaN;
  }
  const v = Number(text);
  if (text === "" || Number.isNaN(v)) {
    throw new MetricsError(`line ${line}: invalid sample value ${JSON.stringify(text)}`);
  }
  return v;
}

/**
 * Parses exposition text (format 0.0.4; `# HELP`/`# TYPE` and other comments are skipped).
 *
 * @param text the scrape's body
 * @returns the samples in order
 * @throws {MetricsError} for a malformed sample line (naming the line)
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseExposition } from "./parse.ts";
 * assertEquals(parseExposition('# TYPE up gauge\nup{job="a\\"b"} 1\n')[0].labels.job, 'a"b');
 * ```
 */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  const lines = text.split("\n");
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln].trim();
    if (line === "" || line.startsWith("#")) continue;
    const nameEnd = line.search(/[{\s]/);
    if (nameEnd <= 0) throw new MetricsError(`line ${ln + 1}: no value in ${JSON.stringify(line)}`);
    const name = line.slice(0, nameEnd);
    const labels: Record<string, string> = {};
    let i = nameEnd;
    if (line[i] === "{") {
      i++;
      while (true) {
        while (line[i] === " " || line[i] === ",") i++;
        if (line[i] === "}") {
          i++;
          break;
        }
        const eq = line.indexOf("=", i);
        if (eq < 0 || line[eq + 1] !== '"') {
          throw new MetricsError(`line ${ln + 1}: malformed labels in ${JSON.stringify(line)}`);
        }
        const key = line.slice(i, eq).trim();
        let value = "";
        let j = eq + 2;
        for (; j < line.length && line[j] !== '"'; j++) {
          if (line[j] === "\\") {
            const n = line[++j];
            value += n === "n" ? "\n" : n;
          } else value += line[j];
        }
        if (j >= line.length) {
          throw new MetricsError(`line ${ln + 1}: unterminated label value`);
        }
        labels[key] = value;
        i = j + 1;
      }
    }
    const rest = line.slice(i).trim().split(/\s+/);
    out.push({ name, labels, value: parseValue(rest[0] ?? "", ln + 1) });
  }
  return out;
}
