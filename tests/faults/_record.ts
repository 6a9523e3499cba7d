/**
 * Fault-suite bookkeeping: each fault test records what it injected, how many inputs it tried and
 * how many messages were lost. Records are appended as JSON lines to the file named by the
 * `FAULT_SUMMARY` environment variable (nothing is written when it is unset), and
 * `deno task faults:summary` renders them as a markdown table.
 *
 * @module
 */

/** One line of the fault summary. */
export interface FaultRecord {
  /** Area: codec, nameserver, pubsub, kafka, shutdown, security. */
  area: string;
  /** The fault injected, in a few words. */
  fault: string;
  /** How many inputs / events / messages were tried. */
  inputs: number;
  /** Messages that should have arrived and did not (0 is the goal). */
  lost: number;
  /** Free text: measured numbers, how the fault was made. */
  notes?: string;
}

/**
 * Appends a record to `$FAULT_SUMMARY` (if set).
 *
 * @param r the record
 * @example
 * ```ts
 * await recordFault({ area: "codec", fault: "random bytes", inputs: 10, lost: 0 });
 * ```
 */
export async function recordFault(r: FaultRecord): Promise<void> {
  const file = Deno.env.get("FAULT_SUMMARY");
  if (!file) return;
  await Deno.writeTextFile(file, JSON.stringify(r) + "\n", { append: true });
}
