"""`python -m tui` is `idpronote`."""

from cli.main import main

raise SystemExit(main())
