/**
 * Shared helpers for the posttroll transport tests: a configuration with free ports, a random
 * multicast group and the loopback multicast interface, and the same settings as environment
 * variables for Python peers.
 *
 * @module
 */
import { PosttrollConfig } from "../lib/posttroll/config.ts";
import { freePort } from "./net.ts";

/** A test configuration and the matching POSTTROLL_* environment for Python peers. */
export interface TestSetup {
  config: PosttrollConfig;
  env: Record<string, string>;
  nameserverPort: number;
  addressPort: number;
  broadcastPort: number;
  group: string;
}

/** Random valid multicast group (first octet 225-238). */
export function randomGroup(): string {
  const r = () => Math.floor(Math.random() * 256);
  return `${225 + Math.floor(Math.random() * 14)}.${r()}.${r()}.${
    1 + Math.floor(Math.random() * 250)
  }`;
}

/** Fresh ports and group; multicast on 127.0.0.1 only. */
export function testSetup(extra: Record<string, string> = {}): TestSetup {
  const nameserverPort = freePort();
  const addressPort = freePort();
  // used over UDP (multicast) and TCP (direct registration); a free TCP port is almost always
  // a free UDP port too
  const broadcastPort = freePort();
  const group = randomGroup();
  const env: Record<string, string> = {
    POSTTROLL_NAMESERVER_PORT: String(nameserverPort),
    POSTTROLL_ADDRESS_PUBLISH_PORT: String(addressPort),
    POSTTROLL_BROADCAST_PORT: String(broadcastPort),
    POSTTROLL_SECURE_ZMQ_NAMESERVER_PORT: String(freePort()),
    POSTTROLL_MC_GROUP: group,
    POSTTROLL_MULTICAST_INTERFACE: "127.0.0.1",
    POSTTROLL_ROOT_CONFIG: "/nonexistent-posttroll-config",
    ...extra,
  };
  return {
    config: new PosttrollConfig({ env, paths: [] }),
    env,
    nameserverPort,
    addressPort,
    broadcastPort,
    group,
  };
}

export { until } from "./net.ts";
