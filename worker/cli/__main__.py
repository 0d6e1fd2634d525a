"""`python -m worker.cli`: the same as `invoice-worker`."""

import sys

from worker.cli.main import main

sys.exit(main())
