/**
 * The host end of one device's socket bridge: real TCP (and TLS) sockets on the host thread, driven by
 * the blocking calls the device worker makes through a SharedArrayBuffer (see worker/vnet.ts).
 */
import { isIP, Socket } from "node:net";
import { checkServerIdentity, type TLSSocket, connect as tlsConnect } from "node:tls";
import { LINUX } from "./errno.ts";
import { EAI_FAIL, NET, NET_OP, NET_STATE, TLS_RESULT } from "./worker/protocol.ts";

export interface NetStats {
  bytesIn: number;
  bytesOut: number;
  connections: number;
}

export interface NetOptions {
  /** Extra names the device can resolve (besides localhost and IP literals). */
  hosts: Record<string, string>;
  /** CA (PEM) trusted when the device verifies without loading one of its own. */
  tlsCa?: string;
}

interface Conn {
  raw: Socket;
  stream: Socket | TLSSocket;
  chunks: Buffer[];
  available: number;
  ended: boolean;
  error: number;
  wake?: () => void;
}

const NODE_ERRNO: Record<string, number> = {
  ECONNREFUSED: LINUX.ECONNREFUSED,
  ECONNRESET: LINUX.ECONNRESET,
  EPIPE: LINUX.EPIPE,
  ETIMEDOUT: LINUX.ETIMEDOUT,
  EHOSTUNREACH: LINUX.EHOSTUNREACH,
  ENETUNREACH: LINUX.EHOSTUNREACH,
  ECONNABORTED: LINUX.ECONNABORTED,
};

/** Stop reading from the network while this much is waiting for the device. */
const HIGH_WATER = 1024 * 1024;

export class DeviceNet {
  readonly buffer = new SharedArrayBuffer(NET.HEADER_BYTES + NET.DATA_BYTES);
  readonly stats: NetStats = { bytesIn: 0, bytesOut: 0, connections: 0 };
  private readonly ctrl = new Int32Array(this.buffer, 0, NET.HEADER_BYTES / 4);
  private readonly data = new Uint8Array(this.buffer, NET.HEADER_BYTES, NET.DATA_BYTES);
  private readonly conns = new Map<number, Conn | null>();
  private nextSid = 3;
  private stopped = false;

  constructor(private readonly options: NetOptions) {
    void this.serve();
  }

  /** Drops every connection (a reset or power cut closes them, as on a board). */
  closeAll(): void {
    for (const [sid, conn] of this.conns) {
      if (conn) this.count(conn);
      conn?.raw.destroy();
      this.conns.delete(sid);
    }
  }

  stop(): void {
    this.stopped = true;
    this.closeAll();
    Atomics.store(this.ctrl, NET.STATE, NET_STATE.IDLE);
    Atomics.notify(this.ctrl, NET.STATE);
  }

  private async serve(): Promise<void> {
    while (!this.stopped) {
      const state = Atomics.load(this.ctrl, NET.STATE);
      if (state !== NET_STATE.REQUEST) {
        const waited = Atomics.waitAsync(this.ctrl, NET.STATE, state);
        if (waited.async) await waited.value;
        continue;
      }
      const result = await this.handle().catch(() => -LINUX.EIO);
      if (this.stopped) return;
      this.ctrl[NET.RES] = result;
      Atomics.store(this.ctrl, NET.STATE, NET_STATE.DONE);
      Atomics.notify(this.ctrl, NET.STATE);
    }
  }

  private payload(): Uint8Array {
    return this.data.subarray(0, this.ctrl[NET.LEN]!);
  }

  private async handle(): Promise<number> {
    const c = this.ctrl;
    const sid = c[NET.SID]!;
    switch (c[NET.OP]) {
      case NET_OP.RESOLVE:
        return this.resolve(Buffer.from(this.payload()).toString());
      case NET_OP.SOCKET: {
        const id = this.nextSid++;
        this.conns.set(id, null);
        return id;
      }
      case NET_OP.CONNECT:
        return this.connect(sid, Buffer.from(this.payload()).toString(), c[NET.A0]!, c[NET.A1]!);
      case NET_OP.SEND:
        return this.send(sid, this.payload());
      case NET_OP.RECV:
        return this.recv(sid, c[NET.A0]!, c[NET.A1]!);
      case NET_OP.CLOSE: {
        const conn = this.conns.get(sid);
        if (conn) {
          this.count(conn);
          conn.raw.destroy();
        }
        this.conns.delete(sid);
        return 0;
      }
      case NET_OP.TLS:
        return this.startTls(sid, c[NET.A0]!, c[NET.A1]!);
      default:
        return -LINUX.EINVAL;
    }
  }

  private resolve(name: string): number {
    const ip = name === "localhost" ? "127.0.0.1" : isIP(name) ? name : this.options.hosts[name];
    if (!ip) return EAI_FAIL;
    this.data.set(Buffer.from(ip));
    return ip.length;
  }

  private connect(sid: number, ip: string, port: number, timeoutMs: number): Promise<number> {
    if (!this.conns.has(sid)) return Promise.resolve(-LINUX.EBADF);
    return new Promise((resolve) => {
      const raw = new Socket();
      let timer: NodeJS.Timeout | undefined;
      const fail = (code: number) => {
        clearTimeout(timer);
        raw.destroy();
        resolve(-code);
      };
      if (timeoutMs >= 0) timer = setTimeout(() => fail(LINUX.ETIMEDOUT), Math.max(timeoutMs, 1));
      raw.once("error", (err: NodeJS.ErrnoException) =>
        fail(NODE_ERRNO[err.code ?? ""] ?? LINUX.ECONNREFUSED),
      );
      raw.connect({ host: ip, port }, () => {
        clearTimeout(timer);
        raw.removeAllListeners("error");
        raw.setNoDelay(true);
        const conn: Conn = { raw, stream: raw, chunks: [], available: 0, ended: false, error: 0 };
        this.listen(conn, raw);
        this.conns.set(sid, conn);
        this.stats.connections += 1;
        resolve(0);
      });
    });
  }

  private listen(conn: Conn, stream: Socket | TLSSocket): void {
    conn.stream = stream;
    const wake = () => conn.wake?.();
    stream.on("data", (chunk: Buffer) => {
      conn.chunks.push(chunk);
      conn.available += chunk.length;
      if (conn.available > HIGH_WATER) stream.pause();
      wake();
    });
    stream.on("end", () => {
      conn.ended = true;
      wake();
    });
    stream.on("error", (err: NodeJS.ErrnoException) => {
      conn.error = NODE_ERRNO[err.code ?? ""] ?? LINUX.ECONNRESET;
      wake();
    });
    stream.on("close", () => {
      conn.ended = true;
      wake();
    });
  }

  private send(sid: number, bytes: Uint8Array): number {
    const conn = this.conns.get(sid);
    if (!conn) return -LINUX.ENOTCONN;
    if (conn.error) return -conn.error;
    if (conn.raw.destroyed || conn.stream.writableEnded) return -LINUX.EPIPE;
    conn.stream.write(Buffer.from(bytes));
    return bytes.length;
  }

  private recv(sid: number, max: number, timeoutMs: number): Promise<number> | number {
    const conn = this.conns.get(sid);
    if (!conn) return -LINUX.ENOTCONN;
    const serve = (): number | undefined => {
      if (conn.available > 0) {
        let n = 0;
        while (n < max && conn.chunks.length > 0) {
          const chunk = conn.chunks[0]!;
          const k = Math.min(chunk.length, max - n);
          this.data.set(chunk.subarray(0, k), n);
          n += k;
          if (k === chunk.length) conn.chunks.shift();
          else conn.chunks[0] = chunk.subarray(k);
        }
        conn.available -= n;
        if (conn.available <= HIGH_WATER && conn.stream.isPaused()) conn.stream.resume();
        return n;
      }
      if (conn.error) return -conn.error;
      if (conn.ended) return 0;
      return undefined;
    };
    const now = serve();
    if (now !== undefined) return now;
    if (timeoutMs === 0) return -LINUX.EAGAIN;
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      conn.wake = () => {
        const r = serve();
        if (r === undefined) return;
        conn.wake = undefined;
        clearTimeout(timer);
        resolve(r);
      };
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          conn.wake = undefined;
          resolve(-LINUX.ETIMEDOUT);
        }, timeoutMs);
      }
    });
  }

  private startTls(sid: number, verifyMode: number, nameLength: number): Promise<number> | number {
    const conn = this.conns.get(sid);
    if (!conn) return -LINUX.ENOTCONN;
    const payload = Buffer.from(this.payload());
    const servername = payload.subarray(0, nameLength).toString();
    const caBytes = payload.subarray(nameLength);
    const ca = caBytes.length > 0 ? toPem(caBytes) : this.options.tlsCa;
    conn.raw.removeAllListeners("data");
    conn.raw.removeAllListeners("end");
    conn.raw.removeAllListeners("close");
    conn.raw.removeAllListeners("error");
    conn.chunks = [];
    conn.available = 0;
    return new Promise((resolve) => {
      const secure = tlsConnect({
        socket: conn.raw,
        servername: servername && !isIP(servername) ? servername : undefined, // SNI carries DNS names only
        ca: ca ? [ca] : undefined,
        rejectUnauthorized: verifyMode !== 0,
        // The certificate must match the name the device gave (DNS name or IP address), not the address
        // it connected to; with no server_hostname, like mbedTLS, only the chain is verified.
        checkServerIdentity: (_host, cert) =>
          servername ? checkServerIdentity(servername, cert) : undefined,
      });
      const onError = (err: NodeJS.ErrnoException) => {
        const verify = /certificate|self.signed|CERT|unable to verify|altnames/i.test(
          `${err.code} ${err.message}`,
        );
        conn.error = LINUX.ECONNRESET;
        resolve(verify ? TLS_RESULT.VERIFY_FAILED : TLS_RESULT.HANDSHAKE_FAILED);
      };
      secure.once("error", onError);
      secure.once("secureConnect", () => {
        secure.removeListener("error", onError);
        this.listen(conn, secure);
        resolve(0);
      });
    });
  }

  /** Adds a finished connection's wire bytes (TLS overhead included) to the totals, once. */
  private count(conn: Conn): void {
    this.stats.bytesIn += conn.raw.bytesRead;
    this.stats.bytesOut += conn.raw.bytesWritten;
  }

  /** Wire bytes so far, including connections still open. */
  totals(): NetStats {
    let bytesIn = this.stats.bytesIn;
    let bytesOut = this.stats.bytesOut;
    for (const conn of this.conns.values()) {
      if (!conn) continue;
      bytesIn += conn.raw.bytesRead;
      bytesOut += conn.raw.bytesWritten;
    }
    return { bytesIn, bytesOut, connections: this.stats.connections };
  }
}

function toPem(bytes: Buffer): string {
  const text = bytes.toString("latin1");
  if (text.includes("-----BEGIN")) return text;
  const b64 = bytes.toString("base64").replace(/(.{64})/g, "$1\n");
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}
