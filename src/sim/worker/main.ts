/**
 * A device worker: runs boots of one virtual device, each in a fresh MicroPython interpreter, with the
 * flash restored from the durable state the host sends. Bundled to plain JS by ../worker-bundle.ts.
 */
import { pathToFileURL } from "node:url";
import { type MessagePort, workerData } from "node:worker_threads";
import { translateErrnoImports } from "../errno.ts";
import { BoardReset, Clock } from "./clock.ts";
import { installFlashHooks, PowerCut } from "./flash-hooks.ts";
import { createLinks } from "./links.ts";
import { BOARD, type BootEnd, type BootJob, type HostMessage, type WorkerMessage } from "./protocol.ts";
import { createVnet } from "./vnet.ts";

interface WorkerInit {
  port: MessagePort;
  factoryPath: string;
  wasmModule: WebAssembly.Module;
  netBuffer: SharedArrayBuffer;
  boardBuffer: SharedArrayBuffer;
}

// biome-ignore lint/suspicious/noExplicitAny: the MicroPython glue is untyped JavaScript
type MicroPython = any;
type Loader = (options: Record<string, unknown>) => Promise<MicroPython>;

const init = workerData as WorkerInit;
const port = init.port;
const board = new Float64Array(init.boardBuffer);
const post = (message: WorkerMessage) => port.postMessage(message);
const { createLoader } = (await import(pathToFileURL(init.factoryPath).href)) as {
  createLoader: (instantiate: unknown) => Promise<Loader>;
};

async function newInterpreter(job: BootJob): Promise<{ mp: MicroPython; memory: () => Uint8Array }> {
  let wasmMemory: WebAssembly.Memory | undefined;
  const instantiate = (
    info: { env: Record<string, unknown> },
    receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
  ) => {
    const env = translateErrnoImports(info.env);
    WebAssembly.instantiate(init.wasmModule, {
      env,
      wasi_snapshot_preview1: env,
    } as WebAssembly.Imports).then((instance) => {
      wasmMemory = instance.exports.memory as WebAssembly.Memory;
      receive(instance, init.wasmModule);
    });
    return {};
  };
  const loadMicroPython = await createLoader(instantiate);
  const print = (text: string) => post({ type: "out", text });
  const mp = await loadMicroPython({
    heapsize: job.heapBytes,
    stdout: print,
    stderr: print,
    linebuffer: true,
  });
  return { mp, memory: () => new Uint8Array(wasmMemory!.buffer) };
}

/** Loads the durable flash into the fresh interpreter's file system (not counted as device writes). */
function restoreFlash(FS: MicroPython, job: BootJob): void {
  for (const dir of ["/tmp", "/home/web_user", "/home"]) {
    try {
      FS.rmdir(dir);
    } catch {
      // not there in this build
    }
  }
  for (const [path, content] of Object.entries(job.files)) {
    if (path.endsWith("/")) {
      FS.mkdirTree(`/${path.slice(0, -1)}`);
      continue;
    }
    const slash = path.lastIndexOf("/");
    if (slash > 0) FS.mkdirTree(`/${path.slice(0, slash)}`);
    FS.writeFile(`/${path}`, content);
  }
  FS.mkdirTree("/.sim");
  for (const [name, source] of Object.entries(job.firmware)) FS.writeFile(`/.sim/${name}`, source);
}

/** Registers the board's JS modules; returns its links (whether the network is reachable, and how). */
function registerBoard(mp: MicroPython, job: BootJob, clock: Clock): ReturnType<typeof createLinks> {
  const links = createLinks(job);
  const wifi = { status: job.wifi === "connected" ? 1010 : 1000, ssid: "" };
  let wdtTimeout = 0;
  mp.registerJsModule("_vtime", {
    sleep: (s: number) => clock.sleepMs(s * 1000),
    sleep_ms: (ms: number) => clock.sleepMs(ms),
    sleep_us: (us: number) => clock.sleepMs(us / 1000),
    time: () => Math.floor(clock.rtcNow() / 1000),
    time_ms_text: () => String(Math.floor(clock.rtcNow())),
    ticks_ms: () => Math.floor(clock.now()) & 0x3fffffff,
    ticks_us: () => Math.floor(clock.now() * 1000) & 0x3fffffff,
  });
  mp.registerJsModule("_vboard", {
    reset: () => {
      throw new BoardReset("reset");
    },
    soft_reset: () => {
      throw new BoardReset("soft");
    },
    deepsleep: (ms: number) => {
      throw new BoardReset("deepsleep", ms);
    },
    reset_cause: () => job.resetCause,
    unique_id: () => job.uniqueId,
    sleep_ms: (ms: number) => clock.sleepMs(ms),
    wdt_start: (timeoutMs: number) => {
      wdtTimeout = timeoutMs;
      clock.startWatchdog(timeoutMs);
    },
    wdt_feed: () => {
      clock.wdtFeeds += 1;
      clock.feedWatchdog(wdtTimeout);
    },
    // Whole seconds across the bridge: it carries small integers (under 2^31) exactly.
    set_clock_s: (s: number) => clock.setRtc(s * 1000),
    /** ntptime: the time the test chose (s), when the network is up; -1 when NTP does not answer. */
    ntp_s: () => (job.ntpMs !== null && job.net && wifi.status === 1010 ? Math.floor(job.ntpMs / 1000) : -1),
    wlan_connect: (ssid: string, password: string) => {
      const ok =
        job.wifi === "connected" ||
        (job.wifi !== "fail" && job.wifi.ssid === ssid && job.wifi.password === password);
      wifi.status = ok ? 1010 : job.wifi === "fail" ? 201 : 202;
      wifi.ssid = ok ? ssid : "";
      links.setUp("wlan", ok);
    },
    wlan_disconnect: () => {
      wifi.status = 1000;
      links.setUp("wlan", false);
    },
    wlan_status: () => wifi.status,
    wlan_rssi: () => (wifi.status === 1010 ? -58 : 0),
    wlan_ssid: () => wifi.ssid,
    ...links.board,
  });
  return links;
}

/** Runs one Python file (or the given source) in __main__ as a board's pyexec does. */
function runFile(mp: MicroPython, name: string, source: string): void {
  mp.globals.set("__mpota_src", source);
  mp.runPython(`exec(compile(__mpota_src, ${JSON.stringify(name)}, "exec"))`);
}

function pythonErrorText(err: { message?: string }): string {
  return String(err.message ?? err)
    .split("\n")
    .filter((line) => !line.includes('File "<stdin>"'))
    .join("\n")
    .trimEnd();
}

async function boot(job: BootJob): Promise<void> {
  board[BOARD.BOOT_REAL_START] = Date.now();
  board[BOARD.BOOT_CLOCK] = job.clockMs;
  board[BOARD.CLOCK_OFFSET] = 0;
  board[BOARD.WDT_DEADLINE] = 0;
  board[BOARD.RTC_OFFSET] = 0;
  const clock = new Clock(board, job.sleepScale);
  const { mp, memory } = await newInterpreter(job);
  const FS = mp.FS;
  restoreFlash(FS, job);
  const links = registerBoard(mp, job, clock);
  const enabled = () => job.net && links.route() !== undefined;
  let netOff: string | undefined;
  const refused = (target: string) => {
    if (!job.net) netOff ??= target;
  };
  mp.registerJsModule(
    "_vnet",
    createVnet(init.netBuffer, { clock, memory, enabled, refused, count: links.count }),
  );
  mp.runPython('exec(open("/.sim/_simboot.py").read())');
  const gc = mp.pyimport("gc");
  const counters = installFlashHooks(FS, job, (op) => post({ type: "op", op, counters: { ...counters } }));
  let heapAllocated = 0;
  let end: BootEnd = { kind: "returned" };

  const files: Array<[string, string]> = [];
  const read = (path: string) => new TextDecoder().decode(FS.readFile(path));
  const exists = (path: string) => {
    try {
      return FS.isFile(FS.lookupPath(path).node.mode);
    } catch {
      return false;
    }
  };
  if (job.boot && exists("/boot.py")) files.push(["/boot.py", read("/boot.py")]);
  if (job.script !== undefined) files.push(["<script>", job.script]);
  else if (job.boot && exists("/main.py")) files.push(["/main.py", read("/main.py")]);

  try {
    for (const [name, source] of files) {
      const before = gc.mem_alloc() as number;
      try {
        runFile(mp, name, source);
      } catch (err) {
        const e = err as { name?: string; type?: string; message?: string };
        if (e.name !== "PythonError") throw err;
        heapAllocated += (gc.mem_alloc() as number) - before;
        if (e.type === "SystemExit") throw new BoardReset("soft");
        const text = pythonErrorText(e);
        post({ type: "out", text });
        end = { kind: "returned", error: text.split("\n").pop() };
        continue;
      }
      heapAllocated += (gc.mem_alloc() as number) - before;
    }
    // Back at the REPL: an armed watchdog still bites.
    if (clock.watchdogArmed()) {
      clock.idleUntilWatchdog();
      end = { kind: "wdt" };
    }
  } catch (err) {
    if (err instanceof PowerCut) end = { kind: "cut", op: err.op };
    else if (err instanceof BoardReset) {
      end = err.kind === "deepsleep" ? { kind: "deepsleep", ms: err.sleepMs } : { kind: err.kind };
    } else end = { kind: "fatal", error: String((err as Error)?.stack ?? err) };
  }
  post({
    type: "done",
    end,
    ops: counters.ops,
    bytesRead: counters.bytesRead,
    bytesWritten: counters.bytesWritten,
    heapAllocated,
    clockMs: clock.rtcNow() + (end.kind === "deepsleep" ? end.ms : 0),
    wdtFeeds: clock.wdtFeeds,
    ...(netOff === undefined ? {} : { netOff }),
    linkBytes: links.bytes,
    modemCommands: links.commands(),
  });
}

port.on("message", (message: HostMessage) => {
  if (message.type === "boot")
    void boot(message.job).catch((err) => {
      post({
        type: "done",
        end: { kind: "fatal", error: String(err?.stack ?? err) },
        ops: 0,
        bytesRead: 0,
        bytesWritten: 0,
        heapAllocated: 0,
        clockMs: message.job.clockMs,
        linkBytes: { wlan: 0, lan: 0, ppp: 0 },
        modemCommands: [],
      });
    });
});
post({ type: "ready" });
