"""`python -m alignscan`: the same command line as `alignscan`."""

from alignscan.cli import main

main()
