"""``python -m uptake.cli``: the same as the ``uptake`` command."""

from uptake.cli import main

main()
