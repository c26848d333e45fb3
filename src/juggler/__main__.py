from juggler.cli import main

main()
