from alignscan.cli import main

main()
