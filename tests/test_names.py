#!/usr/bin/env python3
"""Fails on Catch2 test names that CTest cannot run by name.

catch_discover_tests registers each TEST_CASE by its name and runs it with
the name as a filter: a name that starts with "-" is read as an option (a
"--help ..." test printed Catch's help and passed without running), and a
";" splits the CMake list into two names that match nothing.

    test_names.py <tests-dir>
"""
import pathlib
import re
import sys

NAME = re.compile(r'TEST_CASE\(\s*"((?:[^"\\]|\\.)*)"')


def main():
    bad = []
    for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.cc")):
        for name in NAME.findall(path.read_text()):
            if name.startswith("-") or ";" in name:
                bad.append(f"{path}: TEST_CASE(\"{name}\")")
    for line in bad:
        print(line)
    print(f"test names: {len(bad)} that CTest cannot run by name")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
