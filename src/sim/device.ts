/**
 * A virtual MicroPython board: the real interpreter (WebAssembly) in a worker thread, its flash owned
 * here, its sockets real TCP on loopback. `run()` boots it like a board — /boot.py then /main.py — and
 * reboots it after machine.reset(), a watchdog or a power cut, from whatever the flash kept.
 */
import { readFileSync } from "node:fs";
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";
import { Flash, type FlashTree } from "./flash.ts";
import { glueFiles } from "./glue.ts";
import { DeviceNet } from "./net-host.ts";
import {
  BOARD,
  type BootEnd,
  type BootJob,
  type DurabilityModel,
  type FaultErrno,
  type FlashCounters,
  type LinkName,
  type ModemSpec,
  RESET_CAUSE,
  type WorkerMessage,
} from "./worker/protocol.ts";
import { firmwareModules, workerScript } from "./worker-bundle.ts";

export interface FlashOptions {
  model?: DurabilityModel;
  /** Cut the power just before this mutating operation (1-based, counted across reboots). */
  cutAt?: number;
  /** Flash capacity; writes past it fail with ENOSPC. Default 4 MiB. */
  sizeBytes?: number;
  /** Fail operation `at` with an I/O error instead of doing it. */
  faults?: Array<{ at: number; errno: FaultErrno }>;
}

export interface DeviceOptions {
  files?: FlashTree;
  flash?: FlashOptions;
  /** false: the device has no network at all. Default true. */
  net?: boolean;
  hosts?: Record<string, string>;
  tlsCa?: string;
  /** What network.WLAN().connect() achieves; default: the station is connected from power-on. */
  wifi?: { ssid: string; password?: string } | "fail";
  /** network.LAN: absent (no Ethernet port), "down" (no cable) or "up". */
  lan?: "up" | "down";
  /** A cellular modem on machine.UART(uart) answering AT commands; network.PPP runs over it once dialled. */
  modem?: ModemSpec;
  uniqueId?: string;
  /** time.sleep(s) really waits s * sleepScale seconds; the virtual clock always advances by s. */
  sleepScale?: number;
  /** First MicroPython heap chunk (the heap grows beyond it in this build). Default 256 KiB. */
  heapBytes?: number;
  /** The board's clock at the first power-on (ms since 1970); default now. Before 2024: never set. */
  clockMs?: number;
  /** What ntptime.settime() sets the clock to (ms since 1970); default: NTP does not answer. */
  ntpMs?: number;
}

export interface RunOptions {
  /** Python source run after boot.py instead of main.py (first boot only). */
  script?: string;
  /** false: skip boot.py and main.py and run only `script`. */
  boot?: boolean;
  maxReboots?: number;
  timeoutMs?: number;
  onOutput?: (line: string) => void;
}

export type ResetKind = "reset" | "soft" | "wdt" | "cut" | "deepsleep";

export interface RunResult {
  ok: boolean;
  end: "returned" | "reboots" | "timeout" | "error";
  reboots: number;
  resets: Array<{ cause: ResetKind; atOp?: number }>;
  output: string;
  error?: string;
  flashOps: number;
  flashBytesWritten: number;
  flashBytesRead: number;
  netBytesIn: number;
  netBytesOut: number;
  netConnections: number;
  heapAllocated: number;
  /** Socket bytes (in + out) each link carried: the route is the link that came up last. */
  linkBytes: Record<LinkName, number>;
  /** The AT commands the modem received, in order. */
  modemCommands: string[];
  /** machine.WDT().feed() calls, all boots together. */
  wdtFeeds: number;
  /** The first host (or address:port) the board tried to reach although the device has no network. */
  netOff?: string;
}

let compiledWasm: Promise<WebAssembly.Module> | undefined;
function wasmModule(): Promise<WebAssembly.Module> {
  if (!compiledWasm) compiledWasm = WebAssembly.compile(readFileSync(glueFiles().wasmPath));
  return compiledWasm;
}

const RESET_CAUSE_OF: Record<ResetKind, number> = {
  reset: RESET_CAUSE.HARD,
  soft: RESET_CAUSE.SOFT,
  wdt: RESET_CAUSE.WDT,
  cut: RESET_CAUSE.PWRON,
  deepsleep: RESET_CAUSE.DEEPSLEEP,
};

/** How late (real ms) a spinning device may be past its watchdog before the host pulls the plug. */
const WATCHDOG_GRACE_MS = 250;

interface Running {
  worker: Worker;
  port: MessagePort;
  net: DeviceNet;
  board: Float64Array;
  /** Ends the boot in progress (if any) at once, keeping what it journaled. */
  abortBoot?: (error: string) => void;
}

export class VirtualDevice {
  readonly flash: Flash;
  private readonly options: DeviceOptions;
  private running: Running | undefined;
  private opsSoFar = 0;
  private cutAt: number | undefined;
  private clockMs: number;
  private resetCause: number = RESET_CAUSE.PWRON;
  /** Counts close() calls: a worker that finishes starting after one is not used. */
  private closes = 0;

  constructor(options: DeviceOptions = {}) {
    this.options = options;
    this.flash = new Flash(options.files ?? {}, options.flash?.model ?? "torn");
    this.cutAt = options.flash?.cutAt;
    this.clockMs = options.clockMs ?? Date.now();
  }

  /** Durable flash content now (files; empty directories as "dir/"). */
  files(): Record<string, Uint8Array> {
    return this.flash.tree();
  }

  readText(path: string): string | undefined {
    const bytes = this.flash.read(path);
    return bytes && Buffer.from(bytes).toString("utf8");
  }

  async run(options: RunOptions = {}): Promise<RunResult> {
    const maxReboots = options.maxReboots ?? 10;
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    const lines: string[] = [];
    const result: RunResult = {
      ok: false,
      end: "returned",
      reboots: 0,
      resets: [],
      output: "",
      flashOps: 0,
      flashBytesWritten: 0,
      flashBytesRead: 0,
      netBytesIn: 0,
      netBytesOut: 0,
      netConnections: 0,
      heapAllocated: 0,
      linkBytes: { wlan: 0, lan: 0, ppp: 0 },
      modemCommands: [],
      wdtFeeds: 0,
    };
    let first = true;
    const net = { bytesIn: 0, bytesOut: 0, connections: 0 };
    for (;;) {
      const running = await this.ensureWorker();
      if (!running) {
        // closed while its worker was starting (a busy machine takes a while to start one)
        result.end = "error";
        result.error = "device closed";
        break;
      }
      const before = running.net.totals();
      const job = this.bootJob(first ? options.script : undefined, first ? options.boot !== false : true);
      first = false;
      const outcome = await this.boot(running, job, deadline, (line) => {
        lines.push(line);
        options.onOutput?.(line);
      });
      running.net.closeAll();
      const after = running.net.totals();
      net.bytesIn += after.bytesIn - before.bytesIn;
      net.bytesOut += after.bytesOut - before.bytesOut;
      net.connections += after.connections - before.connections;
      this.flash.endBoot();
      result.flashOps += outcome.ops;
      result.flashBytesWritten += outcome.bytesWritten;
      result.flashBytesRead += outcome.bytesRead;
      result.heapAllocated += outcome.heapAllocated;
      for (const link of ["wlan", "lan", "ppp"] as const) result.linkBytes[link] += outcome.linkBytes[link];
      result.modemCommands.push(...outcome.modemCommands);
      result.wdtFeeds += outcome.wdtFeeds ?? 0;
      result.netOff ??= outcome.netOff;
      this.opsSoFar += outcome.ops;
      this.clockMs = outcome.clockMs;
      const end = outcome.end;
      if (end.kind === "returned") {
        result.end = "returned";
        result.error = end.error;
        result.ok = !end.error;
        break;
      }
      if (end.kind === "fatal" || end.kind === "timeout") {
        result.end = end.kind === "timeout" ? "timeout" : "error";
        result.error = end.kind === "timeout" ? "time limit reached" : end.error;
        break;
      }
      if (end.kind === "cut") this.cutAt = undefined;
      result.resets.push(end.kind === "cut" ? { cause: "cut", atOp: end.op } : { cause: end.kind });
      this.resetCause = RESET_CAUSE_OF[end.kind];
      if (result.reboots >= maxReboots) {
        result.end = "reboots";
        result.ok = true;
        break;
      }
      result.reboots += 1;
    }
    result.output = lines.join("\n");
    result.netBytesIn = net.bytesIn;
    result.netBytesOut = net.bytesOut;
    result.netConnections = net.connections;
    return result;
  }

  async close(): Promise<void> {
    this.closes += 1;
    const running = this.running;
    this.running = undefined;
    if (!running) return;
    running.abortBoot?.("device closed");
    running.net.stop();
    running.port.close();
    await running.worker.terminate();
  }

  private bootJob(script: string | undefined, boot: boolean): BootJob {
    const o = this.options;
    const wifi = o.wifi ?? "connected";
    return {
      files: this.flash.tree(),
      firmware: firmwareModules(),
      script,
      boot,
      opsBefore: this.opsSoFar,
      cutAt: this.cutAt,
      faults: o.flash?.faults ?? [],
      flashSizeBytes: o.flash?.sizeBytes ?? 4 * 1024 * 1024,
      resetCause: this.resetCause,
      uniqueId: o.uniqueId ?? "a4cf12b3c4d5",
      net: o.net !== false,
      hosts: o.hosts ?? {},
      wifi:
        wifi === "fail" || wifi === "connected" ? wifi : { ssid: wifi.ssid, password: wifi.password ?? "" },
      clockMs: this.clockMs,
      sleepScale: o.sleepScale ?? 0,
      heapBytes: o.heapBytes ?? 256 * 1024,
      ...(o.lan && { lan: o.lan }),
      ...(o.modem && { modem: o.modem }),
      ntpMs: o.ntpMs ?? null,
    };
  }

  /** The worker, started if need be; undefined when close() came while it started. */
  private async ensureWorker(): Promise<Running | undefined> {
    if (this.running) return this.running;
    const closes = this.closes;
    const { factoryPath } = glueFiles();
    const channel = new MessageChannel();
    const net = new DeviceNet({ hosts: this.options.hosts ?? {}, tlsCa: this.options.tlsCa });
    const boardBuffer = new SharedArrayBuffer(BOARD.SLOTS * 8);
    const worker = new Worker(workerScript(), {
      workerData: {
        port: channel.port2,
        factoryPath,
        wasmModule: await wasmModule(),
        netBuffer: net.buffer,
        boardBuffer,
      },
      transferList: [channel.port2],
    });
    worker.unref();
    const port = channel.port1;
    await new Promise<void>((resolve, reject) => {
      port.once("message", () => resolve());
      worker.once("error", reject);
    });
    port.unref();
    if (closes !== this.closes) {
      net.stop();
      port.close();
      await worker.terminate();
      return undefined;
    }
    this.running = { worker, port, net, board: new Float64Array(boardBuffer) };
    return this.running;
  }

  /** One boot in the worker; kills the worker if it overruns its watchdog or the run's time limit. */
  private boot(
    running: Running,
    job: BootJob,
    deadline: number,
    print: (line: string) => void,
  ): Promise<Extract<WorkerMessage, { type: "done" }>> {
    const { port, worker, board } = running;
    return new Promise((resolve) => {
      let settled = false;
      let counted: FlashCounters = { ops: 0, bytesRead: 0, bytesWritten: 0 };
      const handle = (message: WorkerMessage): void => {
        if (message.type === "op") {
          counted = message.counters;
          this.flash.apply(message.op);
        } else if (message.type === "out") for (const line of message.text.split("\n")) print(line);
        else if (message.type === "done") finish(message);
      };
      const finish = (message: Extract<WorkerMessage, { type: "done" }>) => {
        if (settled) return;
        settled = true;
        running.abortBoot = undefined;
        clearInterval(monitor);
        port.off("message", handle);
        worker.off("error", onError);
        resolve(message);
      };
      const virtualNow = () =>
        board[BOARD.BOOT_CLOCK]! + (Date.now() - board[BOARD.BOOT_REAL_START]!) + board[BOARD.CLOCK_OFFSET]!;
      /** Pulls the plug on a worker that cannot answer: keep what it journaled, then start over. */
      const kill = (end: BootEnd) => {
        for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
          const message = m.message as WorkerMessage;
          if (message.type === "done") return finish(message);
          handle(message);
        }
        const clockMs = virtualNow() + board[BOARD.RTC_OFFSET]!;
        this.running = undefined;
        running.net.stop();
        port.close();
        void worker.terminate();
        finish({
          type: "done",
          end,
          ...counted,
          heapAllocated: 0,
          clockMs,
          linkBytes: { wlan: 0, lan: 0, ppp: 0 }, // what a killed worker counted is lost with it
          modemCommands: [],
        });
      };
      const onError = (err: Error) => kill({ kind: "fatal", error: String(err.stack ?? err) });
      const monitor = setInterval(() => {
        const wdt = board[BOARD.WDT_DEADLINE]!;
        if (wdt > 0 && virtualNow() > wdt + WATCHDOG_GRACE_MS) kill({ kind: "wdt" });
        else if (Date.now() > deadline) kill({ kind: "timeout" });
      }, 20);
      running.abortBoot = (error) => kill({ kind: "fatal", error });
      port.on("message", handle);
      worker.once("error", onError);
      port.postMessage({ type: "boot", job });
    });
  }
}
