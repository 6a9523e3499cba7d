/**
 * Adapter from the bench's igwn-alert peer to our igwn-alert client (lib/igwn_alert/).
 *
 * @module
 */
import type { BenchPublisher } from "./igwn_peer.ts";

/** Opens our publisher on `<group>.<topic>` at a PLAINTEXT broker. */
export function oursPublisher(
  _broker: string,
  _group: string,
  _topic: string,
): Promise<BenchPublisher> {
  return Promise.reject(new Error("our igwn-alert client is not built"));
}

/** Starts our listener; `onAlert` gets each alert text; resolves to a stop function. */
export function oursListen(
  _broker: string,
  _group: string,
  _topic: string,
  _onAlert: (text: string) => void,
): Promise<() => Promise<void>> {
  return Promise.reject(new Error("our igwn-alert client is not built"));
}
