from pagedesk.config.cli import main

main()
