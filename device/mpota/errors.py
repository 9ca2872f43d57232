# Errors are values: every failure of an update becomes an UpdateError(code, message), is persisted
# to /.mpota/last_error.json, and is readable through mpota.status(); none is raised into the app.

LAST_ERROR = "/.mpota/last_error.json"
# errors of the way to the source or the board, not of a release
NETWORK = ("network", "wifi", "busy", "metered", "battery")


class UpdateError(Exception):
    def __init__(self, code, message):
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self):
        return "%s: %s" % (self.code, self.message)


def as_update_error(e):
    # Anything unexpected (a bug, a flash fault) is still reported, with its type in the message.
    if isinstance(e, UpdateError):
        return e
    if isinstance(e, OSError):
        return UpdateError("io", "flash or network I/O failed: %s" % (e,))
    return UpdateError("internal", "%s: %s" % (type(e).__name__, e))


def flash_fault(e):
    # EIO or ENOSPC: the flash failed or is full. Never the fault of a download or a patch, so it is
    # raised as it is instead of being retried or answered with the whole file.
    return isinstance(e, OSError) and bool(e.args) and e.args[0] in (5, 28)


def record(e, version=None):
    import json
    import time

    e = as_update_error(e)
    try:
        with open(LAST_ERROR, "w") as f:
            f.write(json.dumps({"code": e.code, "message": e.message, "version": version, "time": time.time()}))
    except OSError:
        pass  # the flash may be the very thing that failed; the error is still returned to the caller
    return e


def last():
    import json

    try:
        with open(LAST_ERROR) as f:
            return json.loads(f.read())
    except (OSError, ValueError):
        return None


def clear(only=None):
    # Forgets the last error (`only`: when its code is one of these).
    import os

    if only and (last() or {}).get("code") not in only:
        return
    try:
        os.stat(LAST_ERROR)  # stat first: no flash write when there is nothing to clear
        os.remove(LAST_ERROR)
    except OSError:
        pass
