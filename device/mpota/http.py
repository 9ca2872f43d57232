# A small streaming HTTP client (GET only) over socket, and ssl/tls for https (https.py). No body is ever
# held in RAM beyond a caller's cap: downloads (downloads.py) go to a file through one reused buffer;
# the one POST (a server's reports) is post.py's, which a check or a download does not load.
# - one HTTP/1.0 request per connection, which the server closes after its answer (as micropython-lib's
#   requests does: no "Connection: close" to send), so a no-update check is one short exchange;
# - Content-Length, chunked and close-delimited bodies (body.py); declared sizes are enforced: a body
#   larger than the caller's cap is refused, more bytes than Content-Length is a failed transfer;
# - redirects (also to another host), at most _MAX_REDIRECTS, a loop or https->http is refused;
# - a failed transfer is retried with exponential backoff and jitter, honouring Retry-After on
#   429/503 (bounded); a download resumes with Range, and a 200 answer to it restarts the file;
# - connect/read timeouts, and a deadline that every byte received moves on by 1/_MIN_RATE s, against
#   servers that drip bytes: a read waits at most timeout_s, so an attempt averaging under _MIN_RATE
#   bytes/s after its first timeout_s ends at most timeout_s later, whatever size was announced.
from micropython import const

import mpota
from mpota.errors import UpdateError

_CHUNK = const(1024)  # the one I/O buffer
SMALL = const(256)  # the I/O buffer of small requests: a check may find no free 1 KB block in its heap
MAX_HEAD = const(8192)  # status line + headers (or trailers); a CDN's fit easily
_MAX_REDIRECTS = const(5)
_MAX_RETRY_AFTER = const(300)  # seconds a server may ask us to wait before we give up instead
_BACKOFF_MS = const(1000)
_BACKOFF_CAP_MS = const(60000)
_MIN_RATE = const(256)  # bytes/s an attempt must average (after its first timeout) to go on

RETRY_STATUS = (408, 429, 500, 502, 503, 504)
_REDIRECT_STATUS = (301, 302, 303, 307, 308)
_FORWARDED = ("accept", "range", "if-none-match")  # request headers a redirect to another origin keeps
_HEADERS = ("content-length", "transfer-encoding", "etag", "location", "retry-after", "content-range",
            "date", "x-ratelimit-remaining", "x-ratelimit-reset")

_opts = {"timeout": 10, "retries": 3, "ca": None}
_buf = None


def configure(timeout_s=10, retries=3, ca=None):
    # Timeouts (seconds), retries after the first attempt, and a CA file for https (None: the CA the
    # firmware provides). Set once from the config by the source before any request.
    _opts["timeout"] = timeout_s
    _opts["retries"] = retries
    _opts["ca"] = ca


def io_buffer(size=_CHUNK, lent=None):
    # The one I/O buffer, at least `size` bytes: a download replaces the small one of a request before.
    # `lent`: a caller's buffer (at least _CHUNK bytes) to use from now on, so that a download within
    # an install, which has one, allocates no second 1 KB block.
    global _buf
    if lent is not None:
        _buf = lent
    elif _buf is None or len(_buf) < size:
        _buf = None
        _buf = memoryview(bytearray(size))
    return _buf


class Retry(Exception):
    # A transfer failed in a way worth another attempt; `wait` (seconds) when the server said so;
    # `restart` when the bytes received so far cannot be trusted (a download then starts from zero).
    def __init__(self, message, wait=None, restart=False):
        super().__init__(message)
        self.wait = wait
        self.restart = restart


def split(url):
    # -> (tls, host, port, path); UpdateError for anything but a plain http(s)://host[:port]/path URL.
    if url.startswith("https://"):
        tls = True
        rest = url[8:]
    elif url.startswith("http://"):
        tls = False
        rest = url[7:]
    else:
        raise UpdateError("url", "%s: not an http:// or https:// URL" % url)
    rest = rest.split("#", 1)[0]
    i = rest.find("/")
    hostport = rest if i < 0 else rest[:i]
    path = "/" if i < 0 else rest[i:]
    host, _, port = hostport.partition(":")
    if not host or "@" in hostport or "[" in hostport or " " in rest or not (port.isdigit() or not port):
        raise UpdateError("url", "%s: not a URL this client can fetch" % url)
    return tls, host, int(port) if port else (443 if tls else 80), path


def _join(url, location):
    # The absolute URL a Location header names.
    if "://" in location:
        return location
    scheme, _, rest = url.partition("://")
    if location.startswith("//"):
        return scheme + ":" + location
    hostport = rest.split("/", 1)[0]
    if location.startswith("/"):
        return "%s://%s%s" % (scheme, hostport, location)
    return url.split("?", 1)[0].rsplit("/", 1)[0] + "/" + location


def _connect(tls, host, port):
    # -> (the stream to use, the TCP socket under it: the same one without TLS)
    import socket

    addr = socket.getaddrinfo(host, port)[0][-1]
    sock = socket.socket()
    try:
        sock.settimeout(_opts["timeout"])
        sock.connect(addr)
        if tls:
            try:
                from mpota.https import wrap

                return wrap(sock, host, _opts["ca"]), sock
            except OSError as e:
                if e.args and e.args[0] == -9984:
                    raise UpdateError("tls", "%s: the server's certificate is not trusted" % host)
                raise
        return sock, sock
    except BaseException:
        sock.close()
        raise


def _send(sock, tls, host, port, path, headers, method="GET", body=None):
    default = 443 if tls else 80
    lines = "%s %s HTTP/1.0\r\nHost: %s\r\n" % (
        method, path, host if port == default else "%s:%d" % (host, port))
    if body is not None:
        lines += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
    for name, value in headers.items():
        value = str(value)
        if "\r" in value or "\n" in value:
            raise UpdateError("http", "header %s holds a line break" % name)
        lines += "%s: %s\r\n" % (name, value)
    sock.write((lines + "\r\n").encode())
    if body is not None:
        sock.write(body)


class _Reader:
    # Buffered reads from one response: lines for the head and chunk sizes, slices for the body.
    def __init__(self, sock, raw, size):
        import time

        self.sock = sock
        self.raw = raw  # the TCP socket under sock, whose timeout fill() sets
        self.buf = io_buffer(size)
        self.rest = None
        self.pos = 0
        self.end = 0
        self.got = 0
        self.start = time.ticks_ms()

    def fill(self, want=_CHUNK):
        # Reads up to `want` more bytes (at most a bufferful) into the (empty) buffer; 0 at the end of
        # the stream.
        import time

        timeout = _opts["timeout"]
        if time.ticks_diff(time.ticks_ms(), self.start) > timeout * 1000 + self.got * 1000 // _MIN_RATE:
            raise Retry("the transfer is too slow (under %d bytes/s)" % _MIN_RATE)
        self.pos = 0
        # A board's readinto() returns when the buffer is full: a byte per timeout would hold it for
        # as many timeouts. So it waits for one byte only, then takes what has arrived, without waiting.
        n = self.sock.readinto(self.buf, 1) or 0
        if n and want > 1:
            if self.rest is None:
                self.rest = self.buf[1:]
            self.raw.settimeout(0)
            try:
                n += self.sock.readinto(self.rest, min(want, len(self.buf)) - 1) or 0  # None: nothing more has arrived
            finally:
                self.raw.settimeout(timeout)
        self.got += n
        self.end = n
        if mpota.step:  # the status LED and the update watchdog (mpota/steps.py)
            mpota.step(0)
        return n

    def line(self, limit):
        # One line without its line break; UpdateError past `limit` bytes, None at the end of the stream.
        out = b""
        while True:
            if self.pos == self.end and not self.fill():
                return None if not out else out
            buf = self.buf
            p = self.pos
            end = self.end
            while p < end and buf[p] != 10:
                p += 1
            out += bytes(buf[self.pos:p])
            if len(out) > limit:
                raise UpdateError("http", "the server sent a line longer than %d bytes" % limit)
            if p < end:
                self.pos = p + 1
                return out[:-1] if out.endswith(b"\r") else out
            self.pos = end

    def piece(self, most):
        # -> a view of the next body bytes (at most `most`), empty at the end of the stream.
        if self.pos == self.end and not self.fill(most):
            return self.buf[:0]
        n = min(most, self.end - self.pos)
        view = self.buf if n == len(self.buf) else self.buf[self.pos:self.pos + n]
        self.pos += n
        return view


def _head(r):
    # -> (status, {header: value}) for the headers this client uses; the rest are skipped.
    size = 0
    status = None
    head = {}
    while True:
        line = r.line(MAX_HEAD)
        if line is None:
            raise Retry("the connection closed before the response headers ended")
        size += len(line) + 2
        if size > MAX_HEAD:
            raise UpdateError("http", "the response headers are larger than %d bytes" % MAX_HEAD)
        if status is None:
            parts = line.split(None, 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or len(parts[1]) != 3 or not parts[1].isdigit():
                raise UpdateError("http", "not an HTTP/1.x response")
            status = int(parts[1])
            continue
        if not line:
            return status, head
        try:
            name, sep, value = line.decode().partition(":")
        except UnicodeError:
            sep = None
        name = name.strip().lower() if sep else ""
        if not name:
            raise UpdateError("http", "malformed response header")
        if name in _HEADERS:
            value = value.strip()
            if name == "content-length" and head.get(name, value) != value:
                raise UpdateError("http", "two different Content-Length headers")
            head[name] = value


def retry_status(status, head):
    # 429/503 and friends: try again later, after Retry-After seconds when the server gives them.
    wait = head.get("retry-after", "")
    if not wait.isdigit():
        return Retry("HTTP %d" % status)
    if int(wait) > _MAX_RETRY_AFTER:
        raise UpdateError("busy", "HTTP %d: the server asks to come back in %s s" % (status, wait))
    return Retry("HTTP %d" % status, int(wait))


def exchange(url, headers, answer, size=_CHUNK):
    # One attempt: connects, sends the request, follows redirects; -> answer(reader, status, head).
    # `size`: the I/O buffer the answer is read through.
    seen = [url]
    while True:
        tls, host, port, path = split(url)
        sock, raw = _connect(tls, host, port)
        try:
            _send(sock, tls, host, port, path, headers)
            r = _Reader(sock, raw, size)
            status, head = _head(r)
            if status not in _REDIRECT_STATUS or "location" not in head:
                return answer(r, status, head)
        finally:
            sock.close()
        new = _join(url, head["location"])
        if new in seen or len(seen) > _MAX_REDIRECTS:
            raise UpdateError("redirect", "%s: redirect loop or more than %d redirects" % (seen[0], _MAX_REDIRECTS))
        if tls and new.startswith("http://"):
            raise UpdateError("redirect", "%s: refused a redirect from https to http" % seen[0])
        if split(new)[1:3] != (host, port):
            # Another origin (host or port) gets only the headers that say what is asked for: never a
            # token, a device id, a cookie or an API key.
            headers = {k: v for k, v in headers.items() if k.lower() in _FORWARDED}
        seen.append(new)
        url = new


def _backoff_ms(attempt):
    # 1 s, 2 s, 4 s, … capped, each cut by a random 0..50 % so a fleet does not retry in step.
    import random

    ms = min(_BACKOFF_CAP_MS, _BACKOFF_MS << attempt)
    return ms - ms * random.getrandbits(7) // 256


def retrying(url, attempt):
    # Runs attempt(i) until it returns, retrying network failures; UpdateError when all failed.
    import time

    tries = 1 + _opts["retries"]
    for i in range(tries):
        try:
            return attempt(i)
        except UpdateError:
            raise
        except (OSError, Retry) as e:
            why = e
            wait = e.wait * 1000 if isinstance(e, Retry) and e.wait is not None else _backoff_ms(i)
        while i + 1 < tries and wait > 0:  # in steps that feed an update watchdog
            time.sleep_ms(min(wait, 500))
            wait -= 500
            if mpota.step:
                mpota.step(0)
    if isinstance(why, OSError):
        why = _os_error(why)
    raise UpdateError("network", "%s: %s (%d attempts)" % (url, why, tries))


def _os_error(e):
    # A network OSError in words (the number alone means little at 2 a.m.).
    import errno

    code = e.args[0] if e.args else None
    words = {errno.ETIMEDOUT: "timed out", errno.ECONNREFUSED: "connection refused",
             errno.ECONNRESET: "connection reset", errno.EHOSTUNREACH: "host unreachable",
             -202: "DNS lookup failed"}.get(code)
    return "%s (OSError %s)" % (words, code) if words else "network error %s" % code


def keep_head(seen, head):
    # Puts the kept headers of the last answer into the caller's dict `seen` (None: not wanted), for
    # a caller that judges them (an API's rate limit, the Date that sets a board's clock).
    if seen is not None:
        seen.clear()
        seen.update(head)


def get_small(url, headers=None, max_bytes=4096, etag=None, seen=None, pack=False):
    # A small document in RAM (a channel pointer): -> (status, etag, body). 304 when `etag` still
    # matches; statuses other than 200/304 come back with an empty body for the caller to judge.
    # `seen`: a dict that gets the answer's kept headers (keep_head); `pack`: a check answer, whose
    # update pack answer.py writes to flash (the pointer alone comes into RAM).
    headers = dict(headers or {})
    if etag:
        headers["If-None-Match"] = etag

    def answer(r, status, head):
        keep_head(seen, head)
        if status in RETRY_STATUS:
            raise retry_status(status, head)
        body = bytearray()
        if status == 200 and pack:
            from mpota.answer import read

            read(r, head, max_bytes, body)
        elif status == 200:
            from mpota.body import read_body

            read_body(r, head, max_bytes, body.extend)
        return status, head.get("etag"), bytes(body)

    return retrying(url, lambda i: exchange(url, headers, answer, SMALL))
