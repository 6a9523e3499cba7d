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
  /** The figures of an attack on a listening process (docs/FAULTS.md's attack table). */
  attack?: AttackFigures;
}

/** How one implementation fared under an attack. */
export interface AttackSide {
  /** The process was still running after the attack. */
  alive: boolean;
  /** RSS before the attack and its peak while it ran, bytes. */
  rssBefore: number;
  rssPeak: number;
  /** Probes answered within 2 s / made, during the attack and right after it. */
  during: [answered: number, made: number];
  after: [answered: number, made: number];
  /** Slowest answer during the attack, ms. */
  worstMs: number;
  /** Anything else measured (e.g. a look-up made after the attack). */
  extra?: string;
}

/** One attack on one kind of listening process, ours and (where made) Python's. */
export interface AttackFigures {
  /** The process and port attacked, e.g. "nameserver", "publisher PUB port". */
  target: string;
  /** The attack, in a few words. */
  attack: string;
  /** What ours was sent, e.g. "50000 SUBSCRIBE (1.3 MiB)". */
  sent: string;
  /** Inputs ours was sent (connections, datagrams, commands). */
  inputs: number;
  /** What the probes are ("look-ups", "messages"). */
  probe: string;
  /** RSS growth allowed for ours, bytes (per input when `perInput`). */
  bound: number;
  perInput?: boolean;
  /** Ours must serve during the attack (false: descriptors exhausted, only after). */
  duringRequired: boolean;
  ours: AttackSide;
  python?: AttackSide;
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
