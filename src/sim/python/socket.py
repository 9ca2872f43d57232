# socket for the virtual device: the board's API, backed by real TCP on the host (src/sim/net-host.ts).
# Loops that move bytes run in JS (_vnet), so this shim allocates no more than a board's C module.
import _vnet
from uctypes import addressof

AF_INET = 2
AF_INET6 = 10
SOCK_STREAM = 1
SOCK_DGRAM = 2
IPPROTO_TCP = 6
IPPROTO_UDP = 17
SOL_SOCKET = 1
SO_REUSEADDR = 4
TCP_NODELAY = 1


def _check(r):
    if r < 0:
        raise OSError(-r)
    return r


def getaddrinfo(host, port, af=0, type=0, proto=0, flags=0):
    ip = _vnet.resolve(host)
    if not isinstance(ip, str):
        raise OSError(ip)  # -202, as an ESP32 reports a DNS failure
    return [(AF_INET, SOCK_STREAM, IPPROTO_TCP, "", (ip, port))]


def _bytes(data):
    return data.encode() if isinstance(data, str) else data


class socket:
    def __init__(self, af=AF_INET, type=SOCK_STREAM, proto=IPPROTO_TCP):
        if type != SOCK_STREAM:
            raise OSError(95)  # EOPNOTSUPP: the virtual device has TCP only
        self._sid = _check(_vnet.socket())
        self._timeout = -1

    def settimeout(self, seconds):
        self._timeout = -1 if seconds is None else int(seconds * 1000)

    def setblocking(self, flag):
        self._timeout = -1 if flag else 0

    def setsockopt(self, level, option, value):
        pass

    def connect(self, address):
        if self._timeout == 0:
            # Non-blocking: a board starts connecting and raises EINPROGRESS; on loopback the
            # connection is up (or refused) at once, so connect now and then say so.
            _check(_vnet.connect(self._sid, address[0], address[1], -1))
            raise OSError(115)
        _check(_vnet.connect(self._sid, address[0], address[1], self._timeout))

    def send(self, data):
        data = _bytes(data)
        if not len(data):
            return 0
        return _check(_vnet.send(self._sid, addressof(data), len(data), self._timeout, 0))

    def sendall(self, data):
        data = _bytes(data)
        if len(data):
            _check(_vnet.send(self._sid, addressof(data), len(data), self._timeout, 1))

    def write(self, data):
        data = _bytes(data)
        self.sendall(data)
        return len(data)

    def recv_into(self, buf, nbytes=0):
        n = nbytes or len(buf)
        return _check(_vnet.recv(self._sid, addressof(buf), n, self._timeout, 0)) if n else 0

    def readinto(self, buf, nbytes=0):
        # Like a board's stream: fills the buffer unless EOF (or a timeout after some bytes); a
        # non-blocking socket with nothing to read gives None.
        n = nbytes or len(buf)
        if not n:
            return 0
        r = _vnet.recv(self._sid, addressof(buf), n, self._timeout, 1)
        return None if r == -11 and self._timeout == 0 else _check(r)

    def recv(self, bufsize):
        buf = bytearray(bufsize)
        n = self.recv_into(buf)
        return bytes(buf) if n == bufsize else bytes(memoryview(buf)[:n])

    def read(self, size=-1):
        if size is None or size < 0:
            out = bytearray()
            chunk = bytearray(1024)
            while True:
                n = self.readinto(chunk)
                if not n:
                    return bytes(out)
                out.extend(memoryview(chunk)[:n])
        buf = bytearray(size)
        n = self.readinto(buf)
        return bytes(buf) if n == size else bytes(memoryview(buf)[:n])

    def readline(self):
        n = _check(_vnet.line_length(self._sid, self._timeout))
        if not n:
            return b""
        buf = bytearray(n)
        self.readinto(buf)
        return bytes(buf)

    def makefile(self, mode="rb", buffering=0):
        return self

    def fileno(self):
        return self._sid

    def close(self):
        if self._sid >= 0:
            _vnet.close(self._sid)
            self._sid = -1

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()
