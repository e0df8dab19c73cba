"""python -m ui: the interactive installer on its own (the CLI calls ui.app.run_interactive)."""

import sys

from ui.app import main

sys.exit(main())
