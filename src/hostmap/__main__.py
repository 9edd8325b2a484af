from hostmap.cli import main

main()
