"""Exit 1 unless two subjects of a conform report agree on every case either of them ran.

Usage: python3 ci/same-results.py REPORT/results.json SUBJECT_A SUBJECT_B
"""

import json
import sys


def main(path: str, one: str, other: str) -> int:
    outcomes: dict[str, dict[str, tuple]] = {}
    for case in json.load(open(path, encoding="utf-8"))["cases"]:
        if case["subject"] in (one, other):
            outcomes.setdefault(case["id"], {})[case["subject"]] = (case["status"], case["blame"])
    ran = {
        case: by
        for case, by in outcomes.items()
        if any(status != "skip" for status, _ in by.values())
    }
    differ = {case: by for case, by in ran.items() if by.get(one) != by.get(other)}
    for case, by in differ.items():
        print(f"{one} and {other} disagree on {case}: {by.get(one)} vs {by.get(other)}")
    print(f"{one} and {other}: {len(ran) - len(differ)} cases agree, {len(differ)} disagree")
    return 1 if differ or not ran else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
