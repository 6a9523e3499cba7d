/**
 * A small Prometheus metrics registry: {@linkcode Counter}, {@linkcode Gauge} and
 * {@linkcode Histogram} families with labels, rendered in the text exposition format 0.0.4
 * ({@linkcode Registry.render}).
 *
 * Updating a series is a field update (no I/O, no allocation once the labelled series exists); all
 * the work happens when a scraper asks, so a process with metrics off pays nothing and one with
 * metrics on pays a few nanoseconds per event. Families whose value is cheaper to compute at scrape
 * time than to track take a `collect` callback instead. Each family holds at most `maxSeries`
 * label combinations (default 10,000); further combinations are counted in
 * `metrics_dropped_series_total{metric="…"}` instead of growing memory without bound.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Registry } from "./registry.ts";
 * const registry = new Registry();
 * const lookups = registry.counter({
 *   name: "lookups_total",
 *   help: "Look-ups answered, by result.",
 *   labelNames: ["result"],
 * });
 * const found = lookups.labels({ result: "found" }); // keep the series: no look-up per event
 * found.inc();
 * registry.gauge({ name: "queue_length", help: "Messages waiting.", collect: (g) => g.set(3) });
 * assertEquals(
 *   registry.render(),
 *   "# HELP lookups_total Look-ups answered, by result.\n" +
 *     "# TYPE lookups_total counter\n" +
 *     'lookups_total{result="found"} 1\n' +
 *     "# HELP queue_length Messages waiting.\n" +
 *     "# TYPE queue_length gauge\n" +
 *     "queue_length 3\n",
 * );
 * ```
 * @module
 */
import { MetricDefinitionError } from "./errors.ts";

/** Label values of one series, by label name. */
export type Labels = Readonly<Record<string, string>>;

/** The text exposition format's content type (Prometheus 0.0.4). */
export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Prometheus' default histogram buckets (seconds). */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
]);

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * A sample value as the text format writes it: `+Inf`, `-Inf`, `NaN`, or the shortest decimal.
 *
 * @param v the value
 * @returns its text
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { formatValue } from "./registry.ts";
 * assertEquals(formatValue(Infinity), "+Inf");
 * ```
 */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/**
 * Escapes a label value for the text format: backslash, double quote and line feed.
 *
 * @param v the value
 * @returns the escaped value (without quotes)
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { escapeLabelValue } from "./registry.ts";
 * assertEquals(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
 * ```
 */
export function escapeLabelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : "\\" + c);
}

/**
 * Escapes a HELP text for the text format: backslash and line feed.
 *
 * @param v the help text
 * @returns the escaped text
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { escapeHelp } from "./registry.ts";
 * assertEquals(escapeHelp("one\ntwo"), "one\\ntwo");
 * ```
 */
export function escapeHelp(v: string): string {
  return v.replace(/[\\\n]/g, (c) => c === "\n" ? "\\n" : "\\\\");
}

/** What every family is declared with. */
export interface MetricOptions<F> {
  /** Metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`; counters end in `_total`). */
  name: string;
  /** One line saying what is measured (the `# HELP` text). */
  help: string;
  /** Label names, in the order they are written. @default none */
  labelNames?: readonly string[];
  /**
   * Called before each rendering, to set values that are cheaper to compute when scraped than to
   * track (the size of a table, a queue's length). Errors propagate to the scraper.
   * @default none
   */
  collect?: (family: F) => void;
  /**
   * Label combinations kept at most; further ones are counted in
   * `metrics_dropped_series_total{metric="<name>"}` and their updates ignored.
   * @default 10000
   */
  maxSeries?: number;
}

/** Options of a {@linkcode Histogram}. */
export interface HistogramOptions extends MetricOptions<Histogram> {
  /** Upper bounds of the buckets, increasing (`+Inf` is added). @default DEFAULT_BUCKETS */
  buckets?: readonly number[];
}

/** One series of a counter. */
export interface CounterSeries {
  /** The current value. */
  readonly value: number;
  /**
   * Adds `n` (default 1).
   *
   * @param n a non-negative amount
   */
  inc(n?: number): void;
}

/** One series of a gauge. */
export interface GaugeSeries {
  /** The current value. */
  readonly value: number;
  /** Sets the value. @param v the value */
  set(v: number): void;
  /** Adds `n` (default 1). @param n amount */
  inc(n?: number): void;
  /** Subtracts `n` (default 1). @param n amount */
  dec(n?: number): void;
  /** Sets the value to the current Unix time in seconds. */
  setToCurrentTime(): void;
}

/** One series of a histogram. */
export interface HistogramSeries {
  /** Number of observations. */
  readonly count: number;
  /** Sum of the observations. */
  readonly sum: number;
  /** Records one observation. @param v the observed value */
  observe(v: number): void;
}

class CounterChild implements CounterSeries {
  value = 0;
  inc(n = 1): void {
    if (!(n >= 0)) throw new MetricDefinitionError(`a counter only goes up (inc(${n}))`);
    this.value += n;
  }
}

class GaugeChild implements GaugeSeries {
  value = 0;
  set(v: number): void {
    this.value = v;
  }
  inc(n = 1): void {
    this.value += n;
  }
  dec(n = 1): void {
    this.value -= n;
  }
  setToCurrentTime(): void {
    this.value = Date.now() / 1000;
  }
}

class HistogramChild implements HistogramSeries {
  count = 0;
  sum = 0;
  readonly counts: Float64Array;
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }
  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    if (i < b.length) this.counts[i]++;
    this.count++;
    this.sum += v;
  }
}

function seriesKey(values: string[]): string {
  return values.length === 0 ? "" : values.length === 1 ? values[0] : JSON.stringify(values);
}

/**
 * What the three metric types share: name, help, label names and the series by label values.
 *
 * @example
 * ```ts
 * import { assertEquals, assertInstanceOf } from "@std/assert";
 * import { MetricFamily, Registry } from "./registry.ts";
 * const g = new Registry().gauge({ name: "x", help: "X.", labelNames: ["k"] });
 * assertInstanceOf(g, MetricFamily);
 * assertEquals(g.size, 0);
 * g.labels({ k: "a" }).set(1);
 * assertEquals(g.size, 1);
 * ```
 */
export abstract class MetricFamily<C, F> {
  /** The metric name. */
  readonly name: string;
  /** The `# HELP` text. */
  readonly help: string;
  /** Declared label names, in order. */
  readonly labelNames: readonly string[];
  /** Label combinations refused because `maxSeries` was reached. */
  droppedSeries = 0;
  readonly #maxSeries: number;
  readonly #collect: ((family: F) => void) | undefined;
  readonly #series = new Map<string, { labels: string[]; child: C }>();
  #plain: C | undefined;

  /**
   * Validates and stores the declaration.
   *
   * @param options name, help, labels, collect, series limit
   * @param reserved label names this type uses itself (`le` for histograms)
   * @throws {MetricDefinitionError} for invalid names
   */
  constructor(options: MetricOptions<F>, reserved: readonly string[] = []) {
    if (!METRIC_NAME.test(options.name)) {
      throw new MetricDefinitionError(`invalid metric name ${JSON.stringify(options.name)}`);
    }
    const names = options.labelNames ?? [];
    for (const l of names) {
      if (!LABEL_NAME.test(l) || l.startsWith("__") || reserved.includes(l)) {
        throw new MetricDefinitionError(
          `invalid label name ${JSON.stringify(l)} for metric ${options.name}`,
        );
      }
    }
    if (new Set(names).size !== names.length) {
      throw new MetricDefinitionError(`repeated label name in metric ${options.name}`);
    }
    this.name = options.name;
    this.help = options.help;
    this.labelNames = [...names];
    this.#maxSeries = options.maxSeries ?? 10_000;
    this.#collect = options.collect;
  }

  /** Makes a new series at zero. @returns the series */
  protected abstract make(): C;

  /** The series without labels (a family declared without label names). */
  protected plain(): C {
    if (this.labelNames.length) {
      throw new MetricDefinitionError(
        `metric ${this.name} has labels ${this.labelNames.join(", ")}: use labels({...})`,
      );
    }
    return this.#plain ??= this.labels({});
  }

  #create(key: string, values: string[]): C {
    const child = this.make();
    this.#series.set(key, { labels: values, child });
    return child;
  }

  #values(labels: Labels): string[] {
    const names = this.labelNames;
    const values = new Array<string>(names.length);
    let n = 0;
    for (const k in labels) {
      const i = names.indexOf(k);
      if (i < 0) {
        throw new MetricDefinitionError(`metric ${this.name} has no label ${JSON.stringify(k)}`);
      }
      values[i] = String(labels[k]);
      n++;
    }
    if (n !== names.length) {
      throw new MetricDefinitionError(
        `metric ${this.name} needs labels ${names.join(", ")}, got ${
          Object.keys(labels).join(", ")
        }`,
      );
    }
    return values;
  }

  /**
   * The series of these label values (created at 0 the first time). Keep the returned series for
   * events that recur, rather than looking it up for each.
   *
   * @param labels a value for every declared label
   * @returns the series
   * @throws {MetricDefinitionError} for missing or unknown labels
   */
  labels(labels: Labels): C {
    const values = this.#values(labels);
    const key = seriesKey(values);
    const found = this.#series.get(key);
    if (found) return found.child;
    if (this.#series.size >= this.#maxSeries) {
      this.droppedSeries++;
      return this.make(); // updates go nowhere; memory stays bounded
    }
    return this.#create(key, values);
  }

  /**
   * Forgets the series of these label values (no-op when absent).
   *
   * @param labels a value for every declared label
   */
  remove(labels: Labels): void {
    const values = this.#values(labels);
    this.#series.delete(seriesKey(values));
  }

  /** Forgets every series (a family recomputed in `collect` starts with this). */
  clear(): void {
    this.#series.clear();
    this.#plain = undefined;
  }

  /** Number of series. */
  get size(): number {
    return this.#series.size;
  }

  /** Runs the collect callback. @ignore */
  collect(self: F): void {
    this.#collect?.(self);
  }

  /** Series with their label text (`{a="x",b="y"}` or ""), for rendering. @ignore */
  *entries(extra?: string): Iterable<[string, C]> {
    const names = this.labelNames;
    // a metric without labels is exported from the start, at 0
    if (names.length === 0 && this.#series.size === 0) this.plain();
    for (const { labels, child } of this.#series.values()) {
      const parts: string[] = [];
      for (let i = 0; i < names.length; i++) {
        parts.push(`${names[i]}="${escapeLabelValue(labels[i])}"`);
      }
      if (extra !== undefined) parts.push(extra);
      yield [parts.length ? `{${parts.join(",")}}` : "", child];
    }
  }

  /** Appends this family's lines. @ignore */
  abstract renderTo(out: string[]): void;

  /** Appends the `# HELP` and `# TYPE` lines. @param out lines @param type the type's name */
  protected header(out: string[], type: string): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${type}`);
  }
}

/**
 * A value that only goes up (events, bytes); its name ends in `_total`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Registry } from "./registry.ts";
 * const c = new Registry().counter({ name: "sent_total", help: "Messages sent." });
 * c.inc();
 * assertEquals(c.value, 1);
 * ```
 */
export class Counter extends MetricFamily<CounterSeries, Counter> implements CounterSeries {
  /**
   * Declares a counter (use {@linkcode Registry.counter} to have it rendered).
   *
   * @param options name, help, labels
   * @throws {MetricDefinitionError} for an invalid name or a name without `_total`
   */
  constructor(options: MetricOptions<Counter>) {
    super(options);
    if (!options.name.endsWith("_total")) {
      throw new MetricDefinitionError(`counter ${options.name} must be named *_total`);
    }
  }

  /**
   * Makes a new series at zero.
   *
   * @returns the series
   */
  protected make(): CounterSeries {
    return new CounterChild();
  }

  /** The value of the series without labels. */
  get value(): number {
    return this.plain().value;
  }

  /**
   * Adds `n` (default 1) to the series without labels.
   *
   * @param n a non-negative amount
   * @throws {MetricDefinitionError} for a negative amount, or when the counter has labels
   */
  inc(n = 1): void {
    this.plain().inc(n);
  }

  /** @ignore */
  renderTo(out: string[]): void {
    this.header(out, "counter");
    for (const [l, c] of this.entries()) out.push(`${this.name}${l} ${formatValue(c.value)}`);
  }
}

/**
 * A value that goes up and down (sizes, timestamps).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Registry } from "./registry.ts";
 * const g = new Registry().gauge({ name: "services", help: "Services registered." });
 * g.set(4);
 * assertEquals(g.value, 4);
 * ```
 */
export class Gauge extends MetricFamily<GaugeSeries, Gauge> implements GaugeSeries {
  /**
   * Declares a gauge (use {@linkcode Registry.gauge} to have it rendered).
   *
   * @param options name, help, labels, collect
   */
  constructor(options: MetricOptions<Gauge>) {
    super(options);
  }

  /**
   * Makes a new series at zero.
   *
   * @returns the series
   */
  protected make(): GaugeSeries {
    return new GaugeChild();
  }

  /** The value of the series without labels. */
  get value(): number {
    return this.plain().value;
  }
  /** Sets the series without labels. @param v the value */
  set(v: number): void {
    this.plain().set(v);
  }
  /** Adds to the series without labels. @param n amount @default 1 */
  inc(n = 1): void {
    this.plain().inc(n);
  }
  /** Subtracts from the series without labels. @param n amount @default 1 */
  dec(n = 1): void {
    this.plain().dec(n);
  }
  /** Sets the series without labels to the current Unix time in seconds. */
  setToCurrentTime(): void {
    this.plain().setToCurrentTime();
  }

  /** @ignore */
  renderTo(out: string[]): void {
    this.header(out, "gauge");
    for (const [l, c] of this.entries()) out.push(`${this.name}${l} ${formatValue(c.value)}`);
  }
}

/**
 * Observations counted into cumulative buckets (`_bucket{le="…"}`, `_sum`, `_count`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Registry } from "./registry.ts";
 * const h = new Registry().histogram({ name: "lookup_seconds", help: "Look-up time.", buckets: [0.001, 0.01] });
 * h.observe(0.002);
 * assertEquals(h.count, 1);
 * ```
 */
export class Histogram extends MetricFamily<HistogramSeries, Histogram> implements HistogramSeries {
  readonly #bounds: readonly number[];

  /**
   * Declares a histogram (use {@linkcode Registry.histogram} to have it rendered).
   *
   * @param options name, help, labels, buckets
   * @throws {MetricDefinitionError} for buckets that are not increasing or a label named `le`
   */
  constructor(options: HistogramOptions) {
    super(options, ["le"]);
    const b = [...(options.buckets ?? DEFAULT_BUCKETS)].filter((x) => x !== Infinity);
    for (let i = 0; i < b.length; i++) {
      if (!Number.isFinite(b[i]) || (i > 0 && !(b[i] > b[i - 1]))) {
        throw new MetricDefinitionError(`histogram ${options.name}: buckets must increase`);
      }
    }
    this.#bounds = b;
  }

  /**
   * Makes a new series at zero.
   *
   * @returns the series
   */
  protected make(): HistogramSeries {
    return new HistogramChild(this.#bounds);
  }

  /** Observations of the series without labels. */
  get count(): number {
    return this.plain().count;
  }
  /** Sum of the series without labels. */
  get sum(): number {
    return this.plain().sum;
  }
  /** Records one observation in the series without labels. @param v the value */
  observe(v: number): void {
    this.plain().observe(v);
  }

  /** @ignore */
  renderTo(out: string[]): void {
    this.header(out, "histogram");
    const bounds = this.#bounds;
    for (const [l, child] of this.entries()) {
      const h = child as HistogramChild;
      const base = l === "" ? "" : l.slice(1, -1) + ",";
      let acc = 0;
      for (let i = 0; i < bounds.length; i++) {
        acc += h.counts[i];
        out.push(`${this.name}_bucket{${base}le="${formatValue(bounds[i])}"} ${formatValue(acc)}`);
      }
      out.push(`${this.name}_bucket{${base}le="+Inf"} ${formatValue(h.count)}`);
      out.push(`${this.name}_sum${l} ${formatValue(h.sum)}`);
      out.push(`${this.name}_count${l} ${formatValue(h.count)}`);
    }
  }
}

type AnyFamily = Counter | Gauge | Histogram;

/**
 * The families a process exports, rendered in registration order.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Registry } from "./registry.ts";
 * const r = new Registry();
 * r.counter({ name: "events_total", help: "Events seen." }).inc(2);
 * assertEquals(r.render(), "# HELP events_total Events seen.\n# TYPE events_total counter\nevents_total 2\n");
 * ```
 */
export class Registry {
  readonly #families = new Map<string, AnyFamily>();
  readonly #bases = new Set<string>();

  #add<F extends AnyFamily>(f: F): F {
    // `x_total`, `x_count`, `x` and a histogram `x` would read back as one family
    const base = f.name.replace(/_(total|bucket|sum|count)$/, "");
    if (this.#bases.has(base)) {
      throw new MetricDefinitionError(`metric ${f.name} is registered already`);
    }
    this.#bases.add(base);
    this.#families.set(f.name, f);
    return f;
  }

  /**
   * Declares and registers a counter.
   *
   * @param options name (ending in `_total`), help, labels
   * @returns the counter
   * @throws {MetricDefinitionError} for an invalid or repeated name
   * @example
   * ```ts
   * import { assertStringIncludes } from "@std/assert";
   * import { Registry } from "./registry.ts";
   * const registry = new Registry();
   * registry.counter({ name: "a_total", help: "A." }).inc();
   * assertStringIncludes(registry.render(), "\na_total 1\n");
   * ```
   */
  counter(options: MetricOptions<Counter>): Counter {
    return this.#add(new Counter(options));
  }

  /**
   * Declares and registers a gauge.
   *
   * @param options name, help, labels, collect
   * @returns the gauge
   * @throws {MetricDefinitionError} for an invalid or repeated name
   * @example
   * ```ts
   * import { assertStringIncludes } from "@std/assert";
   * import { Registry } from "./registry.ts";
   * const registry = new Registry();
   * registry.gauge({ name: "size", help: "Size." }).set(1);
   * assertStringIncludes(registry.render(), "\nsize 1\n");
   * ```
   */
  gauge(options: MetricOptions<Gauge>): Gauge {
    return this.#add(new Gauge(options));
  }

  /**
   * Declares and registers a histogram.
   *
   * @param options name, help, labels, buckets
   * @returns the histogram
   * @throws {MetricDefinitionError} for an invalid or repeated name, or bad buckets
   * @example
   * ```ts
   * import { assertStringIncludes } from "@std/assert";
   * import { Registry } from "./registry.ts";
   * const registry = new Registry();
   * registry.histogram({ name: "latency_seconds", help: "Latency." }).observe(0.1);
   * assertStringIncludes(registry.render(), "\nlatency_seconds_count 1\n");
   * ```
   */
  histogram(options: HistogramOptions): Histogram {
    return this.#add(new Histogram(options));
  }

  /**
   * The family registered under `name`, if any.
   *
   * @param name metric name
   * @returns the family
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Registry } from "./registry.ts";
   * assertEquals(new Registry().get("nothing"), undefined);
   * ```
   */
  get(name: string): Counter | Gauge | Histogram | undefined {
    return this.#families.get(name);
  }

  /**
   * Runs the `collect` callbacks and renders every family in the text exposition format 0.0.4
   * (serve it with {@linkcode CONTENT_TYPE}).
   *
   * @returns the exposition text, ending in a line feed
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Registry } from "./registry.ts";
   * assertEquals(new Registry().render(), "");
   * ```
   */
  render(): string {
    const out: string[] = [];
    const dropped: string[] = [];
    for (const f of this.#families.values()) {
      (f.collect as (self: AnyFamily) => void)(f);
      f.renderTo(out);
      if (f.droppedSeries) {
        dropped.push(
          `metrics_dropped_series_total{metric="${f.name}"} ${formatValue(f.droppedSeries)}`,
        );
      }
    }
    if (dropped.length) {
      out.push(
        "# HELP metrics_dropped_series_total Label combinations not kept because the metric " +
          "had reached its series limit.",
        "# TYPE metrics_dropped_series_total counter",
        ...dropped,
      );
    }
    return out.length ? out.join("\n") + "\n" : "";
  }
}
