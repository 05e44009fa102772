"""``python main.py`` opens the stagectl window on the demo stage (same as ``stagectl run``)."""

from stagectl.app import main

if __name__ == "__main__":
    raise SystemExit(main(prog="main.py"))
