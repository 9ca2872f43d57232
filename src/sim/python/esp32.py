# esp32 for the virtual device: enough of the Partition API for code that probes for it.
HEAP_DATA = 4
HEAP_EXEC = 1


class Partition:
    BOOT = 0
    RUNNING = 1
    TYPE_APP = 0
    TYPE_DATA = 1

    def __init__(self, id):
        if id not in (Partition.BOOT, Partition.RUNNING):
            raise ValueError("no such partition")
        self._name = "factory"

    @staticmethod
    def find(type=0, subtype=255, label=None):
        return [Partition(Partition.RUNNING)] if type == Partition.TYPE_APP else []

    def info(self):
        return (0, 0, 0x10000, 0x1F0000, self._name, False)

    def get_next_update(self):
        raise OSError(2)  # no OTA app partitions: mpota updates files, not firmware

    @staticmethod
    def mark_app_valid_cancel_rollback():
        pass


def idf_heap_info(capabilities):
    return [(131072, 65536, 32768, 60000)]
