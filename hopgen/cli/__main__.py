"""`python -m hopgen.cli ...` is the `hopgen` command."""

import sys

from hopgen.cli import main

sys.exit(main())
