#!/usr/bin/python3
"""A small kustomize: renders the subset of kustomize that deploy/k8s uses.

  kustomize.py <directory>     prints the rendered YAML, as `kubectl kustomize`

kubectl is not a Debian package, so the deploy check renders the overlays with
this when kubectl is missing (tests/deploy/check_manifests.py), and a test
compares the two wherever kubectl is installed. It implements, with
kustomize v5's semantics:

  resources (files and directories), components, namespace, images
  (newName, newTag, digest), configMapGenerator and secretGenerator (envs,
  literals, files; behavior create or merge; options labels, annotations,
  disableNameSuffixHash), generatorOptions, the content-hash name suffix and
  the rewriting of pod references to generated ConfigMaps and Secrets, and
  patches: JSON 6902 (add, remove, replace) and strategic merge, inline or
  from a file, with or without a target (kind, name, namespace, group,
  version), in kustomize_patches.py.

Anything else in a kustomization (a field, an option, a patch operation, a
remote resource) is an error that names it, never silently ignored.
"""

import base64
import hashlib
import json
import os
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kustomize_patches import KustomizeError, apply_patch, unknown  # noqa: E402,F401


KUSTOMIZATION_FIELDS = {
    "apiVersion", "kind", "resources", "components", "namespace", "images",
    "configMapGenerator", "secretGenerator", "generatorOptions", "patches",
}
GENERATOR_FIELDS = {"name", "namespace", "behavior", "envs", "literals", "files", "options",
                    "type"}
OPTION_FIELDS = {"labels", "annotations", "disableNameSuffixHash"}
IMAGE_FIELDS = {"name", "newName", "newTag", "digest"}

# Kinds the namespace transformer leaves alone (cluster-scoped).
CLUSTER_SCOPED = {
    "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "PersistentVolume", "StorageClass", "PriorityClass", "PodSecurityPolicy",
    "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "APIService",
    "IngressClass", "RuntimeClass", "CSIDriver", "VolumeAttachment",
}
# kustomize's legacy output order: these kinds first, in this order, then the
# rest by group/version/kind, then these last.
ORDER_FIRST = [
    "Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition", "ServiceAccount",
    "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ConfigMap",
    "Secret", "Endpoints", "Service", "LimitRange", "PriorityClass", "PersistentVolume",
    "PersistentVolumeClaim", "Deployment", "StatefulSet", "CronJob", "PodDisruptionBudget",
]
ORDER_LAST = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]


def load_documents(path):
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    for doc in docs:
        if not isinstance(doc, dict) or "kind" not in doc or "metadata" not in doc:
            raise KustomizeError(f"{path}: a document without kind and metadata")
        if doc["kind"].endswith("List"):
            raise KustomizeError(f"{path}: {doc['kind']} not implemented by this renderer")
    return docs


class Resource:
    """A rendered object, its name before any hash suffix, and generator flags."""

    def __init__(self, obj, generated=False, needs_hash=False):
        self.obj = obj
        self.original_name = obj["metadata"]["name"]
        self.generated = generated
        self.needs_hash = needs_hash

    @property
    def kind(self):
        return self.obj["kind"]

    @property
    def namespace(self):
        return self.obj["metadata"].get("namespace")


# ---- generators ---------------------------------------------------------------


def parse_pairs(lines, where):
    pairs = {}
    for line in lines:
        if "=" not in line:
            raise KustomizeError(f"{where}: {line!r} is not KEY=VALUE (values from the "
                                 "environment are not implemented)")
        key, value = line.split("=", 1)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        pairs[key.strip()] = value
    return pairs


def generator_data(directory, gen, where):
    data = {}
    for env in gen.get("envs") or []:
        with open(os.path.join(directory, env), encoding="utf-8") as f:
            lines = [l.rstrip("\n") for l in f]
        lines = [l.lstrip() for l in lines if l.strip() and not l.lstrip().startswith("#")]
        data.update(parse_pairs(lines, f"{where} env {env}"))
    for source in gen.get("files") or []:
        key, _, path = source.rpartition("=")
        with open(os.path.join(directory, path), encoding="utf-8") as f:
            data[key or os.path.basename(path)] = f.read()
    data.update(parse_pairs(gen.get("literals") or [], f"{where} literals"))
    return data


def encode_base64(value):
    """kustomize's Secret data: base64 in lines of 70, each ended by a newline
    when there is more than one."""
    encoded = base64.b64encode(value.encode()).decode()
    if len(encoded) <= 70:
        return encoded
    return "".join(encoded[i:i + 70] + "\n" for i in range(0, len(encoded), 70))


def generate(directory, kustomization, kind, gen, resources):
    where = f"{directory}: {kind} generator {gen.get('name')}"
    unknown(gen, GENERATOR_FIELDS, where)
    options = dict(kustomization.get("generatorOptions") or {})
    unknown(options, OPTION_FIELDS, f"{directory}: generatorOptions")
    unknown(gen.get("options") or {}, OPTION_FIELDS, f"{where} options")
    local = gen.get("options") or {}
    labels = dict(options.get("labels") or {}, **(local.get("labels") or {}))
    annotations = dict(options.get("annotations") or {}, **(local.get("annotations") or {}))
    hashed = not local.get("disableNameSuffixHash", options.get("disableNameSuffixHash", False))
    data = generator_data(directory, gen, where)
    if kind == "Secret":
        data = {k: encode_base64(v) for k, v in data.items()}
    behavior = gen.get("behavior", "create")
    if behavior == "merge":
        matches = [r for r in resources if r.kind == kind and r.original_name == gen["name"]
                   and gen.get("namespace") in (None, r.namespace)]
        if len(matches) != 1:
            raise KustomizeError(f"{where}: merge finds {len(matches)} {kind}s named "
                                 f"{gen['name']}, want 1")
        target = matches[0].obj
        target.setdefault("data", {}).update(data)
        meta = target["metadata"]
        for field, values in (("labels", labels), ("annotations", annotations)):
            if values:
                meta[field] = dict(meta.get(field) or {}, **values)
        matches[0].needs_hash = matches[0].needs_hash and hashed
        return
    if behavior != "create":
        raise KustomizeError(f"{where}: behavior {behavior} not implemented by this renderer")
    meta = {"name": gen["name"]}
    if gen.get("namespace"):
        meta["namespace"] = gen["namespace"]
    if labels:
        meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    obj = {"apiVersion": "v1", "kind": kind, "metadata": meta}
    if data:
        obj["data"] = data
    if kind == "Secret":
        obj["type"] = gen.get("type", "Opaque")
    elif "type" in gen:
        raise KustomizeError(f"{where}: type is for Secrets")
    resources.append(Resource(obj, generated=True, needs_hash=hashed))


def go_json(value):
    """json.Marshal's encoding: sorted keys, no spaces, <>& escaped."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


def content_hash(obj):
    """kustomize's name suffix. Its hasher looks up "metadata/name" as one
    field name, so the name it hashes is always empty: done the same here."""
    encoded = {"kind": obj["kind"], "name": "", "data": obj.get("data") or ""}
    if obj["kind"] == "Secret":
        encoded["type"] = obj.get("type", "")
        if obj.get("stringData"):
            encoded["stringData"] = obj["stringData"]
    elif obj.get("binaryData"):
        encoded["binaryData"] = obj["binaryData"]
    digest = hashlib.sha256(go_json(encoded).encode()).hexdigest()
    return digest[:10].translate(str.maketrans("013ae", "ghkmt"))


# ---- transformers ---------------------------------------------------------------


def set_namespace(namespace, resources, where):
    for resource in resources:
        meta = resource.obj["metadata"]
        if resource.kind in ("RoleBinding", "ClusterRoleBinding"):
            raise KustomizeError(f"{where}: namespace on {resource.kind} subjects not implemented")
        if resource.kind == "Namespace":
            if meta["name"] != namespace:
                raise KustomizeError(f"{where}: renaming Namespace {meta['name']} to {namespace} "
                                     "not implemented by this renderer")
        elif resource.kind not in CLUSTER_SCOPED:
            meta["namespace"] = namespace


def split_image(image):
    if "@" in image:
        name, digest = image.split("@", 1)
        return name, "@" + digest
    head, _, last = image.rpartition("/")
    if ":" in last:
        last, tag = last.split(":", 1)
        return (head + "/" if head else "") + last, ":" + tag
    return image, ""


def set_images(images, node, where):
    if isinstance(node, list):
        for item in node:
            set_images(images, item, where)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in ("containers", "initContainers") and isinstance(value, list):
            for container in value:
                if not isinstance(container, dict) or "image" not in container:
                    continue
                name, suffix = split_image(container["image"])
                for image in images:
                    if image["name"] != name:
                        continue
                    new_name = image.get("newName", name)
                    if "digest" in image:
                        suffix = "@" + image["digest"]
                    elif "newTag" in image:
                        suffix = ":" + str(image["newTag"])
                    container["image"] = new_name + suffix
        else:
            set_images(images, value, where)


def pod_specs(obj):
    spec = obj.get("spec") or {}
    if obj["kind"] == "Pod":
        return [spec]
    if obj["kind"] == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec") or {})
    template = (spec.get("template") or {}).get("spec")
    return [template] if template else []


def references(pod):
    """(kind, dict, field) of every name in a pod spec that names a ConfigMap or Secret."""
    refs = []
    for group in ("containers", "initContainers", "ephemeralContainers"):
        for container in pod.get(group) or []:
            for source in container.get("envFrom") or []:
                for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                    if field in source:
                        refs.append((kind, source[field], "name"))
            for var in container.get("env") or []:
                value_from = var.get("valueFrom") or {}
                for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                    if field in value_from:
                        refs.append((kind, value_from[field], "name"))
    for volume in pod.get("volumes") or []:
        if "configMap" in volume:
            refs.append(("ConfigMap", volume["configMap"], "name"))
        if "secret" in volume:
            refs.append(("Secret", volume["secret"], "secretName"))
        for source in (volume.get("projected") or {}).get("sources") or []:
            for field, kind in (("configMap", "ConfigMap"), ("secret", "Secret")):
                if field in source:
                    refs.append((kind, source[field], "name"))
    for secret in pod.get("imagePullSecrets") or []:
        refs.append(("Secret", secret, "name"))
    return refs


def add_hashes(resources):
    renamed = {}
    for resource in resources:
        if resource.needs_hash:
            meta = resource.obj["metadata"]
            meta["name"] = f"{resource.original_name}-{content_hash(resource.obj)}"
            renamed[(resource.kind, resource.namespace, resource.original_name)] = meta["name"]
    for resource in resources:
        for pod in pod_specs(resource.obj):
            for kind, holder, field in references(pod):
                key = (kind, resource.namespace, holder.get(field))
                if key in renamed:
                    holder[field] = renamed[key]


# ---- kustomizations -------------------------------------------------------------


def read_kustomization(directory):
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                kustomization = yaml.safe_load(f) or {}
            unknown(kustomization, KUSTOMIZATION_FIELDS, path)
            return kustomization
    raise KustomizeError(f"{directory}: no kustomization.yaml")


def accumulate(directory, resources, component=False):
    """Adds what `directory` renders to `resources` (a component also
    transforms what is there already); returns the list."""
    kustomization = read_kustomization(directory)
    kind = kustomization.get("kind", "Component" if component else "Kustomization")
    if kind != ("Component" if component else "Kustomization"):
        raise KustomizeError(f"{directory}: kind {kind} where a "
                             f"{'Component' if component else 'Kustomization'} is expected")
    own = resources if component else []
    for entry in kustomization.get("resources") or []:
        if "://" in entry or entry.startswith("git@") or entry.startswith("github.com/"):
            raise KustomizeError(f"{directory}: remote resource {entry} not implemented")
        path = os.path.normpath(os.path.join(directory, entry))
        if os.path.isdir(path):
            own.extend(accumulate(path, []))
        else:
            own.extend(Resource(doc) for doc in load_documents(path))
    for entry in kustomization.get("components") or []:
        accumulate(os.path.normpath(os.path.join(directory, entry)), own, component=True)
    for field, generated in (("configMapGenerator", "ConfigMap"), ("secretGenerator", "Secret")):
        for gen in kustomization.get(field) or []:
            generate(directory, kustomization, generated, gen, own)
    for entry in kustomization.get("patches") or []:
        apply_patch(directory, entry, own)
    if "namespace" in kustomization:
        set_namespace(kustomization["namespace"], own, directory)
    images = kustomization.get("images") or []
    for image in images:
        unknown(image, IMAGE_FIELDS, f"{directory}: image {image.get('name')}")
    if images:
        set_images(images, [r.obj for r in own], directory)
    ids = [(r.kind, r.namespace, r.obj["metadata"]["name"]) for r in own]
    duplicates = sorted({i for i in ids if ids.count(i) > 1}, key=str)
    if duplicates:
        raise KustomizeError(f"{directory}: more than one resource with id {duplicates[0]}")
    return own


def sort_key(resource):
    kind = resource.kind
    if kind in ORDER_FIRST:
        order = ORDER_FIRST.index(kind) - len(ORDER_FIRST)
    elif kind in ORDER_LAST:
        order = 1 + ORDER_LAST.index(kind)
    else:
        order = 0
    group, _, version = resource.obj.get("apiVersion", "").rpartition("/")
    gvk = f"{group or '~G'}_{version}_{kind}"
    return (order, gvk, resource.namespace or "", resource.obj["metadata"]["name"])


def render(directory):
    """The objects `kubectl kustomize directory` prints, in its order."""
    resources = accumulate(os.path.normpath(directory), [])
    add_hashes(resources)
    return [r.obj for r in sorted(resources, key=sort_key)]


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    try:
        docs = render(argv[1])
    except (KustomizeError, OSError, yaml.YAMLError) as e:
        print(f"kustomize.py: {e}", file=sys.stderr)
        return 1
    sys.stdout.write(yaml.safe_dump_all(docs, sort_keys=True, default_flow_style=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
