"""`python -m cli` is `idpronote`."""

from cli.main import main

raise SystemExit(main())
