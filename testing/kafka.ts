/**
 * A real Apache Kafka 4.x broker for tests: single node, KRaft, run from the Maven Central jars that
 * `.ci/install` resolves into `.cache/kafka/lib`, with the machine's Java 17.
 *
 * Every broker gets a fresh storage directory, a CA and server certificate made for this run,
 * random free loopback ports and three client listeners:
 * - PLAINTEXT (no auth),
 * - SASL_PLAINTEXT with SCRAM-SHA-512,
 * - SASL_SSL with SCRAM-SHA-512 (server certificate for `localhost` and `127.0.0.1`, signed by the CA).
 *
 * SCRAM users are created when the storage is formatted, so they exist before the broker serves.
 * The broker log is copied to `.cache/test-logs/` when the broker stops, so a failed test leaves it.
 *
 * @module
 */
import { freePort, tcpOpen, until } from "./net.ts";
import { REPO_ROOT } from "./python.ts";

/** A SCRAM-SHA-512 user. */
export interface KafkaUser {
  username: string;
  password: string;
}

/** Options for {@linkcode startKafka}. */
export interface KafkaOptions {
  /** SCRAM users to create. @default [{username: "alice", password: "alice-secret"}] */
  users?: KafkaUser[];
  /** Allow topic auto-creation on metadata requests. @default true */
  autoCreateTopics?: boolean;
  /** How long to wait for readiness. @default 60000 */
  readyTimeoutMs?: number;
  /**
   * Add a SASL_PLAINTEXT listener with OAUTHBEARER (Kafka's unsecured JWT validation: any
   * unsigned token with `sub`, `iat` and `exp` is accepted). @default false
   */
  oauth?: boolean;
}

const LIB = `${REPO_ROOT}/.cache/kafka/lib`;
const LOGS = `${REPO_ROOT}/.cache/test-logs`;

async function run(cmd: string, args: string[], cwd?: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}):\n${text}`);
  return text;
}

async function makeCertificates(dir: string): Promise<void> {
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=kafka-test-ca",
  ], dir);
  await run("openssl", [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=localhost",
  ], dir);
  await Deno.writeTextFile(`${dir}/ext.cnf`, "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  ], dir);
  await run(
    "openssl",
    ["pkcs8", "-topk8", "-nocrypt", "-in", "server.key", "-out", "server.pk8"],
    dir,
  );
  const key = await Deno.readTextFile(`${dir}/server.pk8`);
  const cert = await Deno.readTextFile(`${dir}/server.pem`);
  await Deno.writeTextFile(`${dir}/keystore.pem`, key + cert);
}

/** What the broker logs once all its listeners are bound. */
const STARTED = "Transition from STARTING to STARTED (kafka.server.BrokerServer)";

/** One of the broker's ports was taken by another process before the broker bound it. */
class PortTakenError extends Error {}

/** A running single-node Kafka broker. Stop it with `close()` or `await using`. */
export class KafkaBroker implements AsyncDisposable {
  /** `host:port` of the PLAINTEXT listener. */
  readonly plaintext: string;
  /** `host:port` of the SASL_PLAINTEXT (SCRAM-SHA-512) listener. */
  readonly saslPlaintext: string;
  /** `host:port` of the SASL_SSL (SCRAM-SHA-512) listener. */
  readonly saslSsl: string;
  /** `host:port` of the OAUTHBEARER (SASL_PLAINTEXT) listener, with `oauth: true`. */
  readonly oauth?: string;
  /** PEM text of the CA that signed the server certificate. */
  readonly caPem: string;
  /** Path of the CA certificate file. */
  readonly caFile: string;
  /** The SCRAM users created at format time. */
  readonly users: KafkaUser[];
  /** Working directory (storage, certificates, log). */
  readonly dir: string;
  #child?: Deno.ChildProcess;
  #logFile?: Deno.FsFile;
  readonly #ports: { plain: number; ctrl: number; sasl: number; ssl: number; oauth?: number };
  readonly #readyTimeoutMs: number;

  private constructor(
    dir: string,
    ports: { plain: number; ctrl: number; sasl: number; ssl: number; oauth?: number },
    users: KafkaUser[],
    caPem: string,
    readyTimeoutMs: number,
  ) {
    this.dir = dir;
    this.#ports = ports;
    this.users = users;
    this.plaintext = `127.0.0.1:${ports.plain}`;
    this.saslPlaintext = `127.0.0.1:${ports.sasl}`;
    this.saslSsl = `localhost:${ports.ssl}`;
    if (ports.oauth) this.oauth = `127.0.0.1:${ports.oauth}`;
    this.caPem = caPem;
    this.caFile = `${dir}/ca.pem`;
    this.#readyTimeoutMs = readyTimeoutMs;
  }

  /**
   * Formats storage and starts a broker; resolves once every listener accepts connections. Ports
   * are picked free, so another process can take one before the broker binds it (several test
   * runs share this machine): the broker then exits at start-up and is started again on new ports.
   */
  static async start(opts: KafkaOptions = {}): Promise<KafkaBroker> {
    for (let attempt = 1;; attempt++) {
      try {
        return await KafkaBroker.#startOnce(opts);
      } catch (e) {
        if (!(e instanceof PortTakenError) || attempt === 3) throw e;
      }
    }
  }

  static async #startOnce(opts: KafkaOptions): Promise<KafkaBroker> {
    try {
      Deno.statSync(`${LIB}`);
    } catch {
      throw new Error(
        `Kafka jars are not installed (${LIB} missing): run \`bash .ci/install peers\` (or \`./dev test\`, which does)`,
      );
    }
    await Deno.mkdir(`${REPO_ROOT}/.cache/tmp`, { recursive: true });
    const dir = await Deno.makeTempDir({ dir: `${REPO_ROOT}/.cache/tmp`, prefix: "kafka-" });
    const users = opts.users ?? [{ username: "alice", password: "alice-secret" }];
    await makeCertificates(dir);
    // four different ports: the kernel can hand the same free port out twice in a row
    const picked = new Set<number>();
    while (picked.size < (opts.oauth ? 5 : 4)) picked.add(freePort());
    const [plain, ctrl, sasl, ssl, oauth] = [...picked];
    const ports = { plain, ctrl, sasl, ssl, oauth };
    const oauthListener = opts.oauth ? `,OAUTH://127.0.0.1:${oauth}` : "";
    const props = [
      "process.roles=broker,controller",
      "node.id=1",
      `controller.quorum.voters=1@127.0.0.1:${ports.ctrl}`,
      `listeners=PLAINTEXT://127.0.0.1:${ports.plain},CONTROLLER://127.0.0.1:${ports.ctrl},` +
      `SASL_PLAINTEXT://127.0.0.1:${ports.sasl},SASL_SSL://127.0.0.1:${ports.ssl}${oauthListener}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${ports.plain},` +
      `SASL_PLAINTEXT://127.0.0.1:${ports.sasl},SASL_SSL://localhost:${ports.ssl}${oauthListener}`,
      "controller.listener.names=CONTROLLER",
      "inter.broker.listener.name=PLAINTEXT",
      "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT," +
      "SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL" +
      (opts.oauth ? ",OAUTH:SASL_PLAINTEXT" : ""),
      ...(opts.oauth
        ? [
          "listener.name.oauth.sasl.enabled.mechanisms=OAUTHBEARER",
          "listener.name.oauth.oauthbearer.sasl.jaas.config=" +
          "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;",
        ]
        : []),
      "sasl.enabled.mechanisms=SCRAM-SHA-512",
      "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=" +
      "org.apache.kafka.common.security.scram.ScramLoginModule required;",
      "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=" +
      "org.apache.kafka.common.security.scram.ScramLoginModule required;",
      "ssl.keystore.type=PEM",
      `ssl.keystore.location=${dir}/keystore.pem`,
      `log.dirs=${dir}/data`,
      "num.partitions=1",
      "offsets.topic.replication.factor=1",
      "offsets.topic.num.partitions=1",
      "transaction.state.log.replication.factor=1",
      "transaction.state.log.min.isr=1",
      "transaction.state.log.num.partitions=1",
      "share.coordinator.state.topic.replication.factor=1",
      "share.coordinator.state.topic.min.isr=1",
      "group.initial.rebalance.delay.ms=0",
      `auto.create.topics.enable=${opts.autoCreateTopics ?? true}`,
      "",
    ].join("\n");
    await Deno.writeTextFile(`${dir}/server.properties`, props);
    await Deno.writeTextFile(
      `${dir}/log4j2.properties`,
      [
        "rootLogger.level=INFO",
        "rootLogger.appenderRef.f.ref=F",
        "appender.f.type=File",
        "appender.f.name=F",
        `appender.f.fileName=${dir}/broker.log`,
        "appender.f.layout.type=PatternLayout",
        "appender.f.layout.pattern=[%d] %p %m (%c)%n",
        "logger.kafka.name=org.apache.kafka",
        "logger.kafka.level=INFO",
        "",
      ].join("\n"),
    );
    const scram = users.map((u) => `SCRAM-SHA-512=[name=${u.username},password=${u.password}]`);
    await run("java", [
      ...jvmFlags(dir),
      "kafka.tools.StorageTool",
      "format",
      "-t",
      "harness-cluster-0000000A",
      "-c",
      `${dir}/server.properties`,
      ...scram.flatMap((s) => ["--add-scram", s]),
    ]);
    const broker = new KafkaBroker(
      dir,
      ports,
      users,
      await Deno.readTextFile(`${dir}/ca.pem`),
      opts.readyTimeoutMs ?? 60_000,
    );
    try {
      await broker.restart();
    } catch (e) {
      const taken = /Address already in use/.test(await broker.logTail(1000));
      await broker.close();
      throw taken ? new PortTakenError((e as Error).message) : e;
    }
    return broker;
  }

  /** True while the broker process runs. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Process id of the broker's JVM while it runs (benches read its CPU time in `/proc`). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts the broker again (same ports, same data) after {@linkcode stop}; no-op if running. */
  async restart(): Promise<void> {
    if (this.#child) return;
    this.#logFile = await Deno.open(`${this.dir}/stdout.log`, { create: true, append: true });
    this.#child = new Deno.Command("java", {
      args: [...jvmFlags(this.dir), "kafka.Kafka", `${this.dir}/server.properties`],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const child = this.#child;
    const file = this.#logFile;
    child.stdout.pipeTo(file.writable, { preventClose: true }).catch(() => {});
    child.stderr.pipeTo(file.writable, { preventClose: true }).catch(() => {});
    let exited = false;
    child.status.then(() => (exited = true));
    // a port that answers may be another process's: the broker must also have logged its start
    const starts = async () =>
      (await Deno.readTextFile(`${this.dir}/broker.log`).catch(() => "")).split(STARTED).length;
    const before = await starts();
    await until(async () => {
      if (exited) throw new Error("broker exited");
      return (await tcpOpen("127.0.0.1", this.#ports.plain)) &&
        (await tcpOpen("127.0.0.1", this.#ports.sasl)) &&
        (await tcpOpen("127.0.0.1", this.#ports.ssl)) &&
        (this.#ports.oauth === undefined || (await tcpOpen("127.0.0.1", this.#ports.oauth))) &&
        (await starts()) > before;
    }, { timeoutMs: this.#readyTimeoutMs, intervalMs: 100, what: "Kafka listeners" }).catch(
      async (e) => {
        if (exited) {
          throw new Error(`Kafka broker exited during start-up:\n${await this.logTail()}`);
        }
        throw e;
      },
    );
  }

  /** Stops the broker (SIGTERM, SIGKILL after `graceMs`); data stays for {@linkcode restart}. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    try {
      child.kill("SIGCONT");
      child.kill("SIGTERM");
    } catch { /* gone */ }
    const t = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, graceMs);
    await child.status;
    clearTimeout(t);
    try {
      this.#logFile?.close();
    } catch { /* closed */ }
  }

  /** Freezes the broker (SIGSTOP): its ports still accept connections, nothing answers. */
  pause(): void {
    this.#child?.kill("SIGSTOP");
  }

  /** Lets a paused broker run again (SIGCONT). */
  resume(): void {
    this.#child?.kill("SIGCONT");
  }

  /** Kills the broker at once (SIGKILL), as a crash would. */
  async kill(): Promise<void> {
    await this.stop(0);
  }

  /** The last `lines` lines of the broker log. */
  async logTail(lines = 60): Promise<string> {
    const text = await Deno.readTextFile(`${this.dir}/broker.log`).catch(() => "") +
      await Deno.readTextFile(`${this.dir}/stdout.log`).catch(() => "");
    return text.split("\n").slice(-lines).join("\n");
  }

  /** Stops the broker, keeps its log under `.cache/test-logs/`, removes its storage. */
  async close(): Promise<void> {
    await this.stop();
    await Deno.mkdir(LOGS, { recursive: true });
    const name = this.dir.split("/").pop();
    await Deno.copyFile(`${this.dir}/broker.log`, `${LOGS}/${name}.log`).catch(() => {});
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  /** Same as {@linkcode close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function jvmFlags(dir: string): string[] {
  return [
    "-Xms256m",
    "-Xmx768m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Xshare:auto",
    "-Djava.awt.headless=true",
    `-Dlog4j2.configurationFile=${dir}/log4j2.properties`,
    "-cp",
    `${LIB}/*`,
  ];
}

/** Starts a broker: `await using kafka = await startKafka();`. */
export function startKafka(opts: KafkaOptions = {}): Promise<KafkaBroker> {
  return KafkaBroker.start(opts);
}
