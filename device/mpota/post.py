# One small JSON document POSTed: the reports to `mpota serve` (report). Apart from http.py, whose
# connection, request and response code it uses, and from src_server.py, so that a check or a
# download, which never post, neither hold it in RAM (a check needs 1 KB less heap) nor intern its
# names.
from mpota.http import SMALL, _connect, _head, _Reader, _send, split


def post_json(url, headers, doc):
    # One attempt, no redirects: -> the response status. For reports, which are best effort (the next
    # check-in tells the server the same), so a failure costs no retries.
    import json

    body = json.dumps(doc).encode()
    tls, host, port, path = split(url)
    sock, raw = _connect(tls, host, port)
    try:
        _send(sock, tls, host, port, path, headers, "POST", body)
        return _head(_Reader(sock, raw, SMALL))[0]
    finally:
        sock.close()


def report(cfg, event, version, note=None):
    # What happened (installed, failed, confirmed, rolled_back), in one POST to the server source;
    # mpota calls it best effort (the next check-in tells the server the same). The start of a download
    # is no report: the server records it when this device asks for the update pack or the envelope.
    from mpota.src_server import _base, headers

    doc = {"version": version, "event": event}
    if note:
        doc["error"] = note[:1000]
    post_json(_base(cfg) + "/reports", headers(cfg), doc)
