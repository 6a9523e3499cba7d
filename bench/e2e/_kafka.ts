/**
 * The Kafka broker of a bench group (the test harness's, PLAINTEXT, SASL_PLAINTEXT and SASL_SSL
 * listeners): started once for the group, killed on Ctrl-C, closed at the end; a broker that
 * does not start becomes the group's one "broker start" row.
 *
 * @module
 */
import { type KafkaBroker, startKafka } from "../../testing/kafka.ts";
import { onCleanup } from "./_peer.ts";
import { errCell, type Row } from "./_table.ts";

/**
 * Runs `measure` with a fresh broker and returns its rows (or the failed start's row).
 *
 * @param group the table group
 * @param log progress lines
 * @param measure the group's runs
 */
export async function withKafka(
  group: string,
  log: (s: string) => void,
  measure: (kafka: KafkaBroker) => Promise<Row[]>,
): Promise<Row[]> {
  log(`${group}: starting Kafka`);
  const t = performance.now();
  let kafka: KafkaBroker;
  try {
    kafka = await startKafka();
  } catch (e) {
    const c = errCell(e);
    return [{
      group,
      metric: "broker start",
      unit: "",
      higherIsBetter: true,
      ours: c,
      py: c,
      raw: c,
    }];
  }
  log(`  broker ready in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const unregister = onCleanup(async () => {
    await kafka.kill();
    await Deno.remove(kafka.dir, { recursive: true }).catch(() => {});
  });
  try {
    return await measure(kafka);
  } finally {
    log(`${group}: stopping Kafka`);
    unregister();
    await kafka.close();
  }
}
