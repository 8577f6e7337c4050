"""``python -m fockmpi``: the command line (same as the ``fockmpi`` script)."""
from .app.cli import console_main

console_main()
