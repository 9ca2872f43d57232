# One small JSON document POSTed: the reports to `mpota serve` (src_server.report). Apart from http.py,
# whose connection, request and response code it uses, so that a check or a download, which never
# post, do not hold it in RAM (a check needs 1 KB less heap).
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
