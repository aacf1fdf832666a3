"""`python -m consign` is the `consign` command."""

from consign.cli import main

main()
