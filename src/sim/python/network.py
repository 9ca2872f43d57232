# network for the virtual device: a station interface, an Ethernet port and PPP over a UART modem,
# each up or down as the test decides (src/sim/worker/links.ts).
import _vboard

STA_IF = 0
AP_IF = 1
STAT_IDLE = 1000
STAT_CONNECTING = 1001
STAT_GOT_IP = 1010
STAT_NO_AP_FOUND = 201
STAT_WRONG_PASSWORD = 202
STAT_CONNECT_FAIL = 203


def hostname(name=None):
    return "mpota-virtual" if name is None else None


class WLAN:
    def __init__(self, interface=STA_IF):
        self._if = interface
        self._active = True

    def active(self, flag=None):
        if flag is None:
            return self._active
        self._active = bool(flag)
        if not flag:
            _vboard.wlan_disconnect()

    def connect(self, ssid=None, key=None, bssid=None):
        _vboard.wlan_connect(ssid or "", key or "")

    def disconnect(self):
        _vboard.wlan_disconnect()

    def isconnected(self):
        return _vboard.wlan_status() == STAT_GOT_IP

    def status(self, param=None):
        if param == "rssi":
            return _vboard.wlan_rssi()
        if param is not None:
            raise ValueError("unknown status parameter")
        return _vboard.wlan_status()

    def ifconfig(self, config=None):
        if self.isconnected():
            return ("10.0.0.2", "255.255.255.0", "10.0.0.1", "10.0.0.1")
        return ("0.0.0.0", "0.0.0.0", "0.0.0.0", "0.0.0.0")

    def config(self, name=None, **kwargs):
        if name == "mac":
            return bytes.fromhex(_vboard.unique_id())[:6]
        if name == "essid":
            return _vboard.wlan_ssid()
        if name == "rssi":
            return _vboard.wlan_rssi()
        return None

    def scan(self):
        return []


_DOWN = ("0.0.0.0", "0.0.0.0", "0.0.0.0", "0.0.0.0")

PHY_LAN8720 = 0
PHY_IP101 = 1
PHY_RTL8201 = 2
PHY_DP83848 = 3
PHY_KSZ8041 = 4
PHY_KSZ8081 = 5


class LAN:
    # ESP32's network.LAN(mdc=, mdio=, phy_type=, phy_addr=, power=); OSError(ENODEV) on a board without a port.
    def __init__(self, *args, **kwargs):
        if not _vboard.lan_present():
            raise OSError(19)

    def active(self, flag=None):
        if flag is None:
            return _vboard.lan_status()
        _vboard.lan_active(bool(flag))

    def isconnected(self):
        return _vboard.lan_status()

    def status(self, param=None):
        return 1010 if _vboard.lan_status() else 1000

    def ifconfig(self, config=None):
        return ("10.0.1.2", "255.255.255.0", "10.0.1.1", "10.0.1.1") if self.isconnected() else _DOWN


class PPP:
    # network.PPP(stream) of MicroPython >= 1.24 over a machine.UART whose modem has dialled.
    SEC_NONE = 0
    SEC_PAP = 1
    SEC_CHAP = 2

    def __init__(self, stream):
        self._uart = stream._id
        self._active = False

    def active(self, flag=None):
        if flag is None:
            return self._active
        self._active = bool(flag)
        if not flag:
            _vboard.ppp_disconnect()

    def connect(self, security=0, user=None, key=None):
        if not self._active:
            raise OSError(1)  # EPERM, as the firmware answers before active(True)
        _vboard.ppp_connect(self._uart)

    def disconnect(self):
        _vboard.ppp_disconnect()

    def isconnected(self):
        return _vboard.ppp_status()

    def status(self):
        return 1 if _vboard.ppp_status() else 0

    def ifconfig(self, config=None):
        return ("10.64.0.2", "255.255.255.255", "10.64.0.1", "10.64.0.1") if self.isconnected() else _DOWN
