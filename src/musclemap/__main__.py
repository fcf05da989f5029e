"""`python -m musclemap ...` runs the console script (e.g. under `torchrun`)."""

from musclemap.cli import main

if __name__ == "__main__":
    main()
