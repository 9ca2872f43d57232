# Downloads into files, apart from http.py (small requests in RAM) so that a no-update check does not
# hold this code in RAM. One reused buffer; a broken transfer resumes with Range (http.py's header).
from mpota.body import read_body
from mpota.errors import UpdateError
from mpota.http import RETRY_STATUS, Retry, exchange, io_buffer, keep_head, retry_status, retrying


def _size(path):
    import os

    try:
        return os.stat(path)[6]
    except OSError:
        return 0


def _resume_at(head, have):
    # A 206 must continue exactly where the file ends.
    spec = head.get("content-range", "")
    if spec.startswith("bytes ") and spec[6:].split("-", 1)[0] == str(have):
        return have
    raise Retry("a partial answer that does not continue at byte %d" % have)


class _FlashFault(Exception):
    # A flash error while saving a download (EIO, ENOSPC): not the network's fault, never retried.
    def __init__(self, error):
        super().__init__(error)
        self.error = error


def _flash(fn, *args):
    try:
        return fn(*args)
    except OSError as e:
        raise _FlashFault(e)


def _write_all(f):
    def sink(view):
        done = _flash(f.write, view)
        while done < len(view):
            done += _flash(f.write, view[done:])

    return sink


def download(url, path, max_bytes, hasher=None, headers=None, refused=None, seen=None, buf=None):
    # Streams the body of `url` into the file `path` (at most max_bytes, else UpdateError "size");
    # -> its length. A broken transfer resumes where the file ends (Range); a server answering the
    # Range with 200 sends the whole file again, which then replaces it. `hasher` (optional) is fed
    # the whole file once it is complete. Flash errors come out as the OSError they are.
    # `refused(status)`: a source's own clear error for a refusal (401, 404, ...), raised before the
    # plain "HTTP <status>"; `seen`: a dict that gets the answer's kept headers (http.keep_head); `buf`:
    # a buffer of the caller's (at least 1 KB) to read through instead of a new one.
    import os

    if buf is not None:
        io_buffer(lent=buf)

    def answer(r, status, head, have):
        keep_head(seen, head)
        if status in RETRY_STATUS:
            raise retry_status(status, head)
        if status == 206 and have:
            start = _resume_at(head, have)
        elif status == 200:
            start = 0
        elif status == 416 and have:
            _flash(os.remove, path)  # what we have does not fit this file any more: start again
            raise Retry("HTTP 416")
        else:
            if refused:
                refused(status)
            raise UpdateError("http", "%s: HTTP %d" % (url, status))
        f = _flash(open, path, "ab" if start else "wb")
        try:
            n = start + read_body(r, head, max_bytes - start, _write_all(f))
        except Retry as e:
            _flash(f.close)
            if e.restart:
                _flash(os.remove, path)
            raise
        finally:
            _flash(f.close)
        return n

    def attempt(i):
        have = _size(path) if i else 0
        h = dict(headers or {})
        if have:
            h["Range"] = "bytes=%d-" % have
        return exchange(url, h, lambda r, status, head: answer(r, status, head, have))

    try:
        n = retrying(url, attempt)
    except _FlashFault as e:
        raise e.error
    if hasher is not None:
        hash_file(path, hasher)
    return n


def hash_file(path, hasher):
    # Feeds the file at `path` to `hasher` through the one buffer; -> its length.
    buf = io_buffer()
    total = 0
    with open(path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                return total
            hasher.update(buf if n == len(buf) else buf[:n])
            total += n
