/**
 * Public types of the ZeroMQ engine: frames, options, peer info and socket events.
 *
 * @module
 */

/**
 * One frame to send: bytes, or text sent as UTF-8. Byte frames of 16 KiB or more are written from
 * the caller's array without a copy: do not modify such an array after passing it to `send()`.
 */
export type Frame = Uint8Array | string;

/** A received message: its frames. */
export type Multipart = Uint8Array[];

/** CURVE options of a server (bound, usually) socket. */
export interface CurveServerOptions {
  /** Marks the server role. */
  server: true;
  /** Server long-term secret key, raw 32 bytes or 40 Z85 characters. */
  secretKey: Uint8Array | string;
  /** Server long-term public key (derived from the secret key when omitted). */
  publicKey?: Uint8Array | string;
}

/** CURVE options of a client socket. */
export interface CurveClientOptions {
  /** The server's long-term public key. */
  serverKey: Uint8Array | string;
  /** Our long-term public key. */
  publicKey: Uint8Array | string;
  /** Our long-term secret key. */
  secretKey: Uint8Array | string;
}

/** Who is at the other end of a connection. */
export interface PeerInfo {
  /** "127.0.0.1", "::1", ... or "" for ipc. */
  address: string;
  /** Security mechanism of the connection. */
  mechanism: "NULL" | "CURVE";
  /** The client's long-term public key (Z85), for CURVE. */
  publicKey?: string;
}

/** TCP keepalive setting (Deno exposes on/off only; the OS defaults apply to the timings). */
export type KeepaliveOption = boolean | {
  /** Not settable through Deno; accepted for API compatibility. */
  idleSeconds?: number;
  /** Not settable through Deno; accepted for API compatibility. */
  intervalSeconds?: number;
  /** Not settable through Deno; accepted for API compatibility. */
  count?: number;
};

/** Options common to every socket type. */
export interface SocketOptions {
  /** ms to flush queued output on close(). @default 0 */
  linger?: number;
  /** Messages queued per peer; PUB drops beyond it, PUSH/REQ wait; 0 = no limit. @default 1000 */
  sendHighWaterMark?: number;
  /** Messages queued for receive() before reading from peers pauses. @default 1000 */
  receiveHighWaterMark?: number;
  /** ms between reconnection attempts. @default 100 */
  reconnectInterval?: number;
  /** Upper bound of the doubling reconnect interval; 0 = no growth (libzmq). @default 0 */
  reconnectIntervalMax?: number;
  /** ms between ZMTP PINGs; 0 = off. @default 0 */
  heartbeatInterval?: number;
  /** ms without any traffic after a PING before the connection is dropped. @default heartbeatInterval */
  heartbeatTimeout?: number;
  /** TCP keepalive. @default false */
  tcpKeepalive?: KeepaliveOption;
  /** CURVE security; NULL when omitted. */
  curve?: CurveServerOptions | CurveClientOptions;
  /** ZAP-like hook on server sockets: false refuses the peer (it gets an ERROR command). */
  authorize?: (peer: PeerInfo) => boolean | Promise<boolean>;
  /** ms a handshake may take before the connection is dropped. @default 10000 */
  handshakeTimeout?: number;
  /**
   * Largest message accepted from a peer, all its frames together (libzmq's `ZMQ_MAXMSGSIZE`, which
   * is unlimited there): a peer that sends or announces more is disconnected. Commands are bounded
   * by it too. @default 268435456 (256 MiB); 65536 on PUB sockets, which only receive subscriptions
   */
  maxMessageSize?: number;
  /**
   * Bytes one connection may hold in each direction. Output queued and not yet written: beyond it
   * the peer counts as full, as at the send high-water mark (PUB and REP drop, REQ and PUSH wait).
   * Input received and not yet taken by `receive()`: beyond it reading from the socket's peers
   * pauses. A single message larger than the limit still passes when nothing else is queued.
   * @default 67108864 (64 MiB)
   */
  maxBufferedBytes?: number;
  /**
   * Connections one bound endpoint keeps at a time. At the limit the connection silent longest
   * (for a second at least) makes room for a new one: on REP sockets (whose clients connect, ask
   * and go) any connection, elsewhere one still in its handshake; otherwise the new connection is
   * closed at once (clients reconnect). @default 4096
   */
  maxConnections?: number;
  /** PUB: distinct subscriptions one subscriber may hold; more are ignored. @default 10000 */
  maxSubscriptions?: number;
  /** PUB: bytes of all subscriptions of one subscriber together; more are ignored. @default 1048576 */
  maxSubscriptionBytes?: number;
}

/** Which limit of {@linkcode SocketOptions} a peer ran into. */
export type LimitName =
  | "maxMessageSize"
  | "maxConnections"
  | "maxSubscriptions"
  | "maxSubscriptionBytes";

/** Something that happened on a socket, from `ZmqSocket.events()`. */
export type SocketEvent =
  | { type: "listening"; endpoint: string }
  | { type: "connected"; endpoint: string; peer: PeerInfo }
  | { type: "disconnected"; endpoint: string; peer?: PeerInfo }
  | { type: "handshake-failed"; endpoint: string; reason: string; authRefused: boolean }
  | {
    /** A peer ran into a limit: it was disconnected, refused, or its excess was ignored. */
    type: "limit";
    endpoint: string;
    limit: LimitName;
    /** What happened, e.g. "message of 2097152 bytes from 10.0.0.7 exceeds 1048576: disconnected". */
    detail: string;
  }
  | {
    /** Accepting a connection failed (e.g. EMFILE); the socket retries after `retryMs`. */
    type: "accept-failed";
    endpoint: string;
    reason: string;
    retryMs: number;
  }
  | { type: "closed" };

/** Options of a call that may wait. */
export interface SignalOptions {
  /** Aborts the wait; the call rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** Options of a receive that waits (SUB, PULL). */
export interface ReceiveOptions extends SignalOptions {
  /** Gives up after this many milliseconds: the call rejects with a `TimeoutError` DOMException. */
  timeoutMs?: number;
}
