# The board's `ssl` module is the `tls` module plus wrap_socket.
from tls import *  # noqa: F401,F403
