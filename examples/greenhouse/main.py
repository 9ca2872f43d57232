# Greenhouse monitor: the example app mpota's demo and benchmarks update.
import time
import machine
from lib import sensors

VERSION = "1.0.0"


def main(readings=3):
    print("greenhouse", VERSION, "starting on", machine.unique_id().hex())
    for _ in range(readings):
        t, h = sensors.read()
        print("temperature %.1f C  humidity %d %%" % (t, h))
        sensors.log(t, h)
        time.sleep(60)
    print("greenhouse", VERSION, "done")
    keep_up_to_date()


def keep_up_to_date():
    # The readings worked, so this release is good: confirm it (a release on trial that never gets
    # here is rolled back by the loader), then look for a newer one. Without mpota (a bare board) skip.
    try:
        import mpota
    except ImportError:
        return
    mpota.confirm()
    print("update:", mpota.update())


if __name__ == "__main__":
    main()
