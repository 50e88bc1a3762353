"""``python -m lib.report figures/iot23 [figures/cicids2017 ...]``: write each folder's results page from the
files notebook 06 wrote there, and the README's headline block (:func:`lib.report.page.main`)."""

from lib.report.page import main

if __name__ == "__main__":
    main()
