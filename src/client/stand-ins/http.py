# TEST STAND-IN for device-net's mpota/http.py (used by src/client tests only until the real module
# lands in device/mpota/; testkit.devicePackage() adds it only when device/mpota/http.py is missing).
import socket


def _open(url, headers):
    rest = url.split("://", 1)[1]
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    s = socket.socket()
    s.connect(socket.getaddrinfo(host, int(port or 80))[0][-1])
    req = "GET /%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n" % (path, hostport)
    for k, v in (headers or {}).items():
        req += "%s: %s\r\n" % (k, v)
    s.write((req + "\r\n").encode())
    f = s.makefile("rb") if hasattr(s, "makefile") else s
    status = int(f.readline().split()[1])
    length = None
    etag = None
    while True:
        line = f.readline()
        if line in (b"\r\n", b""):
            break
        k, _, v = line.decode().partition(":")
        if k.lower() == "content-length":
            length = int(v)
        elif k.lower() == "etag":
            etag = v.strip()
    return s, f, status, length, etag


def get_small(url, headers=None, max_bytes=4096, etag=None):
    h = dict(headers or {})
    if etag:
        h["If-None-Match"] = etag
    s, f, status, length, tag = _open(url, h)
    body = f.read(length) if length else b""
    s.close()
    return status, tag, body


def download(url, path, max_bytes, hasher=None, headers=None):
    from mpota.errors import UpdateError

    s, f, status, length, _ = _open(url, headers)
    if status != 200:
        s.close()
        raise UpdateError("http", "%s: HTTP %d" % (url, status))
    if length is None or length > max_bytes:
        s.close()
        raise UpdateError("size", "%s: larger than %d bytes" % (url, max_bytes))
    buf = memoryview(bytearray(512))
    n = 0
    with open(path, "wb") as out:
        while n < length:
            k = f.readinto(buf[: min(512, length - n)])
            if not k:
                break
            out.write(buf[:k])
            if hasher:
                hasher.update(buf[:k])
            n += k
    s.close()
    return n
