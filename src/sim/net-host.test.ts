import { createHash, randomBytes } from "node:crypto";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createTcpServer, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { closeServer, deviceTracker, listenLoopback, makeTestPki, type TestPki } from "../../testing/sim.ts";

const { device, closeAll } = deviceTracker();
afterEach(closeAll);

/** Runs `script` alone (no boot.py/main.py) on a fresh device and returns its printed lines. */
async function runScript(script: string, options: Parameters<typeof device>[0] = {}) {
  const r = await device(options).run({ boot: false, script, timeoutMs: 20_000 });
  return { ...r, lines: r.output.split("\n").filter(Boolean) };
}

/** Python: connect to 127.0.0.1:port and send an HTTP/1.0 GET. */
const httpGet = (port: number, path = "/") => `
import socket
s = socket.socket()
s.connect(socket.getaddrinfo("127.0.0.1", ${port})[0][-1])
s.sendall(b"GET ${path} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n")
`;

/** Python: print the OSError number raised by `call` (indented one level), or "no error". */
const expectOSError = (call: string) => `
try:
    ${call}
    print("no error")
except OSError as e:
    print("errno", e.errno)
`;

describe("device sockets over loopback HTTP", () => {
  const body = randomBytes(1024 * 1024);
  const lines = "alpha\nbeta\n\ngamma";
  const server = createHttpServer((req, res) => {
    const payload = req.url === "/lines" ? Buffer.from(lines) : body;
    res.writeHead(200, { "Content-Length": payload.length });
    res.end(payload);
  });
  let port = 0;
  beforeAll(async () => {
    port = await listenLoopback(server);
  });
  afterAll(() => closeServer(server));

  it("downloads 1 MiB in a readinto loop with the same sha256 as Node", async () => {
    const r = await runScript(`${httpGet(port)}
import hashlib
status = s.readline()
length = 0
while True:
    line = s.readline()
    if line == b"\\r\\n":
        break
    if line.lower().startswith(b"content-length:"):
        length = int(line.split(b":")[1])
h = hashlib.sha256()
buf = memoryview(bytearray(1024))
total = 0
while True:
    n = s.readinto(buf)
    if not n:
        break
    h.update(buf[:n])
    total += n
s.close()
print(status.strip().decode())
print(length, total)
print(h.digest().hex())
`);
    expect(r.ok, r.output).toBe(true);
    expect(r.lines).toEqual([
      "HTTP/1.1 200 OK",
      `${body.length} ${body.length}`,
      createHash("sha256").update(body).digest("hex"),
    ]);
    expect(r.netConnections).toBe(1);
    expect(r.netBytesIn).toBeGreaterThan(body.length);
    expect(r.netBytesIn).toBeLessThan(body.length + 1024);
    expect(r.netBytesOut).toBe("GET / HTTP/1.0\r\nHost: localhost\r\n\r\n".length);
  });

  it("recv_into fills at most nbytes and recv returns what is there", async () => {
    const r = await runScript(`${httpGet(port, "/lines")}
f = s.makefile("rb")
while f.readline() != b"\\r\\n":
    pass
buf = bytearray(16)
n = s.recv_into(buf, 3)
print(n, bytes(buf[:n]))
rest = b""
while True:
    chunk = s.recv(4)
    if not chunk:
        break
    assert len(chunk) <= 4
    rest += chunk
print(rest)
s.close()
`);
    expect(r.ok, r.output).toBe(true);
    expect(r.lines).toEqual(["3 b'alp'", `b'ha\\nbeta\\n\\ngamma'`]);
  });

  it("makefile().readline() returns lines with their newline, b'' at EOF", async () => {
    const r = await runScript(`${httpGet(port, "/lines")}
f = s.makefile("rb")
while f.readline() != b"\\r\\n":
    pass
for i in range(5):
    print(repr(f.readline()))
s.close()
`);
    expect(r.ok, r.output).toBe(true);
    expect(r.lines).toEqual(["b'alpha\\n'", "b'beta\\n'", "b'\\n'", "b'gamma'", "b''"]);
  });

  it("read(n) returns exactly n bytes unless EOF comes first; read() reads to EOF", async () => {
    const r = await runScript(`${httpGet(port, "/lines")}
while s.readline() != b"\\r\\n":
    pass
print(s.read(7))
print(s.read())
print(s.read(5))
s.close()
`);
    expect(r.ok, r.output).toBe(true);
    expect(r.lines).toEqual(["b'alpha\\nb'", "b'eta\\n\\ngamma'", "b''"]);
  });

  it("resolves the names the test gives, and only those", async () => {
    const r = await runScript(
      `
import socket
print(socket.getaddrinfo("ota.example", 80)[0][-1])
print(socket.getaddrinfo("localhost", 81)[0][-1])
${expectOSError('socket.getaddrinfo("nowhere.invalid", 80)')}
`,
      { hosts: { "ota.example": "127.0.0.1" } },
    );
    expect(r.ok, r.output).toBe(true);
    expect(r.lines).toEqual(["('127.0.0.1', 80)", "('127.0.0.1', 81)", "errno -202"]);
  });

  it("has no DNS and no connections when the device has no network", async () => {
    const r = await runScript(
      `
import socket
${expectOSError('socket.getaddrinfo("localhost", 80)')}
s = socket.socket()
${expectOSError(`s.connect(("127.0.0.1", ${port}))`)}
`,
      { net: false },
    );
    expect(r.ok, r.output).toBe(true);
    expect(r.lines).toEqual(["errno -202", "errno 113"]);
    expect(r.netConnections).toBe(0);
  });

  it("the network comes up only when WLAN connects with the right credentials", async () => {
    const r = await runScript(
      `
import network, socket
w = network.WLAN(network.STA_IF)
w.active(True)
print(w.isconnected())
w.connect("lab", "wrong")
print(w.isconnected(), w.status())
${expectOSError(`socket.socket().connect(("127.0.0.1", ${port}))`)}
w.connect("lab", "pw")
print(w.isconnected(), w.status(), w.status("rssi"), w.config("essid"))
s = socket.socket()
s.connect(("127.0.0.1", ${port}))
s.close()
print("connected")
`,
      { wifi: { ssid: "lab", password: "pw" } },
    );
    expect(r.ok, r.output).toBe(true);
    expect(r.lines).toEqual(["False", "False 202", "errno 113", "True 1010 -58 lab", "connected"]);
  });

  it("a WLAN set to fail never connects", async () => {
    const r = await runScript(
      `
import network
w = network.WLAN(network.STA_IF)
w.connect("any", "thing")
print(w.isconnected(), w.status(), w.status("rssi"))
`,
      { wifi: "fail" },
    );
    expect(r.ok, r.output).toBe(true);
    expect(r.lines).toEqual(["False 201 0"]);
  });
});

describe("device uploads and connection lifetime", () => {
  it("sendall of 300 KB arrives whole (several bridge chunks), counted in netBytesOut", async () => {
    const sink = createTcpServer({ allowHalfOpen: true });
    let received = Buffer.alloc(0);
    const gotAll = new Promise<void>((resolve) => {
      sink.on("connection", (sock) => {
        const parts: Buffer[] = [];
        sock.on("data", (d) => parts.push(d));
        sock.on("end", () => {
          received = Buffer.concat(parts);
          sock.end("thanks");
          resolve();
        });
      });
    });
    const port = await listenLoopback(sink);
    try {
      const r = await runScript(`
import socket, hashlib
s = socket.socket()
s.connect(("127.0.0.1", ${port}))
block = bytes(range(256)) * 1200
s.sendall(block)
print(hashlib.sha256(block).digest().hex())
s.close()
`);
      await gotAll;
      expect(r.ok, r.output).toBe(true);
      expect(received.length).toBe(300 * 1024);
      expect(r.output).toBe(createHash("sha256").update(received).digest("hex"));
      expect(r.netBytesOut).toBe(300 * 1024);
    } finally {
      await closeServer(sink);
    }
  });

  it("netBytesIn and netBytesOut are exactly the bytes on the wire", async () => {
    const server = createTcpServer((sock) => {
      sock.once("data", (d) => sock.end(Buffer.alloc(5000 + d.length, 7)));
    });
    const port = await listenLoopback(server);
    try {
      const r = await runScript(`
import socket
s = socket.socket()
s.connect(("127.0.0.1", ${port}))
s.write("x" * 123)
print(len(s.read()))
s.close()
`);
      expect(r.ok, r.output).toBe(true);
      expect(r.output).toBe("5123");
      expect(r).toMatchObject({ netBytesIn: 5123, netBytesOut: 123, netConnections: 1 });
    } finally {
      await closeServer(server);
    }
  });

  it("counts each connection, and a reset closes the ones left open", async () => {
    const closed: string[] = [];
    const server = createTcpServer((sock) => {
      sock.resume(); // read (and drop) what arrives, so the peer's FIN is seen
      sock.on("close", () => closed.push("closed"));
    });
    const port = await listenLoopback(server);
    try {
      const main = `
import socket, machine
try:
    open("again")
except OSError:
    open("again", "w").close()
    for i in range(3):
        s = socket.socket()
        s.connect(("127.0.0.1", ${port}))
        s.send(b"hi")
    machine.reset()
`;
      const r = await device({ files: { "main.py": main } }).run({ timeoutMs: 5000 });
      expect(r).toMatchObject({ ok: true, reboots: 1, netConnections: 3, netBytesOut: 6 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(closed).toEqual(["closed", "closed", "closed"]);
    } finally {
      await closeServer(server);
    }
  });
});

describe("device socket errors", () => {
  it("times out with ETIMEDOUT (110) when the server never answers", async () => {
    const held: Socket[] = [];
    const silent = createTcpServer((sock) => held.push(sock));
    const port = await listenLoopback(silent);
    try {
      const r = await runScript(`
import socket, time
s = socket.socket()
s.settimeout(0.3)
s.connect(("127.0.0.1", ${port}))
s.send(b"hello?")
t0 = time.ticks_ms()
${expectOSError("s.recv(10)")}
print(time.ticks_diff(time.ticks_ms(), t0) >= 250)
s.setblocking(False)
${expectOSError("s.recv(10)")}
`);
      expect(r.ok, r.output).toBe(true);
      expect(r.lines).toEqual(["errno 110", "True", "errno 11"]);
    } finally {
      for (const sock of held) sock.destroy();
      await closeServer(silent);
    }
  });

  it("a non-blocking connect raises EINPROGRESS (115) and the socket is then usable", async () => {
    const echo = createTcpServer((sock) => sock.pipe(sock));
    const port = await listenLoopback(echo);
    try {
      const r = await runScript(`
import socket, time
s = socket.socket()
s.setblocking(False)
${expectOSError(`s.connect(("127.0.0.1", ${port}))`)}
s.send(b"ping")
data = b""
for i in range(100000):
    try:
        data += s.recv(10)
        break
    except OSError as e:
        assert e.errno == 11
        time.sleep_ms(1)
print(data)
s.close()
`);
      expect(r.ok, r.output).toBe(true);
      expect(r.lines).toEqual(["errno 115", "b'ping'"]);
    } finally {
      await closeServer(echo);
    }
  });

  it("a refused connection is ECONNREFUSED (111)", async () => {
    const gone = createTcpServer();
    const port = await listenLoopback(gone);
    await closeServer(gone);
    const r = await runScript(`
import socket
s = socket.socket()
${expectOSError(`s.connect(("127.0.0.1", ${port}))`)}
`);
    expect(r.ok, r.output).toBe(true);
    expect(r.lines).toEqual(["errno 111"]);
  });

  it("a connection reset by the peer is ECONNRESET (104)", async () => {
    const rude = createTcpServer((sock) => {
      sock.once("data", () => sock.resetAndDestroy());
    });
    const port = await listenLoopback(rude);
    try {
      const r = await runScript(`
import socket
s = socket.socket()
s.connect(("127.0.0.1", ${port}))
s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
${expectOSError("s.recv(10)")}
`);
      expect(r.ok, r.output).toBe(true);
      expect(r.lines).toEqual(["errno 104"]);
    } finally {
      await closeServer(rude);
    }
  });

  it("UDP sockets are refused with EOPNOTSUPP (95)", async () => {
    const r = await runScript(`
import socket
${expectOSError("socket.socket(socket.AF_INET, socket.SOCK_DGRAM)")}
`);
    expect(r.lines).toEqual(["errno 95"]);
  });
});

describe("device TLS", () => {
  const big = randomBytes(256 * 1024);
  let pki: TestPki;
  let port = 0;
  let server: ReturnType<typeof createHttpsServer>;
  beforeAll(async () => {
    pki = makeTestPki();
    server = createHttpsServer({ key: pki.key, cert: pki.cert }, (req, res) =>
      res.end(req.url === "/big" ? big : "secret hello"),
    );
    port = await listenLoopback(server);
  });
  afterAll(() => closeServer(server));

  /** Python: TLS GET to localhost with `verify` (a context setup), printing the body or the OSError. */
  const tlsGet = (hostname: string, setup: string) => `
import socket, tls
s = socket.socket()
s.connect(("127.0.0.1", ${port}))
ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
${setup}
try:
    ss = ctx.wrap_socket(s, server_hostname="${hostname}")
except OSError as e:
    print("errno", e.errno)
else:
    ss.write(b"GET / HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n")
    data = ss.read()
    ss.close()
    print(data.split(b"\\r\\n\\r\\n", 1)[1].decode())
`;

  it("round-trips data when the certificate chains to the CA the device loads", async () => {
    const r = await runScript(
      tlsGet("localhost", `ctx.load_verify_locations(cadata=${JSON.stringify(pki.ca)})`),
    );
    expect(r.ok, r.output).toBe(true);
    expect(r.lines).toEqual(["secret hello"]);
    // On the wire: the handshake and the encrypted records, more than the plaintext.
    expect(r.netBytesIn).toBeGreaterThan(500);
    expect(r.netBytesOut).toBeGreaterThan(100);
  });

  it("downloads 256 KiB over TLS in a readinto loop, sha256 equal to Node's", async () => {
    const r = await runScript(
      `
import socket, tls, hashlib
s = socket.socket()
s.connect(("127.0.0.1", ${port}))
ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
ss = ctx.wrap_socket(s, server_hostname="localhost")
ss.write(b"GET /big HTTP/1.0\\r\\n\\r\\n")
while ss.readline() != b"\\r\\n":
    pass
h = hashlib.sha256()
buf = memoryview(bytearray(1024))
n = ss.readinto(buf)
while n:
    h.update(buf[:n])
    n = ss.readinto(buf)
ss.close()
print(h.digest().hex())
`,
      { tlsCa: pki.ca },
    );
    expect(r.ok, r.output).toBe(true);
    expect(r.output).toBe(createHash("sha256").update(big).digest("hex"));
    expect(r.netBytesIn).toBeGreaterThan(big.length);
  });

  it("verifies against the firmware CA (tlsCa) through ssl.wrap_socket", async () => {
    const r = await runScript(
      `
import socket, ssl
s = socket.socket()
s.connect(("127.0.0.1", ${port}))
ss = ssl.wrap_socket(s, server_hostname="localhost", cert_reqs=ssl.CERT_REQUIRED)
ss.write(b"GET / HTTP/1.0\\r\\n\\r\\n")
print(ss.read().endswith(b"secret hello"))
ss.close()
`,
      { tlsCa: pki.ca },
    );
    expect(r.ok, r.output).toBe(true);
    expect(r.lines).toEqual(["True"]);
  });

  it("fails with MBEDTLS_ERR_X509_CERT_VERIFY_FAILED (-9984) for a certificate of another CA", async () => {
    const r = await runScript(
      tlsGet("localhost", `ctx.load_verify_locations(cadata=${JSON.stringify(pki.otherCa)})`),
    );
    expect(r.ok, r.output).toBe(true);
    expect(r.lines).toEqual(["errno -9984"]);
  });

  it("fails verification when the certificate is for another host name", async () => {
    const r = await runScript(tlsGet("ota.example", ""), { tlsCa: pki.ca });
    expect(r.ok, r.output).toBe(true);
    expect(r.lines).toEqual(["errno -9984"]);
  });

  it("checks an IP address given as server_hostname against the certificate's IP names", async () => {
    const r = await runScript(tlsGet("127.0.0.1", ""), { tlsCa: pki.ca });
    expect(r.ok, r.output).toBe(true);
    expect(r.lines).toEqual(["secret hello"]);
    const wrongIp = await runScript(tlsGet("127.0.0.2", ""), { tlsCa: pki.ca });
    expect(wrongIp.lines).toEqual(["errno -9984"]);
  });

  it("fails verification with no CA at all, and connects with CERT_NONE", async () => {
    const refused = await runScript(tlsGet("localhost", ""));
    expect(refused.lines).toEqual(["errno -9984"]);
    const unverified = await runScript(tlsGet("localhost", "ctx.verify_mode = tls.CERT_NONE"));
    expect(unverified.ok, unverified.output).toBe(true);
    expect(unverified.lines).toEqual(["secret hello"]);
  });
});
