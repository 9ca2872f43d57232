# The AT set-up of a cellular modem on a UART before PPP (mpota/transport.py, "ppp" transports only):
# wake it, unlock the SIM with its PIN when it asks, set the APN, dial the packet service. The PIN
# never appears in a message or a log.
from micropython import const

from mpota.errors import UpdateError

_ANSWER_MS = const(3000)  # a command's answer; dialling gets the transport's timeout
_FAILED = ("ERROR", "NO CARRIER", "BUSY", "NO DIALTONE", "NO ANSWER")


def dial(t, timeout_s):
    # -> the UART, once the modem answered CONNECT (data mode: PPP frames from now on).
    from machine import UART

    kw = {"baudrate": t.get("baudrate", 115200), "timeout": 100}
    if "tx" in t:
        kw["tx"] = t["tx"]
    if "rx" in t:
        kw["rx"] = t["rx"]
    uart = UART(t["uart"], **kw)
    for _ in range(3):  # a modem just powered needs a moment before it answers
        try:
            command(uart, "AT")
            break
        except UpdateError:
            pass
    else:
        raise UpdateError("network", "the modem on UART %d does not answer AT" % t["uart"])
    command(uart, "ATE0")
    if "SIM PIN" in command(uart, "AT+CPIN?"):
        if "sim_pin" not in t:
            raise UpdateError("network", "the SIM asks for a PIN and the transport has no sim_pin")
        command(uart, 'AT+CPIN="%s"' % t["sim_pin"], "AT+CPIN=<sim_pin>")
    command(uart, 'AT+CGDCONT=1,"IP","%s"' % t["apn"])
    command(uart, "ATD*99#", None, timeout_s * 1000)
    return uart


def command(uart, cmd, shown=None, wait_ms=_ANSWER_MS):
    # Sends cmd; -> the lines the modem answered before OK (or CONNECT), joined. UpdateError on an
    # error answer or silence, naming the command as `shown` (a PIN stays out of messages).
    import time

    while uart.any():
        uart.read()  # what an earlier command left unread
    uart.write(cmd + "\r")
    got = ""
    start = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), start) < wait_ms:
        line = uart.readline()
        if not line:
            time.sleep_ms(10)
            continue
        line = line.strip().decode()
        if not line or line == cmd:  # blank, or the echo before ATE0
            continue
        if line == "OK" or line.startswith("CONNECT"):
            return got
        for bad in _FAILED:
            if line.startswith(bad) or line.startswith("+CME " + bad):
                raise UpdateError("network", "the modem answered %s to %s" % (line, shown or cmd))
        got += line + "\n"
    raise UpdateError("network", "the modem did not answer %s within %d ms" % (shown or cmd, wait_ms))
