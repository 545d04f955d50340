from exaone_cli.cli import main

main()
