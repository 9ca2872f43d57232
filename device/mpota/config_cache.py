# /ota_config.json as config.py validated and completed it, kept in /.mpota/config.json under a key:
# the SHA-256 of the file and of where the mpota code runs from (its slot). A call whose config has
# not changed since reads that copy and loads no config.py (its rules, their interned names and the
# work of checking them: the largest step of a check). Only check(), which runs often, writes the
# copy, and only when the key changes (a new config, a new release running): to a new file renamed
# over the old one, so a power cut leaves the old copy, which no longer matches, or none; either way
# the next call validates again. update() reads it but writes nothing it did not write before.
CONFIG = "/ota_config.json"  # the board's config (config.PATH)
PATH = "/.mpota/config.json"


def _key(text):
    import binascii
    import hashlib

    h = hashlib.sha256(text)
    h.update(__import__("mpota").__path__)  # another slot, another release: its own rules and defaults
    return binascii.hexlify(h.digest()).decode()


def load(keep):
    # -> the config with defaults filled in, as config.load() gives it (and its errors, when it is
    # wrong); `keep`: write the copy when there is none for this key.
    import json

    key = None
    try:
        with open(CONFIG) as f:
            key = _key(f.read())
        with open(PATH) as f:
            if f.readline() == key + "\n":
                return json.load(f)
    except (OSError, ValueError):  # no config (config.load() says so), no copy, or a broken copy
        pass
    from mpota import config

    cfg = config.load()
    if keep and key:
        _save(key, cfg)
    return cfg


def _save(key, cfg):
    # Best effort: a board that cannot write it validates its config on every call, as before.
    import json
    import os

    try:
        os.remove(PATH)  # first: a copy that cannot be replaced must not outlive its key
    except OSError:
        pass
    try:
        with open(PATH + ".new", "w") as f:
            f.write(key + "\n" + json.dumps(cfg))  # one write: json.dump() writes piece by piece
        os.rename(PATH + ".new", PATH)
    except OSError:
        pass
