# A release envelope rebuilt from the envelope of the running release and a patch between the two
# (patches/<from>-<to>.fz, named by the envelopes' sha256s; Fossil + zlib, as file patches): an update
# then downloads the lines of the envelope that changed, not the whole release's. Best effort: when
# the board has no envelope, the source has no such patch or it does not apply, the caller downloads
# the envelope whole. The result must have the pointer's size and sha256 (patch.apply checks both),
# and the caller verifies its signature exactly as it does a whole download.
# Two steps, so that the download's modules are gone before the patch is applied (fetch._patched).
# The update pack (pack.py) is downloaded here too: same base, same names, and a board that finds no
# pack loads no pack.py.
from micropython import const

from mpota.errors import UpdateError, flash_fault

_BUF = const(1024)  # the applier moves any count through views of its buffer: small is enough


def download(cfg, path, size, sha256, headers=None, base=None, limit=0):
    # -> the running envelope's path once the patch from it to the envelope `sha256` is at path + ".fz";
    # with `base`, once the update pack between them (<base>/packs/<from>-<to>.pack, at most `limit`
    # bytes) is at path + ".pack". None when there is none (no envelope beside the slot, no such patch
    # or pack, a failed or oversized download; nothing of it is left).
    import hashlib
    import os

    from mpota import downloads, source, state
    from mpota.manifest import hexdigest

    source.setup(cfg)  # http may have been dropped with the update pack's modules: its settings again
    h = hashlib.sha256()
    dst = path + (".pack" if base else ".fz")
    try:
        old = state.slot_dir(state.running_slot(state.load())) + ".json"
        downloads.hash_file(old, h)
        if base:
            url = "%s/packs/%s-%s.pack" % (base, hexdigest(h), sha256)
        else:
            # A patch is worth it only when smaller than the envelope: no more than that is read.
            url, limit = source.patch_url(cfg, hexdigest(h), sha256), size
        downloads.download(url, dst, limit, None, headers)
        return old
    except (OSError, UpdateError) as e:
        if flash_fault(e):
            raise  # a failing or full flash fails the whole download too
        try:
            os.remove(dst)  # a refused or partial download
        except OSError:
            pass  # none was made, e.g. ENOENT: a board set up without a release has no envelope beside its slot
        return None


def rebuild(old, path, size, sha256):
    # -> True when `path` now holds the envelope of `size` bytes and `sha256`; False: fetch it whole.
    import os

    from mpota import patch

    try:
        patch.apply(old, path + ".fz", path, size, sha256, memoryview(bytearray(_BUF)), "fossil")
        return True
    except UpdateError:
        return False
    finally:
        os.remove(path + ".fz")
