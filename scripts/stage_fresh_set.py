"""Copy fresh writers' staged files (/work/staging/<writer>.jsonl) into eval/policy/<set>/, without the lines the
leak guard matches to a building or another evaluation text (`fresh_wrap_check.stage`).

    .venv/bin/python scripts/stage_fresh_set.py fresh_en2 xfl xfm
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv: list[str]) -> None:
    from fresh_wrap_check import stage

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", help="the folder of eval/policy/ to write")
    parser.add_argument("writers", nargs="+", help="writer ids (their staged files)")
    args = parser.parse_args(argv)
    stage(args.set, tuple(args.writers))


if __name__ == "__main__":
    main(sys.argv[1:])
