/**
 * The board's network links: the Wi-Fi station, an Ethernet port (network.LAN) and a cellular modem on
 * a UART that answers AT commands and carries network.PPP once it has dialled. The route is the link
 * that came up last and is still up (as lwIP makes the newest interface the default); the socket
 * bridge counts every byte against it.
 */
import type { BootJob, LinkName, ModemSpec } from "./protocol.ts";

/** A Hayes-style modem: echo until ATE0, a SIM that may want its PIN, an APN, ATD*99# to dial. */
class Modem {
  readonly commands: string[] = [];
  data = false;
  private pending = "";
  private answer = "";
  private echo = true;
  private unlocked: boolean;
  private apn: string | undefined;

  constructor(private readonly spec: ModemSpec) {
    this.unlocked = spec.simPin === undefined;
  }

  write(text: string): void {
    if (this.data) return; // PPP frames: the link itself is modelled by ppp_connect
    this.pending += text;
    for (let end = this.pending.indexOf("\r"); end >= 0; end = this.pending.indexOf("\r")) {
      const cmd = this.pending.slice(0, end).trim();
      this.pending = this.pending.slice(end + 1);
      if (cmd) this.command(cmd);
    }
  }

  read(): string {
    const out = this.answer;
    this.answer = "";
    return out;
  }

  private command(cmd: string): void {
    this.commands.push(cmd);
    if (this.spec.silent) return;
    if (this.echo) this.answer += `${cmd}\r\n`;
    const reply = (...lines: string[]) => {
      this.answer += lines.map((l) => `\r\n${l}\r\n`).join("");
    };
    const up = cmd.toUpperCase();
    const pin = /^AT\+CPIN="?(\d+)"?$/i.exec(cmd);
    if (up === "AT") reply("OK");
    else if (up === "ATE0") {
      this.echo = false;
      reply("OK");
    } else if (up === "AT+CPIN?") reply(`+CPIN: ${this.unlocked ? "READY" : "SIM PIN"}`, "OK");
    else if (pin) {
      this.unlocked ||= pin[1] === this.spec.simPin;
      reply(this.unlocked ? "OK" : "+CME ERROR: incorrect password");
    } else if (up.startsWith("AT+CGDCONT=")) {
      this.apn = /"([^"]*)"\s*$/.exec(cmd)?.[1];
      reply("OK");
    } else if (up === "AT+CSQ") reply("+CSQ: 18,99", "OK");
    else if (up === "AT+CREG?") reply("+CREG: 0,1", "OK");
    else if (up.startsWith("ATD*99") || up.startsWith("AT+CGDATA")) {
      if (!this.unlocked) reply("+CME ERROR: SIM PIN required");
      else if (this.spec.apn !== undefined && this.apn !== this.spec.apn) reply("NO CARRIER");
      else {
        this.data = true;
        reply("CONNECT 150000000");
      }
    } else reply("ERROR");
  }
}

export function createLinks(job: BootJob) {
  let order = 0;
  /** When each link came up (a rising count), 0 while it is down. */
  const since: Record<LinkName, number> = { wlan: job.wifi === "connected" ? ++order : 0, lan: 0, ppp: 0 };
  const bytes: Record<LinkName, number> = { wlan: 0, lan: 0, ppp: 0 };
  const modem = job.modem ? new Modem(job.modem) : undefined;
  const setUp = (link: LinkName, up: boolean) => {
    if (up !== since[link] > 0) since[link] = up ? ++order : 0;
  };
  const route = (): LinkName | undefined => {
    let best: LinkName | undefined;
    for (const link of ["wlan", "lan", "ppp"] as const)
      if (since[link] > 0 && (!best || since[link] > since[best])) best = link;
    return best;
  };
  const ourUart = (id: number) => modem !== undefined && id === job.modem!.uart;
  return {
    setUp,
    route,
    /** Bytes through the socket bridge, on the route of the moment. */
    count(n: number) {
      const link = route();
      if (link && n > 0) bytes[link] += n;
    },
    bytes,
    commands: () => modem?.commands ?? [],
    /** The _vboard functions behind network.LAN, network.PPP and machine.UART. */
    board: {
      lan_present: () => job.lan !== undefined,
      lan_active: (flag: boolean) => setUp("lan", flag && job.lan === "up"),
      lan_status: () => since.lan > 0,
      uart_write: (id: number, text: string) => {
        if (ourUart(id)) modem!.write(text);
      },
      uart_read: (id: number) => (ourUart(id) ? modem!.read() : ""),
      ppp_connect: (id: number) => setUp("ppp", ourUart(id) && modem!.data),
      ppp_disconnect: () => {
        setUp("ppp", false);
        if (modem) modem.data = false;
      },
      ppp_status: () => since.ppp > 0,
    },
  };
}
