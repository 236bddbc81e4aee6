"""`python -m hopgen ...`: the same as the `hopgen` command."""

import sys

from hopgen.cli import main

if __name__ == "__main__":
    sys.exit(main())
