/**
 * The device end of the socket bridge: `_vnet`, the JS module behind the `socket`/`tls` shims.
 * Each call blocks this worker in Atomics.wait until the host thread (src/sim/net-host.ts), which owns
 * the real sockets, answers. Received bytes are cached here so a 1 KB readinto loop costs one round trip
 * per 64 KB, and loops that fill buffers run here rather than in Python.
 */
import { LINUX } from "../errno.ts";
import type { Clock } from "./clock.ts";
import { EAI_FAIL, NET, NET_OP, NET_STATE } from "./protocol.ts";

const MAX_LINE = 64 * 1024;

export interface NetEnv {
  clock: Clock;
  memory: () => Uint8Array;
  enabled: () => boolean;
  /** Told the host or address the board tried to reach while the network was down. */
  refused: (target: string) => void;
  /** Told the bytes each send or receive moved. */
  count: (n: number) => void;
}

export function createVnet(sab: SharedArrayBuffer, env: NetEnv) {
  const ctrl = new Int32Array(sab, 0, NET.HEADER_BYTES / 4);
  const data = new Uint8Array(sab, NET.HEADER_BYTES, NET.DATA_BYTES);
  const rx = new Map<number, Uint8Array>();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();

  const call = (op: number, sid: number, a0: number, a1: number, payload?: Uint8Array): number => {
    env.clock.checkWatchdog();
    ctrl[NET.OP] = op;
    ctrl[NET.SID] = sid;
    ctrl[NET.A0] = a0;
    ctrl[NET.A1] = a1;
    ctrl[NET.LEN] = payload ? payload.length : 0;
    if (payload) data.set(payload);
    ctrl[NET.SEQ] = (ctrl[NET.SEQ]! + 1) | 0;
    Atomics.store(ctrl, NET.STATE, NET_STATE.REQUEST);
    Atomics.notify(ctrl, NET.STATE);
    while (Atomics.load(ctrl, NET.STATE) === NET_STATE.REQUEST) {
      Atomics.wait(ctrl, NET.STATE, NET_STATE.REQUEST, 1000);
      env.clock.checkWatchdog();
    }
    const result = ctrl[NET.RES]!;
    Atomics.store(ctrl, NET.STATE, NET_STATE.IDLE);
    return result;
  };

  /** Makes sure the cache for `sid` has bytes; returns >0 available, 0 at EOF, or -errno. */
  const fill = (sid: number, timeoutMs: number): number => {
    const cached = rx.get(sid);
    if (cached && cached.length > 0) return cached.length;
    const r = call(NET_OP.RECV, sid, NET.DATA_BYTES, timeoutMs);
    if (r > 0) rx.set(sid, data.slice(0, r));
    return r;
  };

  const take = (sid: number, addr: number, n: number): number => {
    const cached = rx.get(sid)!;
    const k = Math.min(n, cached.length);
    env.memory().set(cached.subarray(0, k), addr >>> 0);
    rx.set(sid, cached.subarray(k));
    env.count(k);
    return k;
  };

  return {
    resolve(host: string): string | number {
      if (!env.enabled()) {
        env.refused(host);
        return EAI_FAIL;
      }
      const r = call(NET_OP.RESOLVE, 0, 0, 0, encoder.encode(host));
      return r < 0 ? r : decoder.decode(data.subarray(0, r));
    },
    socket(): number {
      return call(NET_OP.SOCKET, 0, 0, 0);
    },
    connect(sid: number, ip: string, port: number, timeoutMs: number): number {
      if (!env.enabled()) {
        env.refused(`${ip}:${port}`);
        return -LINUX.EHOSTUNREACH;
      }
      return call(NET_OP.CONNECT, sid, port, timeoutMs, encoder.encode(ip));
    },
    /** Sends from wasm memory; `all` = keep going until every byte is out (sendall/write). */
    send(sid: number, addr: number, n: number, timeoutMs: number, all: number): number {
      let sent = 0;
      do {
        const k = Math.min(n - sent, NET.DATA_BYTES);
        const chunk = env.memory().subarray((addr >>> 0) + sent, (addr >>> 0) + sent + k);
        const r = call(NET_OP.SEND, sid, timeoutMs, 0, chunk);
        if (r < 0) return sent > 0 && !all ? sent : r;
        sent += r;
        env.count(r);
      } while (all && sent < n);
      return sent;
    },
    /** recv_into (`fill` 0: what is there) or readinto (`fill` 1: until full, EOF, or an error after some bytes). */
    recv(sid: number, addr: number, n: number, timeoutMs: number, fillAll: number): number {
      let got = 0;
      while (got < n) {
        const r = fill(sid, timeoutMs);
        if (r < 0) return got > 0 ? got : r;
        if (r === 0) break;
        got += take(sid, addr + got, n - got);
        if (!fillAll) break;
      }
      return got;
    },
    /** Length of the next line (with its "\n"), reading ahead as needed; 0 at EOF. */
    line_length(sid: number, timeoutMs: number): number {
      for (;;) {
        const cached = rx.get(sid) ?? new Uint8Array(0);
        const nl = cached.indexOf(10);
        if (nl >= 0) return nl + 1;
        if (cached.length >= MAX_LINE) return cached.length;
        const r = call(NET_OP.RECV, sid, NET.DATA_BYTES, timeoutMs);
        if (r < 0) return cached.length > 0 ? cached.length : r;
        if (r === 0) return cached.length;
        const merged = new Uint8Array(cached.length + r);
        merged.set(cached);
        merged.set(data.subarray(0, r), cached.length);
        rx.set(sid, merged);
      }
    },
    close(sid: number): number {
      rx.delete(sid);
      return call(NET_OP.CLOSE, sid, 0, 0);
    },
    tls(sid: number, serverName: string, caAddr: number, caLen: number, verifyMode: number): number {
      const name = encoder.encode(serverName);
      const payload = new Uint8Array(name.length + caLen);
      payload.set(name);
      if (caLen > 0) payload.set(env.memory().subarray(caAddr >>> 0, (caAddr >>> 0) + caLen), name.length);
      return call(NET_OP.TLS, sid, verifyMode, name.length, payload);
    },
  };
}
