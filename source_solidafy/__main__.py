"""``python -m source_solidafy`` is the same program as ``solidafy-cdk``."""

import sys

from source_solidafy.cli import main

sys.exit(main())
