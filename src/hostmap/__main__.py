"""`python -m hostmap` and the `hostmap` command (`run`)."""

import sys


def run() -> None:
    """The command line.  Ctrl-C while its modules are still loading (most of a second)
    ends it as it would later: one line and exit code 130, not a traceback."""
    try:
        from hostmap.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("hostmap: interrupted\n")
        raise SystemExit(130) from None
    main()


if __name__ == "__main__":  # not again in a worker process (hostmap.parts spawns them)
    run()
