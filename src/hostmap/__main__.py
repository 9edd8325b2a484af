from hostmap.cli import main

if __name__ == "__main__":  # not again in a worker process (hostmap.parts spawns them)
    main()
