# Bringing the board online over the config's "transports", in priority order: the first that connects
# carries the update, one that fails falls through to the next, none is a "network" error naming why
# each failed. Loaded only on boards whose config lists transports (others keep api._online's Wi-Fi).
# A metered link (ppp with max_update_bytes) refuses an update larger than its cap before its blobs
# are downloaded; the update's result says which transport carried it and how many bytes.
from mpota.errors import UpdateError


def connect(cfg):
    # -> the index of the transport used in the list (an int: nothing it returns stays on the heap);
    # UpdateError("network") when none connects.
    why = []
    for i, t in enumerate(cfg["transports"]):
        try:
            _UP[t["type"]](t, t.get("timeout_s") or cfg["timeout_s"])
        except Exception as e:  # any failure of one link (OSError, a driver's ValueError) tries the next
            what = e.message if isinstance(e, UpdateError) else "%s %s" % (type(e).__name__, e)
            why.append("%s: %s" % (t["type"], what))
            continue
        if t["type"] != "ppp":
            _hang_up()  # routes must not leave over a metered link kept from an earlier call
        return i
    raise UpdateError("network", "no transport connected (%s)" % "; ".join(why))


def _wait(up, timeout_s):
    # Whether up() turns true within timeout_s.
    import time

    start = time.ticks_ms()
    while not up():
        if time.ticks_diff(time.ticks_ms(), start) > timeout_s * 1000:
            return False
        time.sleep_ms(100)
    return True


def _wlan(t, timeout_s):
    import network

    sta = network.WLAN(network.STA_IF)
    if sta.isconnected():
        return
    sta.active(True)
    for n in t["networks"]:
        sta.connect(n["ssid"], n["password"])
        if _wait(sta.isconnected, timeout_s):
            return
        sta.disconnect()
    sta.active(False)  # the radio off: the next transport may be the one this board uses for a while
    raise UpdateError("wifi", "could not join %s within %d s each"
                      % (", ".join(n["ssid"] for n in t["networks"]), timeout_s))


def _lan(t, timeout_s):
    import network

    kw = {}
    if "phy_type" in t:
        kw["phy_type"] = getattr(network, "PHY_" + t["phy_type"])
    if "phy_addr" in t:
        kw["phy_addr"] = t["phy_addr"]
    for pin in ("mdc", "mdio", "power"):
        if pin in t:
            from machine import Pin

            kw[pin] = Pin(t[pin])
    lan = network.LAN(**kw)
    if lan.isconnected():
        return
    lan.active(True)
    if not _wait(lan.isconnected, timeout_s):
        lan.active(False)
        raise UpdateError("network", "no Ethernet link within %d s" % timeout_s)


def _ppp(t, timeout_s):
    # The modem's AT set-up (mpota/modem.py), then PPP over the same UART. The PPP object is kept in
    # the mpota package between calls: a collected one would drop the link.
    import mpota

    link = getattr(mpota, "_ppp", None)
    if link and link.isconnected():
        return
    from mpota import modem
    import network

    uart = modem.dial(t, timeout_s)
    link = network.PPP(uart)
    link.active(True)
    if "user" in t:
        link.connect(security=network.PPP.SEC_CHAP, user=t["user"], key=t.get("password", ""))
    else:
        link.connect()
    mpota._ppp = link
    if not _wait(link.isconnected, timeout_s):
        _hang_up()
        raise UpdateError("network", "PPP did not come up within %d s of the modem's CONNECT" % timeout_s)


_UP = {"wlan": _wlan, "lan": _lan, "ppp": _ppp}


def _hang_up():
    import mpota

    link = getattr(mpota, "_ppp", None)
    if link:
        mpota._ppp = None
        try:
            link.disconnect()
            link.active(False)
        except OSError:
            pass  # already down


def carried(cfg, at, envelope_path):
    # -> the release bytes this update downloads over transport `at` (the verified envelope, or the
    # update pack that brought it with the files it holds, then each blob or patch the plan still
    # needs; HTTP headers and retries come on top). UpdateError("metered") before any blob is
    # downloaded when a capped link would carry more (a pack is capped at max_update_bytes: fetch.py).
    import os

    from mpota import install, state
    from mpota.source import PACKED

    rec = state.load()
    active = state.slot_dir(state.running_slot(rec)) + ".json"
    unpack = None
    try:
        with open(PACKED) as f:
            n = int(f.read())
        from mpota import unpack  # only for a board that got a pack, as install.py loads it
    except (OSError, ValueError):  # no update pack
        n = os.stat(envelope_path)[6]
    for entry, how, extra in install.plan(envelope_path, active):
        if unpack and how != "copy" and unpack.records(entry):
            continue  # in the pack
        if how == "patch":
            n += extra["size"]
        elif how == "download" and "blobs" in entry:
            n += entry["blobs"]["zlib"]
        elif how == "download" and "url" in entry:  # a file of an unsigned source, fetched as it is
            n += entry["size"]
    t = cfg["transports"][at]
    cap = t.get("max_update_bytes")
    if cap and n > cap:
        raise UpdateError("metered", "the update needs %d bytes over %s, more than its max_update_bytes of %d; "
                          "it waits for another transport" % (n, t["type"], cap))
    return n


def summary(t, n):
    # What update() says of transport `t` having carried n release bytes.
    out = {"type": t["type"], "bytes": n}
    if "cost_per_mb" in t:
        out["cost"] = n * t["cost_per_mb"] / 1000000
    return out
