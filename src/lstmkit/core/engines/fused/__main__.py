"""``python -m lstmkit.core.engines.fused [--strict] [--verbose]``: compile (or load) the fused
C++ extension."""

import sys

from lstmkit.core.engines.fused.build import main

sys.exit(main())
