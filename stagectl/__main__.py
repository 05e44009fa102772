"""``python -m stagectl`` = the ``stagectl`` command."""

from stagectl.app import main

raise SystemExit(main())
