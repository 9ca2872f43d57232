# The file list of an unsigned source (a git branch or tag, a micropython_ota server): what a signed
# envelope is for a release, kept on flash in the same line layout so that it is written and read one
# line at a time, never whole:
#   {"unsigned":true,"signed":
#   {"created":"...","files":[
#   {"git_sha1":"...","path":"lib/a.py","size":12,"url":"https://..."},
#   ],"format":1,"project":"...","source":"github","version":"<commit, tag or version tag>"}
#   }
# Each entry names the file's URL and its Git blob SHA-1 (or, when the source offers none, only its
# size: micropython_ota). install.py writes such a release through the same A/B path as a signed one,
# reading it with manifest.py as it reads an envelope.
from micropython import const

from mpota.errors import UpdateError
from mpota.manifest import FIRST, MAX_LINE

_MAX_FILES = const(10000)


def _bad(what):
    return UpdateError("source", "the file list is invalid: %s" % what)


class Writer:
    # Writes a list entry by entry (sorted by path, unique): w.add(entry) ... w.close(header).
    def __init__(self, path, created):
        import json

        self.f = open(path, "wb")
        self.f.write(FIRST)
        self.f.write(b'{"created":%s,"files":[\n' % json.dumps(created).encode())
        self.prev = None
        self.count = 0

    def add(self, entry):
        import json

        from mpota.manifest import path_ok

        p = entry["path"]
        if not path_ok(p):
            raise _bad("%s is not a path a release may hold" % p)
        if self.prev is not None and p <= self.prev:
            raise _bad("%s: paths must be unique and sorted" % p)
        self.count += 1
        if self.count > _MAX_FILES:
            raise _bad("more than %d files" % _MAX_FILES)
        line = json.dumps(entry).encode()
        if len(line) >= MAX_LINE:
            raise _bad("%s: its entry is longer than %d bytes" % (p, MAX_LINE))
        if self.prev is not None:
            self.f.write(b",\n")
        self.f.write(line)
        self.prev = p

    def close(self, header):
        # header: {"project", "version", "source"} (an unsigned source: "unsigned" is set), or the
        # header of the signed manifest the entries were taken from.
        import json

        if not self.count:
            self.f.close()
            raise UpdateError("source", "%s %s holds no file the config selects"
                              % (header["source"], header["version"]))
        h = dict(header)
        h["format"] = 1
        h.pop("files", None)
        h.pop("created", None)
        tail = json.dumps(h)
        self.f.write(b"\n]," + tail[1:].encode() + b"\n}\n")
        self.f.close()


def header(path):
    # {"created", "format", "project", "source", "unsigned", "version"} from the first and last lines.
    import json

    from mpota.manifest import header_lines

    first, last = header_lines(path)
    try:
        h = json.loads(first + last)
    except ValueError:
        raise _bad("its header is not valid JSON")
    del h["files"]
    return h


def download(fetch_file, cfg, dst, entry):
    # Fetches one file of the list through its source's fetch_file (which adds the API token where it
    # belongs and honours rate limits) straight into place, and checks it.
    from mpota.manifest import hash_key, hasher, hexdigest, matches

    h = hasher(entry)
    n = fetch_file(cfg, entry["url"], dst, entry["size"], h)
    if not matches(entry, n, hexdigest(h)):
        raise UpdateError(hash_key(entry), "%s: the downloaded file does not match its %s (%d bytes)" % (
            entry["path"], "Git blob SHA-1" if hash_key(entry) == "git_sha1" else "sha256", n))


def running_release():
    # Where the running slot's envelope (or file list) is kept.
    from mpota import state

    return state.slot_dir(state.running_slot(state.load())) + ".json"


def keep_running(prefixes=None):
    # The running release's files to carry into the next one (those under `prefixes`, or all): the
    # mpota package itself when a repository does not hold it; every file a micropython_ota server
    # does not list, as that library leaves them in place. Installed by copy from the running slot.
    import os

    from mpota.manifest import entries

    listed = running_release()
    try:
        os.stat(listed)
        found = entries(listed)
    except OSError:
        found = _tree(listed[:-5], "")  # a slot set up without a release: its files as they are
    for e in found:
        if prefixes is None or any(e["path"].startswith(x) for x in prefixes):
            yield {k: e[k] for k in ("path", "size", "sha256", "git_sha1") if k in e}


def _tree(root, prefix):
    # The files below root/prefix with their size and sha256, in path order (a folder sorts as its
    # name + "/", as the paths of its files do).
    import hashlib
    import os

    from mpota.downloads import hash_file
    from mpota.manifest import hexdigest

    here = root + "/" + prefix if prefix else root
    names = sorted((e[0] + "/" if e[1] & 0x4000 else e[0]) for e in os.ilistdir(here))
    for name in names:
        if name.endswith("/"):
            yield from _tree(root, prefix + name)
            continue
        h = hashlib.sha256()
        n = hash_file(here + "/" + name, h)
        yield {"path": prefix + name, "size": n, "sha256": hexdigest(h)}


def merge(new, kept):
    # Two entry streams sorted by path -> one sorted stream; on the same path the new entry wins.
    k = next(kept, None)
    for e in new:
        while k is not None and k["path"] < e["path"]:
            yield k
            k = next(kept, None)
        if k is not None and k["path"] == e["path"]:
            k = next(kept, None)
        yield e
    while k is not None:
        yield k
        k = next(kept, None)
