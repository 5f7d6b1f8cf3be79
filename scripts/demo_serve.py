"""The end of ``make demo``: demo users, alerts synced, and the web application running.

    python scripts/demo_serve.py --home demo-force/home [--host 127.0.0.1] [--port 8000]

Creates an investigator (ann), a second investigator (bob), a reviewer (rita) and a DPO (dora)
with fresh random passwords, printed once (a user who already exists keeps their password);
runs detection if it has not run; syncs the alerts into the case database; then serves until
Ctrl-C, after printing the URL and how to sign in.
"""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path

DEMO_USERS = (
    ("ann", "investigator"),
    ("bob", "investigator"),
    ("rita", "reviewer"),
    ("dora", "dpo"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="the demo store's HOME")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()

    import uvicorn

    from custodes.cases.db import open_cases
    from custodes.cases.users import UserError, add_user
    from custodes.detect import detect_home
    from custodes.detect.run import ALERTS
    from custodes.web.app import create_app, sync_at_start

    home: Path = args.home
    if not (home / ALERTS).exists():
        print("no alerts yet: running detection first")
        detect_home(home)
    db = open_cases(home)
    logins = []
    try:
        for name, role in DEMO_USERS:
            password = f"demo-{secrets.token_urlsafe(9)}"
            try:
                add_user(db, name, role, password)
            except UserError:
                password = "(unchanged: the user already existed)"
            logins.append((name, role, password))
    finally:
        db.close()
    print(sync_at_start(home))
    print()
    print(f"Custodes is serving the demo force at http://{args.host}:{args.port}/")
    print("Sign in as one of (the passwords are shown only now):")
    for name, role, password in logins:
        print(f"  {name:<5} {role:<13} {password}")
    print("ann triages the queue in pseudonyms and escalates a case; rita reviews and signs it")
    print("off; bob cannot open ann's case (need-to-know); dora answers subject access requests.")
    print("Ctrl-C stops the server.")
    uvicorn.run(create_app(home), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
