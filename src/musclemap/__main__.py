"""`python -m musclemap ...` runs the console script (e.g. under `torchrun`)."""

from musclemap.cli import entry

if __name__ == "__main__":
    entry()
