# The body of an HTTP response (http.py reads the head): Content-Length, chunked or close-delimited,
# passed on piece by piece through the reader's buffer, never held whole. Apart from http.py so that a
# no-update check, answered 304 without a body, does not load it.
from micropython import const

from mpota.errors import UpdateError
from mpota.http import MAX_HEAD, Retry

_MAX_LINE = const(128)  # chunk-size lines


def _length(head):
    n = head.get("content-length")
    if n is None:
        return None
    if not n.isdigit():
        raise UpdateError("http", "Content-Length %s is not a number" % n)
    return int(n)


def read_body(r, head, cap, sink):
    # Passes the body to sink(view) piece by piece; -> its length. Refuses a body larger than `cap`;
    # a body shorter or longer than its Content-Length is a failed transfer (Retry).
    chunked = "chunked" in head.get("transfer-encoding", "").lower()
    length = None if chunked else _length(head)
    if length is not None and length > cap:
        raise UpdateError("size", "the server sends %d bytes where at most %d are expected" % (length, cap))
    total = 0
    left = length if length is not None else cap + 1
    while True:
        if chunked:
            left = _chunk_size(r)
            if left == 0:
                _trailers(r)
                return total
        while left:
            view = r.piece(min(left, len(r.buf)))
            if not view:
                if length is None and not chunked:
                    return total  # close-delimited body
                raise Retry("the connection closed after %d bytes of the body" % total)
            total += len(view)
            if total > cap:
                raise UpdateError("size", "the body is larger than the %d bytes expected" % cap)
            sink(view)
            left -= len(view)
        if chunked:
            if r.line(_MAX_LINE) != b"":
                raise Retry("malformed chunked body")
        else:
            _nothing_more(r, total)
            return total


def _nothing_more(r, total):
    # After Content-Length bytes the server must close: anything more means the length lied.
    try:
        extra = r.piece(1)
    except (OSError, Retry):
        return  # a server keeping the connection open; the body itself is complete
    if extra:
        raise Retry("more bytes than the Content-Length of %d" % total, restart=True)


def _chunk_size(r):
    line = r.line(_MAX_LINE)
    if line is None:
        raise Retry("the connection closed inside a chunked body")
    size = line.split(b";", 1)[0].strip()
    try:
        return int(size, 16)
    except ValueError:
        raise UpdateError("http", "malformed chunk size")


def _trailers(r):
    size = 0
    while True:
        line = r.line(MAX_HEAD)
        if not line:
            return
        size += len(line)
        if size > MAX_HEAD:
            raise UpdateError("http", "the response trailers are larger than %d bytes" % MAX_HEAD)
