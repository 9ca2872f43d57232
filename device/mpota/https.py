# TLS for https URLs (http.py connects): loaded only when a URL is https, so that a board on plain
# http (a server on the local network) does not hold it.


def wrap(sock, host, ca):
    # TLS with the server's certificate checked (chain and name) against the CA file `ca`, or the
    # firmware's when it is None.
    try:
        import ssl
    except ImportError:
        import tls as ssl
    if hasattr(ssl, "SSLContext"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.verify_mode = ssl.CERT_REQUIRED
        if ca:
            ctx.load_verify_locations(cafile=ca)
        return ctx.wrap_socket(sock, server_hostname=host)
    cadata = None
    if ca:
        with open(ca, "rb") as f:
            cadata = f.read()
    return ssl.wrap_socket(sock, server_hostname=host, cert_reqs=ssl.CERT_REQUIRED, cadata=cadata)
