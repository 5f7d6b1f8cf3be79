"""``make bench``: the quick benchmark set, at sizes that run in a few minutes.

The large runs quoted in docs/benchmarks.md (10 M and 100 M events) use the same scripts with
bigger arguments; the commands are given there.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    runs = [
        [str(HERE / "synth_throughput.py"), "--workforce", "2000", "--days", "7"],
        [str(HERE / "ingest_throughput.py"), "--workforce", "2000", "--days", "30"],
        [str(HERE / "ledger_store.py"), "--workforce", "2000", "--days", "30"],
        [str(HERE / "ledger_tree.py"), "--sizes", "1000000"],
    ]
    for arguments in runs:
        print(
            "$ python bench/" + " ".join(Path(arguments[0]).name.split() + arguments[1:]),
            flush=True,
        )
        subprocess.run([sys.executable, *arguments], check=True)


if __name__ == "__main__":
    main()
