# A release envelope rebuilt from the envelope of the running release and a patch between the two
# (patches/<from>-<to>.fz, named by the envelopes' sha256s; Fossil + zlib, as file patches): an update
# then downloads the lines of the envelope that changed, not the whole release's. Best effort: when
# the board has no envelope, the source has no such patch or it does not apply, the caller downloads
# the envelope whole. The result must have the pointer's size and sha256 (patch.apply checks both),
# and the caller verifies its signature exactly as it does a whole download.
# Two steps, so that the download's modules are gone before the patch is applied (source._patched).
from micropython import const

from mpota.errors import UpdateError, flash_fault

_BUF = const(1024)  # the applier moves any count through views of its buffer: small is enough


def download(cfg, path, size, sha256, headers=None):
    # -> the running envelope's path once the patch from it to the envelope `sha256` is at path + ".fz";
    # None when there is none (no envelope beside the slot, no such patch, a failed download).
    import hashlib

    from mpota import downloads, source, state
    from mpota.manifest import hexdigest

    source.setup(cfg)  # http may have been dropped with the update pack's modules: its settings again
    h = hashlib.sha256()
    try:
        old = state.slot_dir(state.running_slot(state.load())) + ".json"
        downloads.hash_file(old, h)
        # A patch is worth it only when smaller than the envelope: no more than that is read.
        downloads.download(source.patch_url(cfg, hexdigest(h), sha256), path + ".fz", size, None, headers)
        return old
    except (OSError, UpdateError) as e:
        if flash_fault(e):
            raise  # a failing or full flash fails the whole download too
        return None  # e.g. ENOENT: a board set up without a release has no envelope beside its slot


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
