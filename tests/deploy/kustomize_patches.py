#!/usr/bin/python3
"""The patches of tests/deploy/kustomize.py, with kustomize v5's semantics:
JSON 6902 (add, remove, replace) and strategic merge (maps merged, null
deletes, the PodSpec's keyed lists merged by key, other lists replaced),
inline or from a file, with or without a target (kind, name, namespace,
group, version: anchored regular expressions). Anything else is a
KustomizeError naming it.
"""

import copy
import os
import re

import yaml


class KustomizeError(Exception):
    pass


def unknown(fields, allowed, where):
    extra = sorted(set(fields) - allowed)
    if extra:
        raise KustomizeError(f"{where}: {', '.join(extra)} not implemented by this renderer")


PATCH_FIELDS = {"path", "patch", "target"}
TARGET_FIELDS = {"kind", "name", "namespace", "group", "version"}
# Strategic merge: lists merged by a key rather than replaced (core/v1 PodSpec).
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "volumes": "name", "env": "name", "volumeMounts": "mountPath", "ports": "containerPort",
    "imagePullSecrets": "name", "volumeClaimTemplates": None,
}


def merge_key(field, items):
    if field == "ports":
        return "containerPort" if all("containerPort" in i for i in items) else "port"
    return MERGE_KEYS.get(field)


def strategic_merge(target, patch, where):
    """Merges `patch` into the dict `target` (null deletes; keyed lists merge)."""
    for key, value in patch.items():
        if key.startswith("$"):
            raise KustomizeError(f"{where}: directive {key} not implemented by this renderer")
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            strategic_merge(target[key], value, where)
        elif (isinstance(value, list) and isinstance(target.get(key), list)
              and all(isinstance(i, dict) for i in value + target[key])
              and merge_key(key, value + target[key])):
            field = merge_key(key, value + target[key])
            for item in value:
                match = next((t for t in target[key] if t.get(field) == item.get(field)), None)
                if match is None:
                    target[key].append(copy.deepcopy(item))
                else:
                    strategic_merge(match, item, where)
        else:
            target[key] = copy.deepcopy(value)


def pointer(path, where):
    if not path.startswith("/"):
        raise KustomizeError(f"{where}: path {path!r} is not a JSON pointer")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def json_patch(obj, ops, where):
    for op in ops:
        kind = op.get("op")
        if kind not in ("add", "remove", "replace"):
            raise KustomizeError(f"{where}: op {kind!r} not implemented by this renderer")
        *parents, last = pointer(op.get("path", ""), where)
        node = obj
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.get(part)
            if node is None:
                raise KustomizeError(f"{where}: {op['path']} does not exist")
        if isinstance(node, list):
            index = len(node) if last == "-" else int(last)
            if kind == "add":
                node.insert(index, copy.deepcopy(op["value"]))
            elif index >= len(node):
                raise KustomizeError(f"{where}: {op['path']} does not exist")
            elif kind == "remove":
                del node[index]
            else:
                node[index] = copy.deepcopy(op["value"])
        else:
            if kind != "add" and last not in node:
                raise KustomizeError(f"{where}: {op['path']} does not exist")
            if kind == "remove":
                del node[last]
            else:
                node[last] = copy.deepcopy(op["value"])


def selected(resource, target):
    api = resource.obj.get("apiVersion", "")
    group, _, version = api.rpartition("/")
    values = {"kind": resource.kind, "name": resource.obj["metadata"]["name"],
              "namespace": resource.namespace or "", "group": group, "version": version}
    return all(re.fullmatch(str(pattern), values[field]) for field, pattern in target.items())


def apply_patch(directory, entry, resources):
    unknown(entry, PATCH_FIELDS, f"{directory}: patch")
    if ("path" in entry) == ("patch" in entry):
        raise KustomizeError(f"{directory}: a patch needs exactly one of path and patch")
    where = f"{directory}: patch {entry.get('path', '(inline)')}"
    if "path" in entry:
        with open(os.path.join(directory, entry["path"]), encoding="utf-8") as f:
            text = f.read()
    else:
        text = entry["patch"]
    target = entry.get("target")
    if target is not None:
        unknown(target, TARGET_FIELDS, f"{where} target")
    docs = [d for d in yaml.safe_load_all(text) if d is not None]
    if len(docs) == 1 and isinstance(docs[0], list):
        if target is None:
            raise KustomizeError(f"{where}: a JSON 6902 patch needs a target")
        matches = [r for r in resources if selected(r, target)]
        if not matches:
            raise KustomizeError(f"{where}: the target selects nothing")
        for resource in matches:
            json_patch(resource.obj, docs[0], where)
        return
    for doc in docs:
        if not isinstance(doc, dict):
            raise KustomizeError(f"{where}: neither a JSON 6902 nor a strategic merge patch")
        if target is None:
            own = {"kind": doc.get("kind", ""), "name": (doc.get("metadata") or {}).get("name", "")}
            matches = [r for r in resources
                       if r.kind == own["kind"] and r.obj["metadata"]["name"] == own["name"]
                       and r.obj.get("apiVersion") == doc.get("apiVersion")]
            if len(matches) != 1:
                raise KustomizeError(f"{where}: {len(matches)} targets for {own['kind']} "
                                     f"{own['name']}, want 1")
        else:
            matches = [r for r in resources if selected(r, target)]
        for resource in matches:
            body = {k: v for k, v in doc.items() if k not in ("apiVersion", "kind", "metadata")}
            meta = {k: v for k, v in (doc.get("metadata") or {}).items()
                    if k not in ("name", "namespace")}
            strategic_merge(resource.obj, dict(body, metadata=meta) if meta else body, where)
