#!/usr/bin/python3
"""Checks that deploy/docker/Dockerfile's runtime stage installs every library
the service binaries link, and no build tools.

  check_image.py --dockerfile deploy/docker/Dockerfile --binary build/services/x/liaison-x ...

No image is built here (tests/deploy/check_images.sh builds and runs them):
the binaries built here are the ones the build stage makes, on the same
Debian release, so the Debian packages that own their shared libraries (ldd,
then dpkg -S) are what the runtime stage must install, itself or through their
dependencies. The runtime stage's base may be a build argument: its default
is what is checked. Prints every failure and exits 1 if there was one.
"""

import argparse
import os
import re
import subprocess
import sys

# In debian:bookworm-slim already (libc, and what apt itself links).
BASE = {"libc6", "libgcc-s1", "libstdc++6"}
BUILD_TOOLS = {"build-essential", "cmake", "ninja-build", "g++", "gcc", "make",
               "protobuf-compiler", "protobuf-compiler-grpc", "pkg-config"}


def runtime_packages(dockerfile):
    """The packages the stage named "runtime" installs with apt-get."""
    with open(dockerfile) as f:
        text = f.read().replace("\\\n", " ")
    stages = re.split(r"^FROM\s+", text, flags=re.M)
    # Build arguments declared before the first FROM may name a stage's base.
    defaults = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", stages[0], flags=re.M))
    for stage in stages[1:]:
        header = re.sub(r"\$\{?(\w+)\}?", lambda m: defaults.get(m.group(1), m.group(0)),
                        stage.split("\n", 1)[0])
        if re.search(r"\bAS\s+runtime\b", header, flags=re.I):
            packages = set()
            for line in stage.splitlines():
                for install in re.findall(r"apt-get install ([^&|;]*)", line):
                    packages |= {w for w in install.split() if not w.startswith("-")}
            return header, packages
    return None, set()


def with_dependencies(packages):
    """`packages` and everything they depend on (apt installs that too), as
    dpkg knows it on this machine, where the same packages are installed."""
    closure, todo = set(), list(packages)
    while todo:
        package = todo.pop()
        if package in closure:
            continue
        closure.add(package)
        result = subprocess.run(["dpkg-query", "-W", "-f=${Depends},${Pre-Depends}", package],
                                capture_output=True, text=True)
        for alternative in re.split(r"[,|]", result.stdout):
            name = alternative.strip().split(" ")[0].split(":")[0]
            if name:
                todo.append(name)
    return closure


def candidates(path):
    # Debian bookworm has a merged /usr: ldd may say /lib where dpkg says /usr/lib.
    out = [path, os.path.realpath(path)]
    out += ["/usr" + p for p in out if p.startswith("/lib")]
    return out


def owners(paths):
    """{library path: owning package}, from one dpkg -S over every spelling."""
    spellings = sorted({c for p in paths for c in candidates(p)})
    result = subprocess.run(["dpkg", "-S"] + spellings, capture_output=True, text=True)
    owner_of = {}
    for line in result.stdout.splitlines():
        package, _, owned = line.partition(": ")
        owner_of[owned.strip()] = package.split(":")[0].strip()
    return {p: next((owner_of[c] for c in candidates(p) if c in owner_of), None) for p in paths}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dockerfile", required=True)
    parser.add_argument("--binary", action="append", required=True)
    args = parser.parse_args()

    failures, passed = [], 0
    header, installed = runtime_packages(args.dockerfile)
    if header is None:
        failures.append("no stage named runtime in " + args.dockerfile)
    elif "bookworm-slim" not in header:
        failures.append(f"the runtime stage is {header!r}, not debian:bookworm-slim")
    else:
        passed += 1
    tools = installed & BUILD_TOOLS
    if tools:
        failures.append(f"the runtime stage installs build tools: {sorted(tools)}")
    else:
        passed += 1
    available = with_dependencies(installed | BASE)
    linked = {}  # binary -> library paths
    for binary in args.binary:
        ldd = subprocess.run(["ldd", binary], capture_output=True, text=True)
        if ldd.returncode != 0:
            failures.append(f"ldd {binary}: {ldd.stderr.strip()}")
            continue
        linked[binary] = []
        for line in ldd.stdout.splitlines():
            if "not found" in line:
                failures.append(f"{os.path.basename(binary)}: {line.strip()}")
            match = re.search(r"=>\s+(/\S+)", line)
            if match:  # not the vdso or the dynamic loader
                linked[binary].append(match.group(1))
    owner = owners({p for paths in linked.values() for p in paths})
    for binary, paths in linked.items():
        name = os.path.basename(binary)
        for path in paths:
            package = owner[path]
            if package is None:
                failures.append(f"{name}: no Debian package owns {path}")
            elif package in available:
                passed += 1
            else:
                failures.append(f"{name} links {os.path.basename(path)} from {package}, which "
                                "the runtime stage does not install")
    for failure in failures:
        print("FAIL", failure)
    print(f"image: {passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
