# Installs a verified release into the slot that is not running, then commits it with one write of the
# state record. Until that write the running slot is untouched and the state record says the other
# slot holds nothing; after it, the other slot is complete and verified. A power cut anywhere leaves
# the board running exactly the old or exactly the new release.
from micropython import const

import mpota
from mpota.errors import UpdateError
from mpota.source import PACKED, TMP

CHUNK = const(1024)  # the one I/O buffer of an install; no file is ever held in RAM
_NETWORK = ("http", "https", "body", "downloads")  # loaded for each download only


def remove_tree(path):
    # Deletes a file or a folder with everything below it; a missing path is fine.
    import os

    try:
        mode = os.stat(path)[0]
    except OSError:
        return
    if mode & 0x4000:
        for entry in list(os.ilistdir(path)):
            remove_tree(path + "/" + entry[0])
        os.rmdir(path)
    else:
        os.remove(path)


def _blocks(size, block):
    return (size + block - 1) // block * block


def _tree_bytes(path, block):
    # Flash the files below `path` occupy (whole blocks), freed when the slot is cleared.
    import os

    try:
        st = os.stat(path)
    except OSError:
        return 0
    if not st[0] & 0x4000:
        return _blocks(st[6], block)
    return sum(_tree_bytes(path + "/" + e[0], block) for e in os.ilistdir(path))


def _patch_from(entry, prev):
    # The patch (docs/protocol.md) that turns the running slot's file at the same path into `entry`, in
    # an encoding this client applies (others are skipped: the whole blob is used instead).
    patches = entry.get("blobs", {}).get("patches")
    if not patches or prev is None or prev["path"] != entry["path"] or "sha256" not in prev:
        return None
    from mpota.patch import ENCODINGS  # only when there are patches: a release without them needs no more RAM

    for p in patches:
        if p["from_sha256"] == prev["sha256"] and p.get("encoding") in ENCODINGS:
            return p
    return None


def plan(path, current):
    # The files of the envelope at `path` against those of the running release's envelope at `current`
    # (parameters are named with names the update has interned already: each new name is kept for
    # good, and an install interns many; docs/device.md, RAM).
    # -> iterator of (entry, how, extra), the cheapest way to each file that can be verified: how is
    # "copy" when the running slot holds the same file (same path and hash; extra: its path), "patch"
    # when the manifest has a patch from the running slot's file at that path (extra: the patch entry),
    # else "download". Both lists are sorted by path: one merge pass, O(1) RAM. Either list may be a
    # signed envelope or the file list of an unsigned source (filelist.py).
    from mpota import manifest

    # The running release's entries; none when its slot has no envelope (set up without a release).
    old = manifest.entries(current)
    prev = next(old, None)
    for entry in manifest.entries(path):
        while prev is not None and prev["path"] < entry["path"]:
            prev = next(old, None)
        key = manifest.hash_key(entry)
        if prev is not None and prev["path"] == entry["path"] and prev.get(key) == entry[key]:
            yield entry, "copy", entry["path"]
        else:
            p = _patch_from(entry, prev)
            yield entry, "patch" if p else "download", p


def check_space(path, current, dst, new):
    # Refuses before the first write when the release would not fit: every file in whole blocks plus
    # the largest compressed download, against what is free plus what clearing the target slot frees
    # (its folder `dst`, its envelope `new`). `path`, `current`: as plan's.
    import os

    st = os.statvfs("/")
    block = st[0] or 4096
    need = 2 * block
    largest = 0
    for entry, how, _ in plan(path, current):
        need += _blocks(entry["size"], block)
        if how != "copy" and "blobs" in entry:  # a file-list entry downloads straight into place
            largest = max(largest, _blocks(entry["blobs"]["zlib"], block))
    need += largest + _blocks(os.stat(path)[6], block)
    have = st[0] * st[4] + _tree_bytes(dst, block) + _tree_bytes(new, block)
    if need > have:
        raise UpdateError("space", "the release needs %d KB of flash, %d KB are free" % (need // 1024, have // 1024))


def _mkdirs(path, seen):
    # Creates the folders above the file `path` (each at most once per install: `seen`).
    import os

    at = ""
    for part in path.split("/")[1:-1]:
        at += "/" + part
        if at not in seen:
            try:
                os.mkdir(at)
            except OSError:
                pass  # already there
            seen.add(at)


def _pump(src, dst, buf, limit, what, h=None):
    # Streams src into dst (when given) through sha256 (or the hasher `h`); at most `limit` bytes, else
    # UpdateError.
    import hashlib

    from mpota.manifest import hexdigest

    h = h or hashlib.sha256()
    total = 0
    while True:
        n = src.readinto(buf)
        if not n:
            break
        total += n
        if total > limit:
            raise UpdateError("size", "%s is larger than the %d bytes the manifest declares" % (what, limit))
        if mpota.step:  # the status LED and the update watchdog (mpota/steps.py)
            mpota.step(0)
        chunk = buf if n == len(buf) else buf[:n]  # a full buffer is passed as is: no allocation per chunk
        h.update(chunk)
        if dst is not None:
            done = dst.write(chunk)
            while done < n:
                done += dst.write(chunk[done:])
    return total, hexdigest(h)


def _copy(src, dst, entry, buf):
    # The same file from the running slot (path `src`) to `dst`; False when it no longer matches its
    # manifest entry.
    from mpota import manifest

    try:
        with open(src, "rb") as f:
            with open(dst, "wb") as out:
                n, digest = _pump(f, out, buf, entry["size"], entry["path"], manifest.hasher(entry))
    except UpdateError:  # larger than the entry says
        return False
    return manifest.matches(entry, n, digest)


def _fetch(cfg, url, path, size, buf, h=None):
    # One download into TMP, with the network code loaded for it only: the inflate or patch after it
    # needs that room (about 11 KB on a 32-bit board). The patch and state code are dropped while it
    # runs (4.5 KB), and the download reads through the install's buffer `buf`, not one of its own.
    import sys

    from mpota import _drop

    kept = tuple(n[6:] for n in sys.modules if n.startswith("mpota.") and n[6:] not in _NETWORK + ("patch", "state"))
    _drop(kept)
    from mpota import downloads, source

    source.setup(cfg)  # http comes afresh for each download, and its settings with it
    try:
        downloads.download(url, path, size, h, buf=buf)
    finally:
        del downloads
        _drop(kept)


def inflate(src, dst, entry, buf, what="download"):
    # The file from the whole zlib stream (2^10 window) at `src`, a download or an update pack's blob
    # (unpack.py): inflated into place, capped at the declared size, and checked against its entry.
    import deflate

    from mpota import errors

    try:
        with open(src, "rb") as raw:
            with open(dst, "wb") as out:
                n, digest = _pump(deflate.DeflateIO(raw, deflate.ZLIB, 10), out, buf, entry["size"], entry["path"])
    except (OSError, ValueError, EOFError) as e:  # EOFError: a truncated stream
        if errors.flash_fault(e):
            raise  # not a bad blob
        raise UpdateError("blob", "%s: the %s is not a valid zlib stream (%s)" % (entry["path"], what, e))
    if n != entry["size"] or digest != entry["sha256"]:
        raise UpdateError("sha256", "%s: the file from the %s does not match the manifest (%d bytes, sha256 %s)"
                          % (entry["path"], what, n, digest))


def _download(cfg, dst, entry, buf):
    # The whole file as a zlib stream: downloaded to a temporary file capped at its declared compressed
    # size, then inflated into place.
    import os

    from mpota import source

    tmp = "%s/%s.z" % (TMP, entry["sha256"])
    _fetch(cfg, source.blob_url(cfg, entry["sha256"]), tmp, entry["blobs"]["zlib"], buf)
    inflate(tmp, dst, entry, buf)  # a bad blob stays in TMP until drop_downloads, as before
    os.remove(tmp)


def _patched(cfg, old_path, dst, entry, p, buf):
    # The file made from the running slot's copy and the patch whose manifest entry is `p`: True, or
    # the UpdateError why not (a missing, damaged or wrong patch, a source without patches; the caller
    # then downloads the whole file). A patch only saves bytes, so any failure falls back; only flash
    # faults (EIO, ENOSPC) raise.
    import hashlib

    from mpota import errors, manifest, source

    tmp = "%s/%s.fz" % (TMP, entry["sha256"])
    h = hashlib.sha256()
    try:
        url = source.patch_url(cfg, p["from_sha256"], entry["sha256"])
        _fetch(cfg, url, tmp, p["size"], buf, h)
        if manifest.hexdigest(h) != p["sha256_of_patch"]:
            raise UpdateError("patch", "the patch download does not match its sha256_of_patch")
        from mpota import patch

        patch.apply(old_path, tmp, dst, entry["size"], entry["sha256"], buf, p["encoding"])
        return True
    except Exception as e:
        if errors.flash_fault(e):
            raise
        return errors.as_update_error(e)
    finally:
        remove_tree(tmp)


def verify_slot(path, slot_dir, buf):
    # Reads back every file of the slot and checks its size and hash against the manifest at `path`.
    from mpota import manifest

    for entry in manifest.entries(path):
        try:
            with open(slot_dir + "/" + entry["path"], "rb") as f:
                n, digest = _pump(f, None, buf, entry["size"], entry["path"], manifest.hasher(entry))
        except OSError:
            raise UpdateError("verify", "%s is missing from the new slot" % entry["path"])
        if not manifest.matches(entry, n, digest):
            raise UpdateError("verify", "%s in the new slot does not match the manifest" % entry["path"])


def install_release(cfg, path, header):
    # Writes the release whose verified envelope is at `path` into the inactive slot,
    # verifies every file, and commits it as "trial". A file the running slot does not hold comes from
    # the update pack's record for it when fetch.py left one in TMP, else by its own download (a patch
    # when the manifest lists one, else the whole blob). Raises UpdateError; the running slot is never
    # touched. -> how the files came: {"copied", "patched", "downloaded", "patch_failed"} counts, and
    # "patch_error", the last reason a patch was not used (its file was downloaded whole instead).
    import os

    from mpota import state

    rec = state.load()
    running = state.running_slot(rec)
    target = 1 - running
    active_dir = state.slot_dir(running)
    target_dir = state.slot_dir(target)
    active_envelope = active_dir + ".json"
    target_envelope = target_dir + ".json"
    check_space(path, active_envelope, target_dir, target_envelope)

    rec = state.free_slot(rec, target)  # from here on nothing may switch to the target slot
    del state  # loaded again for the commit: the downloads have its room (1.5 KB)
    remove_tree(target_envelope)
    remove_tree(target_dir)
    made = {"/.mpota"}
    _mkdirs(TMP + "/", made)
    _mkdirs(target_dir + "/", made)
    try:
        packed = os.stat(PACKED)
    except OSError:
        packed = None  # no update pack: every file comes by its own download
    buf = memoryview(bytearray(CHUNK))
    hooks = header.get("hooks") or {}
    missing = set(hooks.values())
    done = {"copied": 0, "patched": 0, "downloaded": 0, "patch_failed": 0, "patch_error": None}
    for entry, how, patch_entry in plan(path, active_envelope):
        if mpota.step:
            mpota.step(1, entry["path"])  # FILE
        missing.discard(entry["path"])
        dst = target_dir + "/" + entry["path"]
        _mkdirs(dst, made)
        # An entry with nowhere to download from is a file the source carries over from the running slot.
        kept = "blobs" not in entry and "url" not in entry
        if (how == "copy" or kept) and _copy(active_dir + "/" + entry["path"], dst, entry, buf):
            done["copied"] += 1
            continue
        got = None
        if packed and "blobs" in entry:  # unpack.py only for a board that got an update pack
            from mpota import unpack

            got = unpack.take(active_dir + "/" + entry["path"], dst, entry, buf)
        if isinstance(got, str):
            done[got] += 1
            continue
        if got is not None:
            done["patch_failed"] += 1
            done["patch_error"] = "%s: the update pack's record: %s" % (entry["path"], got.message)
        if how == "patch":
            why = _patched(cfg, active_dir + "/" + entry["path"], dst, entry, patch_entry, buf)
            if why is True:
                done["patched"] += 1
                continue
            done["patch_failed"] += 1
            done["patch_error"] = "%s: %s" % (entry["path"], why.message)
        done["downloaded"] += 1
        if "blobs" in entry:
            _download(cfg, dst, entry, buf)
        elif "url" in entry:
            from mpota import filelist, source

            source.setup(cfg)
            filelist.download(source.source_module(cfg).fetch_file, cfg, dst, entry)  # checked by its hash
        else:
            raise UpdateError("verify", "%s no longer matches in the running slot, and the source does not "
                              "provide it" % entry["path"])
    if missing:
        raise UpdateError("manifest", "hook %s is not a file of the release" % missing.pop())
    verify_slot(path, target_dir, buf)
    from mpota import state

    if mpota.step:
        mpota.step(3)  # COMMIT: the battery gate once more
    os.rename(path, target_envelope)
    back = hooks.get("rollback")
    state.commit_trial(rec, target, header["version"], cfg, hooks.get("post_update"),
                       target_dir + "/" + back if back else None)
    remove_tree(TMP)
    return done
