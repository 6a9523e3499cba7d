// docs/PARITY.md is the contract of issue "Seed API parity": every name the PostTroll and
// igwn-alert documentation names has a row, and every row names the tests that exercise it.
// This keeps the table honest as code moves: a row without a test, a test file that no longer
// exists, or a documented name left out of the table fails here.
import { assert, assertEquals } from "@std/assert";
import { REPO_ROOT } from "../../testing/python.ts";

const text = await Deno.readTextFile(`${REPO_ROOT}/docs/PARITY.md`);

/** Table rows (header and separator lines dropped) as cell arrays. */
function rows(): string[][] {
  const out: string[][] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("|") || /^\|\s*-+/.test(line)) continue;
    const cells = line.replaceAll("\\|", "\u0000").split("|").slice(1, -1)
      .map((c) => c.replaceAll("\u0000", "|").trim());
    if (cells[0] === "Python" || cells[0] === "pyzmq / libzmq" || cells[0].startsWith("pyzmq")) {
      continue;
    }
    out.push(cells);
  }
  return out;
}

// The names issue 5 lists from the posttroll 1.16 and igwn-alert 0.7 documentation.
const DOCUMENTED = [
  // posttroll.message
  "Message(",
  "decode",
  "encode",
  "head",
  "host",
  "user",
  "MessageError",
  "datetime_encoder",
  "datetime_decoder",
  "is_valid_data",
  "is_valid_sender",
  "is_valid_subject",
  "is_valid_type",
  "strp_isoformat",
  // publisher
  "Publisher(",
  "heartbeat",
  "port_number",
  "NoisyPublisher",
  "Publish",
  "create_publisher_from_dict_config",
  "get_own_ip",
  // subscriber
  "Subscriber(",
  "add_hook_sub",
  "add_hook_pull",
  "subscribers",
  "running",
  "recv",
  "NSSubscriber",
  "Subscribe",
  "create_subscriber_from_dict_config",
  "ListenerContainer",
  "output_queue",
  // nameserver, address receiver, broadcasting
  "AddressReceiver",
  "is_running",
  "NameServer",
  "get_active_address",
  "get_configured_nameserver_port",
  "get_pub_address",
  "get_pub_addresses",
  "AddressBroadcaster",
  "MessageBroadcaster",
  "MulticastSender",
  "MulticastReceiver",
  "settimeout",
  "mcast_sender",
  "mcast_receiver",
  // configuration
  "tcp_keepalive",
  "tcp_keepalive_cnt",
  "tcp_keepalive_idle",
  "tcp_keepalive_intvl",
  "multicast_interface",
  "mc_group",
  "backend",
  "server_secret_key_file",
  "clients_public_keys_directory",
  "client_secret_key_file",
  "server_public_key_file",
  "config.set",
  // nameserver command
  "--daemon",
  "--log",
  "--verbose",
  "--no-multicast",
  // igwn-alert
  "get_subscriptions",
  "get_topics",
  "listen(",
  "publish_to_topic",
  "subscribe(",
  "unsubscribe(",
  "delete",
  "connect",
  "disconnect",
  "batch_size",
  "batch_timeout",
  "authfile",
  "noauth",
  "alertfile",
  "{listen,subscriptions,topics,unsubscribe,send}",
];

Deno.test("parity table: every documented name has a row", () => {
  const missing = DOCUMENTED.filter((name) => !text.includes(name));
  assertEquals(missing, [], `names missing from docs/PARITY.md: ${missing.join(", ")}`);
});

/** Every test file under tests/, relative to the repository root. */
async function testFiles(dir = `${REPO_ROOT}/tests`, rel = "tests"): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) out.push(...await testFiles(`${dir}/${e.name}`, `${rel}/${e.name}`));
    else if (e.name.endsWith("_test.ts")) out.push(`${rel}/${e.name}`);
  }
  return out;
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", "[^/]*");
  return new RegExp(`^${body}$`);
}

/**
 * Resolves the test references of a cell: `tests/x/y_test.ts`, a glob like
 * `tests/zmq/*_interop_test.ts`, or a bare `y_test` naming the one file of that name.
 */
function references(cell: string, all: string[]): { refs: string[]; unresolved: string[] } {
  const refs: string[] = [];
  const unresolved: string[] = [];
  for (const m of cell.matchAll(/(?:tests\/)?[\w.*/-]*_test(?:\.ts)?\b/g)) {
    let ref = m[0];
    if (!ref.endsWith(".ts")) ref += ".ts";
    if (ref.startsWith("tests/")) {
      const re = globToRegExp(ref);
      const hits = all.filter((f) => re.test(f));
      if (hits.length) refs.push(...hits);
      else unresolved.push(ref);
    } else {
      const hits = all.filter((f) => f.endsWith(`/${ref}`));
      if (hits.length === 1) refs.push(hits[0]);
      else unresolved.push(hits.length ? `${ref} (ambiguous: ${hits.join(", ")})` : ref);
    }
  }
  return { refs, unresolved };
}

Deno.test("parity table: every row names tests, and every named test file exists", async () => {
  const all = await testFiles();
  const problems: string[] = [];
  let checked = 0;
  for (const cells of rows()) {
    const { refs, unresolved } = references(cells.at(-1) ?? "", all);
    for (const u of unresolved) problems.push(`row "${cells[0]}" names ${u}, which does not exist`);
    if (refs.length === 0 && unresolved.length === 0) {
      problems.push(`row "${cells[0]}" names no test file`);
    }
    checked += refs.length;
  }
  assert(checked > 50, `only ${checked} test references found: table format changed?`);
  assertEquals(problems, []);
});
