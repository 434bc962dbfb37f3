"""`python -m attnflow` runs the command line."""

from .cli import main

main()
