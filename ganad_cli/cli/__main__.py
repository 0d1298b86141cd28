"""`python -m ganad_cli.cli` is the `ganad` command."""

import sys

from ganad_cli.cli import main

if __name__ == "__main__":
    sys.exit(main())
