"""``python -m lstmkit.apps.language.corpora``: see :mod:`lstmkit.apps.language.corpora.setup`."""

import sys

from lstmkit.apps.language.corpora.setup import main

sys.exit(main())
