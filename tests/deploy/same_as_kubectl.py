#!/usr/bin/python3
"""Checks that tests/deploy/kustomize.py renders every overlay under
deploy/k8s/overlays exactly as `kubectl kustomize` does: the same objects, in
the same order, compared as parsed YAML.

  same_as_kubectl.py --root <repo> [--kubectl kubectl]

Exits 0 when they agree, 1 when they differ (printing a diff), and 77 (CTest's
SKIP_RETURN_CODE) when there is no kubectl to compare with.
"""

import argparse
import difflib
import os
import shutil
import subprocess
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kustomize  # noqa: E402

SKIPPED = 77


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True)
    parser.add_argument("--kubectl", default="kubectl")
    args = parser.parse_args()
    kubectl = shutil.which(args.kubectl)
    if kubectl is None:
        print(f"SKIPPED: {args.kubectl} is not installed (not a Debian package), so there is "
              "nothing to compare the built-in renderer with")
        return SKIPPED

    overlays_dir = os.path.join(args.root, "deploy", "k8s", "overlays")
    failed = False
    overlays = sorted(os.listdir(overlays_dir))
    for overlay in overlays:
        directory = os.path.join(overlays_dir, overlay)
        result = subprocess.run([kubectl, "kustomize", directory], capture_output=True, text=True)
        if result.returncode != 0:
            print(f"FAIL {overlay}: kubectl kustomize failed: {result.stderr.strip()}")
            failed = True
            continue
        want = [d for d in yaml.safe_load_all(result.stdout) if d]
        try:
            got = kustomize.render(directory)
        except kustomize.KustomizeError as e:
            print(f"FAIL {overlay}: the built-in renderer failed: {e}")
            failed = True
            continue
        if want == got:
            print(f"ok {overlay}: {len(got)} objects, the same as kubectl kustomize")
            continue
        failed = True
        print(f"FAIL {overlay}: the built-in renderer differs from kubectl kustomize:")
        diff = difflib.unified_diff(
            yaml.safe_dump_all(want, sort_keys=True).splitlines(),
            yaml.safe_dump_all(got, sort_keys=True).splitlines(),
            "kubectl kustomize", "tests/deploy/kustomize.py", lineterm="")
        print("\n".join(diff))
    if not overlays:
        print("FAIL: no overlays")
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
