# The rules of ota_config.json's "transports" (mpota/transport.py uses them), apart from config.py so
# that a config without transports never loads them. Mirrored by src/config/rules.ts like the rest.
from mpota.config import TEXT, _check, _list_of, _text, _whole, _wifi

_PIN = "a whole number from 0 to 255 (a GPIO number)"
TYPES = ("wlan", "lan", "ppp")
# The fields of each transport type. None is filled in: absent optional fields take their defaults
# where transport.py reads them (timeout_s: the config's; baudrate 115200; max_update_bytes 0, no cap).
FIELDS = {
    "wlan": (
        ("networks", True, _list_of(_wifi, False), 'a non-empty list of {"ssid": "...", "password": "..."}',
         None, None),
    ),
    "lan": (
        ("phy_type", False,
         lambda v: _text(v) and len(v) <= 16 and all(65 <= c <= 90 or 48 <= c <= 57 for c in v.encode()),  # A-Z 0-9
         'a PHY name as network.PHY_<name> spells it, such as "LAN8720"', None, None),
        ("phy_addr", False, _whole(0, 31), "a whole number from 0 to 31", None, None),
        ("mdc", False, _whole(0, 255), _PIN, None, None),
        ("mdio", False, _whole(0, 255), _PIN, None, None),
        ("power", False, _whole(0, 255), _PIN, None, None),
    ),
    "ppp": (
        ("uart", True, _whole(0, 9), "a UART number from 0 to 9", None, None),
        ("tx", False, _whole(0, 255), _PIN, None, None),
        ("rx", False, _whole(0, 255), _PIN, None, None),
        ("baudrate", False, _whole(1200, 4000000), "a whole number from 1200 to 4000000", None, None),
        ("apn", True, _text, TEXT, None, None),
        ("sim_pin", False, lambda v: isinstance(v, str) and 4 <= len(v) <= 8 and v.isdigit(), "4 to 8 digits",
         None, None),
        ("user", False, _text, TEXT, None, None),
        ("password", False, lambda v: isinstance(v, str), "a string", None, None),
        ("cost_per_mb", False, lambda v: type(v) in (int, float) and 0 <= v <= 1000000,
         "a number from 0 to 1000000", None, None),
        ("max_update_bytes", False, _whole(0, 1000000000),
         "0 (no cap) or a whole number of bytes up to 1000000000", None, None),
    ),
}


def _fields(t, at, out):
    # The fields of one transport, or None (with the message) when its type is wrong.
    if "type" not in t:
        out.append('missing "%stype"' % at)
    elif t["type"] not in TYPES:
        out.append('"%stype" must be one of %s' % (at, ", ".join('"%s"' % n for n in TYPES)))
    else:
        return (("type", True, lambda v: True, "", None, None),
                ("timeout_s", False, _whole(1, 600), "a whole number of seconds from 1 to 600", None, None)) \
            + FIELDS[t["type"]]
    return None


def check(transports, at, out):
    # The messages for each transport of the list `at` names ("transports").
    for i, t in enumerate(transports):
        inner = _fields(t, "%s[%d]." % (at, i), out)
        if inner:
            _check(t, inner, "%s[%d]." % (at, i), out)
