# network for the virtual device: a station interface whose success the test decides.
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
