"""`python -m gitext.cli`: how the hook entry point starts the background worker."""

import sys

from gitext.cli import main

sys.exit(main())
