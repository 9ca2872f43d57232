# tls / ssl for the virtual device: the TLS session runs on the host (real certificates, checked
# against the CA the device loads or the one the test bakes into the "firmware").
import _vnet
from uctypes import addressof

CERT_NONE = 0
CERT_OPTIONAL = 1
CERT_REQUIRED = 2
PROTOCOL_TLS_CLIENT = 0
PROTOCOL_TLS_SERVER = 1
MBEDTLS_VERSION = "virtual"

_ERR_VERIFY = -9984  # MBEDTLS_ERR_X509_CERT_VERIFY_FAILED
_ERR_HANDSHAKE = -30592  # MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE


class SSLSocket:
    # A board's TLS socket is a stream: read/readinto/readline/write, no send/recv.
    def __init__(self, sock):
        self._sock = sock

    def read(self, size=-1):
        return self._sock.read(size)

    def readinto(self, buf, nbytes=0):
        return self._sock.readinto(buf, nbytes)

    def readline(self):
        return self._sock.readline()

    def write(self, data):
        return self._sock.write(data)

    def setblocking(self, flag):
        self._sock.setblocking(flag)

    def close(self):
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()


class SSLContext:
    def __init__(self, protocol=PROTOCOL_TLS_CLIENT):
        if protocol != PROTOCOL_TLS_CLIENT:
            raise ValueError("the virtual device supports client TLS only")
        self.verify_mode = CERT_REQUIRED
        self._cadata = b""

    def load_verify_locations(self, cafile=None, cadata=None):
        if cafile is not None:
            with open(cafile, "rb") as f:
                cadata = f.read()
        self._cadata = cadata.encode() if isinstance(cadata, str) else bytes(cadata)

    def load_cert_chain(self, certfile, keyfile):
        raise OSError(95)

    def wrap_socket(self, sock, server_side=False, do_handshake_on_connect=True, server_hostname=None):
        if server_side:
            raise OSError(95)
        name = server_hostname or ""
        ca = self._cadata
        r = _vnet.tls(sock._sid, name, addressof(ca) if ca else 0, len(ca), self.verify_mode)
        if r == 1:
            raise OSError(_ERR_VERIFY, "MBEDTLS_ERR_X509_CERT_VERIFY_FAILED")
        if r == 2:
            raise OSError(_ERR_HANDSHAKE, "MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE")
        if r < 0:
            raise OSError(-r)
        return SSLSocket(sock)


def wrap_socket(sock, server_side=False, key=None, cert=None, cert_reqs=CERT_NONE, cadata=None,
                server_hostname=None, do_handshake=True):
    ctx = SSLContext(PROTOCOL_TLS_SERVER if server_side else PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = cert_reqs
    if cadata:
        ctx.load_verify_locations(cadata=cadata)
    return ctx.wrap_socket(sock, server_side=server_side, server_hostname=server_hostname)
