"""``python -m custodes`` runs the command line."""

from custodes.cli import main

main()
