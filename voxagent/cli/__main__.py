"""`python -m voxagent.cli`: the `voxagent` command.

The package is imported as itself (only this file runs as `__main__`), so the `UsageError` that
subcommands in other packages raise is the one `main` catches.
"""

from voxagent.cli.entry import main

if __name__ == "__main__":
    main()
