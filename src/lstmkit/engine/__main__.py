"""``python -m lstmkit.engine [--strict] [--verbose]``: compile (or load) the fused C++ extension."""

import sys

from lstmkit.engine.build import main

sys.exit(main())
