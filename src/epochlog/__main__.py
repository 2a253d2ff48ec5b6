"""`python -m epochlog`: the command line."""

from epochlog.cli import main

if __name__ == "__main__":
    main()
