"""``python -m lib.score ...``: the ``iot-botnet score`` command (:func:`lib.score.cli.main`)."""

import sys

from lib.score.cli import main

if __name__ == "__main__":
    sys.exit(main())
