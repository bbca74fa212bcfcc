"""`python -m tui` is `idpronote`."""

from tui.cli import main

raise SystemExit(main())
