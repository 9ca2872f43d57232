# TEST STAND-IN for device-net's mpota/source.py (the static source, no ETag and no signature check:
# src/client tests only, until the real module lands in device/mpota/).
import json


def _base(cfg):
    return "%s/%s" % (cfg["source"]["url"].rstrip("/"), cfg["project"])


def check(cfg, current_version):
    from mpota import http

    status, _, body = http.get_small("%s/channels/%s.json" % (_base(cfg), cfg["source"]["channel"]))
    if status != 200:
        return None
    pointer = json.loads(body)["signed"]
    return None if pointer["version"] == current_version else pointer


def fetch_release(cfg, version):
    import os
    from mpota import http

    try:
        os.mkdir("/.mpota/tmp")
    except OSError:
        pass
    path = "/.mpota/tmp/envelope.json"
    http.download("%s/releases/%s.json" % (_base(cfg), version), path, 1 << 20)
    return path


def blob_url(cfg, sha256):
    return "%s/blobs/%s.z" % (_base(cfg), sha256)
