"""python -m ui: the interactive installer on its own (the CLI calls ui.start.run_interactive)."""

import sys

from ui.start import main

sys.exit(main())
