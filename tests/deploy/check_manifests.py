#!/usr/bin/python3
"""Checks Liaison's deployment files against what DESIGN.md asks of them.

  check_manifests.py [--kubectl kubectl] --promtool promtool --root <repo>

Renders every overlay under deploy/k8s/overlays with `kubectl kustomize`, or,
where kubectl is not installed (it is not a Debian package), with the
built-in renderer tests/deploy/kustomize.py (same_as_kubectl.py holds the two
equal wherever kubectl exists), and checks each StatefulSet (probes,
resources, security context, volumes, grace period, PDB, Services, scrape
annotations, config, and mTLS where an overlay turns it on: the files from
read-only Secrets, probes on the health-only port), the overlay-specific rules
(dev: one small replica; prod: anti-affinity, pinned images), and the
NetworkPolicies as a whole: from the rendered policies it computes which
service may open a connection to which (caller -> callee, port) and compares
that with DESIGN.md §2's call graph, both ways. Then runs promtool on
deploy/prometheus. Prints every failure and exits 1 if there was one.
"""

import argparse
import json
import os
import re
import subprocess
import sys

import shutil

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kustomize  # noqa: E402

# DESIGN.md §2: gRPC and metrics port of each service, and whom it calls.
PORTS = {
    "identity": (50051, 9101),
    "messaging": (50052, 9102),
    "credits": (50053, 9103),
    "privacy": (50054, 9104),
}
CALLS = {
    "privacy": set(),
    "identity": {"privacy"},
    "credits": {"identity"},
    "messaging": {"identity", "privacy", "credits"},
}
NAMESPACE = "liaison"
UID = 10001
DEFAULT_SHUTDOWN_GRACE = 10.0  # --shutdown-grace-seconds (common/config.h)
# Time after the drain for flushing memtables and closing RocksDB.
MIN_CLOSE_SECONDS = 5
# Pods outside Liaison that the policies are judged against.
PROMETHEUS_LABELS = {"app.kubernetes.io/name": "prometheus"}
API_CLIENT_LABELS = {"liaison/api-client": "true"}
REQUIRED_OVERLAYS = {"dev", "prod"}


class Checker:
    def __init__(self):
        self.failures = []
        self.passed = 0
        self.context = ""

    def check(self, condition, message):
        if condition:
            self.passed += 1
        else:
            self.failures.append(f"{self.context}: {message}" if self.context else message)
        return condition


# ---- Kubernetes semantics the checks need ---------------------------------


def parse_quantity(value):
    """A resource quantity ("250m", "1", "512Mi", "3Gi") as a float."""
    text = str(value)
    suffixes = {
        "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
        "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
    }
    match = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", text)
    if not match or (match.group(2) and match.group(2) not in suffixes):
        raise ValueError(f"cannot parse quantity {text!r}")
    return float(match.group(1)) * suffixes.get(match.group(2), 1)


def selector_matches(selector, labels):
    """Whether a LabelSelector selects `labels`. None selects nothing; {} all."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


class Pod:
    """A pod the policies are evaluated for: labels, namespace, named ports."""

    def __init__(self, name, namespace, labels, ports=None):
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.ports = ports or {}  # port name -> (number, protocol)


class Network:
    """NetworkPolicy semantics (networking.k8s.io/v1) over a fixed set of pods."""

    def __init__(self, policies, namespace_labels):
        self.policies = policies
        self.namespace_labels = namespace_labels

    def _types(self, policy):
        spec = policy["spec"]
        types = spec.get("policyTypes")
        if types is None:
            types = ["Ingress"] + (["Egress"] if "egress" in spec else [])
        return types

    def _selecting(self, pod, direction):
        return [
            p for p in self.policies
            if p["metadata"].get("namespace") == pod.namespace
            and direction in self._types(p)
            and selector_matches(p["spec"].get("podSelector", {}), pod.labels)
        ]

    def _peer_matches(self, peer, policy_namespace, pod):
        if "ipBlock" in peer:
            # Pod IPs can fall in a CIDR: count it as reaching every pod, so an
            # ipBlock rule can never hide an edge from this check.
            return True
        ns_selector = peer.get("namespaceSelector")
        pod_selector = peer.get("podSelector")
        if ns_selector is None:
            in_namespace = pod.namespace == policy_namespace
        else:
            namespace_labels = self.namespace_labels.get(pod.namespace, {})
            in_namespace = selector_matches(ns_selector, namespace_labels)
        if not in_namespace:
            return False
        return pod_selector is None or selector_matches(pod_selector, pod.labels)

    @staticmethod
    def _port_matches(rule_ports, port, protocol, destination):
        if not rule_ports:
            return True
        for rule_port in rule_ports:
            if rule_port.get("protocol", "TCP") != protocol:
                continue
            number = rule_port.get("port")
            if number is None:
                return True
            if isinstance(number, str):
                named = destination.ports.get(number)
                if named and named == (port, protocol):
                    return True
                continue
            end = rule_port.get("endPort", number)
            if number <= port <= end:
                return True
        return False

    def _allows(self, subject, peer_pod, port, protocol, destination, direction):
        policies = self._selecting(subject, direction)
        if not policies:
            return True  # Not isolated in this direction.
        key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        for policy in policies:
            for rule in policy["spec"].get(key) or []:
                peers = rule.get(peers_key)
                if peers and not any(
                    self._peer_matches(peer, policy["metadata"]["namespace"], peer_pod)
                    for peer in peers
                ):
                    continue
                if self._port_matches(rule.get("ports"), port, protocol, destination):
                    return True
        return False

    def ingress_allowed(self, source, destination, port, protocol="TCP"):
        return self._allows(destination, source, port, protocol, destination, "Ingress")

    def egress_allowed(self, source, destination, port, protocol="TCP"):
        return self._allows(source, destination, port, protocol, destination, "Egress")

    def connection_allowed(self, source, destination, port, protocol="TCP"):
        return (self.egress_allowed(source, destination, port, protocol)
                and self.ingress_allowed(source, destination, port, protocol))


# ---- rendering ------------------------------------------------------------


def render(c, kubectl, directory):
    if kubectl is None:
        try:
            return kustomize.render(directory)
        except kustomize.KustomizeError as e:
            c.check(False, f"the built-in kustomize failed: {e}")
            return []
    result = subprocess.run([kubectl, "kustomize", directory], capture_output=True, text=True)
    if not c.check(result.returncode == 0, f"kubectl kustomize failed: {result.stderr.strip()}"):
        return []
    c.check(result.stderr.strip() == "", f"kubectl kustomize warned: {result.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def by_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


# ---- per-StatefulSet checks -------------------------------------------------


def container_env(c, docs, container):
    """The container's environment: its ConfigMaps, then its own env."""
    env = {}
    configmaps = {d["metadata"]["name"]: d for d in by_kind(docs, "ConfigMap")}
    for source in container.get("envFrom") or []:
        ref = source.get("configMapRef")
        if ref is None:
            continue
        c.check(ref["name"] in configmaps, f"envFrom ConfigMap {ref['name']} is not rendered")
        env.update((configmaps.get(ref["name"]) or {}).get("data") or {})
    for var in container.get("env") or []:
        if "value" in var:
            env[var["name"]] = var["value"]
    return env


TLS_VARIABLES = ("LIAISON_TLS_CERT_FILE", "LIAISON_TLS_KEY_FILE", "LIAISON_TLS_CA_FILE")


def check_mtls(c, name, env, container, pod, docs):
    """mTLS (components/mtls): all three files or none, each from a Secret
    mounted read-only, and a health-only port for the probes. Returns the
    port the probes must use."""
    grpc_port, metrics_port = PORTS[name]
    files = [env.get(variable, "") for variable in TLS_VARIABLES]
    if not any(files):
        return grpc_port
    if not c.check(all(files), f"sets only some of {', '.join(TLS_VARIABLES)} "
                   "(the service refuses to start)"):
        return grpc_port
    mounts = {m["mountPath"].rstrip("/"): m for m in container.get("volumeMounts") or []}
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    rendered = {d["metadata"]["name"] for d in by_kind(docs, "Secret")}
    for variable, path in zip(TLS_VARIABLES, files):
        mount = next((m for p, m in mounts.items() if path.startswith(p + "/")), None)
        if not c.check(mount is not None, f"nothing is mounted above {variable} {path!r}"):
            continue
        c.check(mount.get("readOnly") is True, f"{variable} is not mounted read-only")
        c.check("subPath" not in mount, f"{variable} uses subPath (it would never update)")
        secret = (volumes.get(mount["name"]) or {}).get("secret") or {}
        c.check(secret.get("secretName") is not None, f"{variable} is not from a Secret")
        c.check(secret.get("optional") is not True, f"the Secret of {variable} is optional")
        # Created by the operator (exactly <service>-tls) or rendered.
        c.check(secret.get("secretName") in rendered | {f"{name}-tls"},
                f"{variable} comes from Secret {secret.get('secretName')!r}, neither rendered "
                f"nor {name}-tls")
        items = {i["path"]: i["key"] for i in secret.get("items") or []}
        relative = path[len(mount["mountPath"].rstrip("/")) + 1:]
        c.check(not items or relative in items,
                f"{variable} {path!r} is not among the Secret's items {sorted(items)}")
    health = env.get("LIAISON_HEALTH_PORT", "")
    if not c.check(health.isdigit() and 0 < int(health) < 65536,
                   f"mTLS without LIAISON_HEALTH_PORT (got {health!r}): the kubelet's gRPC "
                   "probes cannot present a client certificate"):
        return grpc_port
    health = int(health)
    c.check(health not in (grpc_port, metrics_port),
            f"LIAISON_HEALTH_PORT {health} is the gRPC or metrics port")
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports") or []}
    c.check(ports.get("health") == health,
            f"container port health is {ports.get('health')}, want {health}")
    return health


def check_shard_map(c, docs, env, container, pod):
    """The shard map LIAISON_SHARD_MAP names, from the ConfigMap mounted
    above it (None without one)."""
    path = env.get("LIAISON_SHARD_MAP")
    if not path:
        return None
    mounts = [m for m in container.get("volumeMounts") or []
              if path.startswith(m["mountPath"].rstrip("/") + "/")]
    if not c.check(mounts, f"nothing is mounted above LIAISON_SHARD_MAP {path}"):
        return None
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    source = (volumes.get(mounts[0]["name"]) or {}).get("configMap") or {}
    configmaps = {d["metadata"]["name"]: d for d in by_kind(docs, "ConfigMap")}
    data = (configmaps.get(source.get("name")) or {}).get("data") or {}
    key = path[len(mounts[0]["mountPath"].rstrip("/")) + 1:]
    if not c.check(key in data, f"ConfigMap {source.get('name')} has no {key}"):
        return None
    try:
        shard_map = json.loads(data[key])
    except ValueError as e:
        c.check(False, f"the shard map is not JSON: {e}")
        return None
    c.check(isinstance(shard_map.get("epoch"), int) and shard_map["epoch"] >= 1,
            "the shard map's epoch is not a whole number of at least 1")
    return shard_map


def check_statefulset(c, overlay, docs, sts):
    name = sts["metadata"]["name"]
    c.context = f"{overlay}/{name}"
    spec = sts["spec"]
    template = spec["template"]
    pod = template["spec"]
    labels = template["metadata"].get("labels") or {}
    grpc_port, metrics_port = PORTS[name]

    c.check(sts["metadata"].get("namespace") == NAMESPACE, f"not in namespace {NAMESPACE}")
    c.check(selector_matches(spec["selector"], labels), "selector does not select its own pods")
    for key in ("app.kubernetes.io/name", "app.kubernetes.io/component"):
        c.check(key in labels, f"pod template lacks label {key}")
    c.check(labels.get("app.kubernetes.io/part-of") == "liaison",
            "pod template lacks app.kubernetes.io/part-of: liaison")

    containers = pod.get("containers") or []
    if not c.check(len(containers) == 1, f"expected 1 container, found {len(containers)}"):
        return
    container = containers[0]
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports") or []}
    c.check(ports.get("grpc") == grpc_port,
            f"container port grpc is {ports.get('grpc')}, want {grpc_port}")
    c.check(ports.get("metrics") == metrics_port,
            f"container port metrics is {ports.get('metrics')}, want {metrics_port}")

    # Config: ports, data dir, key, and the addresses of exactly what it calls.
    env = container_env(c, docs, container)
    # --clock-offset is for tests only: a deployment runs on real time.
    c.check(env.get("LIAISON_CLOCK_OFFSET", "0") == "0",
            f"sets LIAISON_CLOCK_OFFSET={env.get('LIAISON_CLOCK_OFFSET')}, a test-only flag")
    c.check(env.get("LIAISON_GRPC_PORT") == str(grpc_port),
            f"LIAISON_GRPC_PORT is {env.get('LIAISON_GRPC_PORT')}, want {grpc_port}")
    c.check(env.get("LIAISON_METRICS_PORT") == str(metrics_port),
            f"LIAISON_METRICS_PORT is {env.get('LIAISON_METRICS_PORT')}, want {metrics_port}")
    services = {d["metadata"]["name"]: d for d in by_kind(docs, "Service")}
    # One RocksDB per pod: a pod is a shard (DESIGN.md §8). Replicas are the
    # shards the map gives the service, or 1 where it names none (a second
    # replica would be a second, independent store behind the same Service).
    shard_map = check_shard_map(c, docs, env, container, pod)
    shards = [s for s in (shard_map or {}).get("shards") or [] if name in s]
    c.check(spec.get("replicas", 1) == max(1, len(shards)),
            f"replicas is {spec.get('replicas')}; the shard map gives {name} "
            f"{max(1, len(shards))} shard(s)")
    if shards:
        c.check(env.get("LIAISON_SHARD_INDEX_FROM_HOSTNAME") == "true",
                "a sharded service must take its shard index from its pod's name "
                "(LIAISON_SHARD_INDEX_FROM_HOSTNAME=true)")
        headless = sts["spec"].get("serviceName")
        c.check((services.get(headless) or {}).get("spec", {}).get("clusterIP") == "None",
                f"the governing Service {headless} is not headless")
        for i, shard in enumerate(shards):
            want = f"{name}-{i}.{headless}.{NAMESPACE}.svc.cluster.local:{grpc_port}"
            c.check(shard[name] == want,
                    f"the shard map puts shard {i} at {shard[name]}, not its pod {want}")
    for callee in PORTS:
        variable = f"LIAISON_{callee.upper()}_ADDRESS"
        if callee in CALLS[name]:
            want = f"{callee}:{PORTS[callee][0]}"
            c.check(env.get(variable) == want, f"{variable} is {env.get(variable)}, want {want}")
            c.check(callee in services, f"calls {callee}, but no Service {callee} is rendered")
        else:
            c.check(variable not in env, f"sets {variable} but does not call {callee}")

    # Probes: native gRPC on the gRPC port, or under mTLS on the plaintext
    # health-only port (the kubelet's gRPC probes present no certificate).
    probe_port = check_mtls(c, name, env, container, pod, docs)
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        port = ((container.get(probe) or {}).get("grpc") or {}).get("port")
        c.check(port == probe_port,
                f"{probe} is not a gRPC probe on port {probe_port} (got {port})")

    # Resources.
    resources = container.get("resources") or {}
    for kind in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            c.check(resource in (resources.get(kind) or {}), f"no {kind}.{resource}")
    try:
        for resource in ("cpu", "memory"):
            request = resources.get("requests", {}).get(resource)
            limit = resources.get("limits", {}).get(resource)
            if request is not None and limit is not None:
                c.check(parse_quantity(request) <= parse_quantity(limit),
                        f"{resource} request {request} exceeds its limit {limit}")
        limit = resources.get("limits", {}).get("memory")
        cache_mb = int(env.get("LIAISON_BLOCK_CACHE_MB", "64"))
        if limit is not None:
            c.check(parse_quantity(limit) >= (cache_mb + 256) * 2**20,
                    f"memory limit {limit} leaves less than 256Mi beside a {cache_mb} MiB "
                    "block cache")
    except ValueError as error:
        c.check(False, str(error))

    # Pod Security "restricted", with the image's user.
    psc = pod.get("securityContext") or {}
    c.check(psc.get("runAsNonRoot") is True, "pod securityContext.runAsNonRoot is not true")
    for field in ("runAsUser", "runAsGroup", "fsGroup"):
        c.check(psc.get(field) == UID,
                f"pod securityContext.{field} is {psc.get(field)}, want {UID}")
    c.check((psc.get("seccompProfile") or {}).get("type") == "RuntimeDefault",
            "pod seccompProfile is not RuntimeDefault")
    csc = container.get("securityContext") or {}
    c.check(csc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation is not false")
    c.check(csc.get("privileged") is not True, "container is privileged")
    c.check(csc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem is not true")
    caps = csc.get("capabilities") or {}
    c.check("ALL" in (caps.get("drop") or []), "capabilities do not drop ALL")
    c.check(not caps.get("add"), f"capabilities add {caps.get('add')}")
    c.check(pod.get("automountServiceAccountToken") is False,
            "automountServiceAccountToken is not false (the service never calls the API)")

    # Volumes: a PVC at the data dir, an emptyDir at /tmp, the key read-only.
    mounts = {m["mountPath"].rstrip("/"): m for m in container.get("volumeMounts") or []}
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    claims = {t["metadata"]["name"]: t for t in spec.get("volumeClaimTemplates") or []}
    data_dir = env.get("LIAISON_DATA_DIR", "").rstrip("/")
    c.check(data_dir != "", "LIAISON_DATA_DIR is not set")
    data_mount = mounts.get(data_dir)
    if c.check(data_mount is not None, f"nothing is mounted at the data dir {data_dir}"):
        c.check(data_mount["name"] in claims,
                f"the data dir {data_dir} is not a volumeClaimTemplate "
                f"(mounted: {data_mount['name']})")
        c.check(not data_mount.get("readOnly"), "the data dir is mounted read-only")
        claim = claims.get(data_mount["name"]) or {}
        claim_spec = claim.get("spec") or {}
        storage = (claim_spec.get("resources") or {}).get("requests", {}).get("storage")
        c.check(storage is not None, "the data volumeClaimTemplate requests no storage")
        c.check("ReadWriteOnce" in (claim_spec.get("accessModes") or []),
                "the data volumeClaimTemplate is not ReadWriteOnce")
    tmp = mounts.get("/tmp")
    if c.check(tmp is not None, "nothing is mounted at /tmp"):
        c.check("emptyDir" in (volumes.get(tmp["name"]) or {}), "/tmp is not an emptyDir")
        c.check(not tmp.get("readOnly"), "/tmp is mounted read-only")

    key_file = env.get("LIAISON_SIGNING_KEY_FILE", "")
    key_mount = next((m for path, m in mounts.items() if key_file.startswith(path + "/")), None)
    if c.check(key_mount is not None,
               f"nothing is mounted above LIAISON_SIGNING_KEY_FILE {key_file!r}"):
        c.check(key_mount.get("readOnly") is True, "the signing key is not mounted read-only")
        c.check("subPath" not in key_mount, "the signing key uses subPath (it would never update)")
        secret = (volumes.get(key_mount["name"]) or {}).get("secret") or {}
        secret_name = secret.get("secretName", "")
        rendered = {d["metadata"]["name"] for d in by_kind(docs, "Secret")}
        # Generated (dev, with a hash suffix) or created by the operator (prod,
        # exactly liaison-signing-key).
        c.check(secret_name in rendered or secret_name == "liaison-signing-key",
                f"the signing key volume names Secret {secret_name!r}, neither rendered nor "
                "liaison-signing-key")
        c.check(secret.get("optional") is not True, "the signing key Secret is optional")

    # Shutdown: the kubelet must not SIGKILL before drain + store close.
    grace = float(env.get("LIAISON_SHUTDOWN_GRACE_SECONDS", DEFAULT_SHUTDOWN_GRACE))
    termination = pod.get("terminationGracePeriodSeconds", 30)
    c.check(termination >= grace + MIN_CLOSE_SECONDS,
            f"terminationGracePeriodSeconds {termination} leaves less than {MIN_CLOSE_SECONDS} s "
            f"after the {grace:g} s drain (LIAISON_SHUTDOWN_GRACE_SECONDS)")

    # Scraping.
    annotations = template["metadata"].get("annotations") or {}
    c.check(annotations.get("prometheus.io/scrape") == "true", "no prometheus.io/scrape: \"true\"")
    c.check(annotations.get("prometheus.io/port") == str(metrics_port),
            f"prometheus.io/port is {annotations.get('prometheus.io/port')}, want {metrics_port}")
    c.check(annotations.get("prometheus.io/path") == "/metrics",
            "prometheus.io/path is not /metrics")

    # Exactly one PDB (the eviction API refuses pods that two PDBs select).
    pdbs = [p for p in by_kind(docs, "PodDisruptionBudget")
            if p["metadata"].get("namespace") == NAMESPACE
            and selector_matches(p["spec"].get("selector"), labels)]
    c.check(len(pdbs) == 1, f"{len(pdbs)} PodDisruptionBudgets select it, want 1")
    for pdb in pdbs:
        c.check(("minAvailable" in pdb["spec"]) != ("maxUnavailable" in pdb["spec"]),
                "the PDB sets neither or both of minAvailable and maxUnavailable")

    # Services: a ClusterIP one with both ports, and the headless one it is
    # governed by.
    selecting = [s for s in by_kind(docs, "Service")
                 if s["metadata"].get("namespace") == NAMESPACE
                 and s["spec"].get("selector")
                 and selector_matches({"matchLabels": s["spec"]["selector"]}, labels)]

    def target_ports(service):
        result = set()
        for port in service["spec"].get("ports") or []:
            target = port.get("targetPort", port["port"])
            result.add(ports.get(target) if isinstance(target, str) else target)
        return result

    cluster_ip = [s for s in selecting if s["spec"].get("clusterIP") != "None"]
    headless = [s for s in selecting if s["spec"].get("clusterIP") == "None"]
    c.check(any(s["metadata"]["name"] == name and {grpc_port, metrics_port} <= target_ports(s)
                for s in cluster_ip),
            f"no ClusterIP Service {name} selecting it on ports {grpc_port} and {metrics_port}")
    c.check(any(s["metadata"]["name"] == spec.get("serviceName") for s in headless),
            f"serviceName {spec.get('serviceName')} is not a headless Service selecting it")


def check_overlay_rules(c, overlay, statefulsets):
    for sts in statefulsets:
        name = sts["metadata"]["name"]
        c.context = f"{overlay}/{name}"
        pod = sts["spec"]["template"]["spec"]
        labels = sts["spec"]["template"]["metadata"].get("labels") or {}
        image = pod["containers"][0].get("image", "")
        if overlay == "dev":
            c.check(sts["spec"].get("replicas") == 1, "dev must run 1 replica")
        if overlay == "prod" or overlay.startswith("prod-"):
            tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
            c.check("@sha256:" in image or (tag and tag != "latest"),
                    f"image {image} is not pinned to a tag or digest")
            terms = ((pod.get("affinity") or {}).get("podAntiAffinity") or {})
            hostname_terms = [
                t for t in terms.get("requiredDuringSchedulingIgnoredDuringExecution") or []
            ] + [
                t["podAffinityTerm"]
                for t in terms.get("preferredDuringSchedulingIgnoredDuringExecution") or []
            ]
            c.check(any(t.get("topologyKey") == "kubernetes.io/hostname"
                        and selector_matches(t.get("labelSelector"), labels)
                        for t in hostname_terms),
                    "no podAntiAffinity across kubernetes.io/hostname that selects its own pods")


# ---- NetworkPolicies ---------------------------------------------------------


def check_network_policies(c, overlay, docs, statefulsets):
    c.context = f"{overlay}/NetworkPolicy"
    policies = by_kind(docs, "NetworkPolicy")
    if not c.check(policies, "no NetworkPolicies rendered (include components/network-policy)"):
        return
    c.check(any(p["metadata"].get("namespace") == NAMESPACE
                and p["spec"].get("podSelector") == {}
                and {"Ingress", "Egress"} <= set(p["spec"].get("policyTypes") or [])
                and not p["spec"].get("ingress") and not p["spec"].get("egress")
                for p in policies),
            "no default-deny policy (podSelector {}, policyTypes Ingress and Egress, no rules)")

    namespaces = {d["metadata"]["name"]: d["metadata"].get("labels") or {}
                  for d in by_kind(docs, "Namespace")}
    for name in (NAMESPACE, "kube-system", "monitoring", "gateway", "other"):
        namespaces.setdefault(name, {})
        namespaces[name] = dict(namespaces[name], **{"kubernetes.io/metadata.name": name})
    network = Network(policies, namespaces)

    pods = {}
    for sts in statefulsets:
        container = sts["spec"]["template"]["spec"]["containers"][0]
        pods[sts["metadata"]["name"]] = Pod(
            sts["metadata"]["name"], NAMESPACE,
            sts["spec"]["template"]["metadata"].get("labels") or {},
            {p["name"]: (p["containerPort"], p.get("protocol", "TCP"))
             for p in container.get("ports") or [] if "name" in p})
    prometheus = Pod("prometheus", "monitoring", PROMETHEUS_LABELS)
    gateway = Pod("gateway", "gateway", API_CLIENT_LABELS)
    dns = Pod("kube-dns", "kube-system", {"k8s-app": "kube-dns"})
    strangers = [
        Pod("stranger-in-namespace", NAMESPACE, {"app.kubernetes.io/name": "debug"}),
        Pod("stranger-elsewhere", "other", {"app": "other"}),
        # The labels of a Liaison service, but in another namespace.
        Pod("impostor", "other", {"app.kubernetes.io/name": "identity",
                                  "app.kubernetes.io/part-of": "liaison"}),
    ]
    unlisted_port = 8080  # Catches rules that allow every port.

    # The call graph, exactly: every (caller, callee, port) a connection may
    # be opened on, over every port a callee listens on and one it does not.
    allowed = set()
    for caller, source in pods.items():
        for callee, destination in pods.items():
            if caller == callee:
                continue
            for port in sorted({p for p, _ in destination.ports.values()} | {unlisted_port}):
                if network.connection_allowed(source, destination, port):
                    allowed.add((caller, callee, port))
    expected = {(caller, callee, PORTS[callee][0]) for caller, callees in CALLS.items()
                for callee in callees if caller in pods and callee in pods}
    for edge in sorted(allowed - expected):
        c.check(False, "allows %s -> %s:%d, which DESIGN.md §2 does not have" % edge)
    for edge in sorted(expected - allowed):
        c.check(False, "blocks %s -> %s:%d, which DESIGN.md §2 needs" % edge)
    c.check(allowed == expected,
            f"{len(allowed)} edges allowed between services, want {len(expected)}")
    # Each side on its own, too: a rule that only one end has is either dead
    # or half of a hole waiting for the other half.
    for direction, allows in (("egress", network.egress_allowed),
                              ("ingress", network.ingress_allowed)):
        one_sided = {(caller, callee, port)
                     for caller, source in pods.items() for callee, destination in pods.items()
                     if caller != callee
                     for port in {p for p, _ in destination.ports.values()} | {unlisted_port}
                     if allows(source, destination, port)}
        for edge in sorted(one_sided - expected):
            c.check(False, f"{direction} allows " + "%s -> %s:%d, not in DESIGN.md §2" % edge)
        c.check(one_sided >= expected, f"{direction} rules miss {sorted(expected - one_sided)}")

    for name, pod in pods.items():
        grpc_port, metrics_port = PORTS[name]
        c.context = f"{overlay}/NetworkPolicy/{name}"
        # Metrics: Prometheus, and nothing else.
        c.check(network.ingress_allowed(prometheus, pod, metrics_port),
                f"Prometheus cannot scrape {name}:{metrics_port}")
        for other in list(pods.values()) + [gateway] + strangers:
            if other is not pod:
                c.check(not network.ingress_allowed(other, pod, metrics_port),
                        f"{other.name} ({other.namespace}) may reach the metrics port "
                        f"{metrics_port}")
        c.check(not network.ingress_allowed(prometheus, pod, grpc_port),
                f"Prometheus may reach the gRPC port {grpc_port}")
        # API clients: gRPC only.
        c.check(network.ingress_allowed(gateway, pod, grpc_port),
                f"an API client (labelled liaison/api-client) cannot reach {name}:{grpc_port}")
        for stranger in strangers:
            for port in (grpc_port, metrics_port, unlisted_port):
                c.check(not network.ingress_allowed(stranger, pod, port),
                        f"{stranger.name} ({stranger.namespace}) may reach {name}:{port}")
        # Egress: DNS, its callees, nothing else.
        for protocol in ("UDP", "TCP"):
            c.check(network.egress_allowed(pod, dns, 53, protocol),
                    f"cannot resolve names (kube-dns {protocol} 53)")
        for target in [prometheus, gateway] + strangers:
            for port in (53, 443, grpc_port):
                c.check(not network.egress_allowed(pod, target, port),
                        f"may connect out to {target.name} ({target.namespace}) port {port}")
    # Shard to shard: a sharded service's pods reach each other on its gRPC
    # port (forwarding, split batches), and on nothing else; an unsharded
    # service's pod has no one of its kind to reach.
    for sts in statefulsets:
        name = sts["metadata"]["name"]
        pod = pods[name]
        c.context = f"{overlay}/NetworkPolicy/{name}"
        sharded = sts["spec"].get("replicas", 1) > 1
        grpc_port, metrics_port = PORTS[name]
        c.check(network.connection_allowed(pod, pod, grpc_port) == sharded,
                f"shard-to-shard {name}:{grpc_port} is "
                f"{'blocked' if sharded else 'allowed'} with {sts['spec'].get('replicas', 1)} "
                "replica(s)")
        for port in (metrics_port, unlisted_port):
            c.check(not network.connection_allowed(pod, pod, port),
                    f"{name}'s pods may reach each other on port {port}")
    # Default deny, observed: a pod nobody wrote a rule for.
    c.context = f"{overlay}/NetworkPolicy"
    loner = strangers[0]
    c.check(not network.egress_allowed(loner, strangers[1], 443),
            "a pod without rules in the namespace may connect out")
    c.check(not network.ingress_allowed(strangers[1], loner, 443),
            "a pod without rules in the namespace accepts connections")


def check_namespace(c, overlay, docs):
    c.context = f"{overlay}/Namespace"
    namespaces = {d["metadata"]["name"]: d for d in by_kind(docs, "Namespace")}
    if c.check(NAMESPACE in namespaces, f"no Namespace {NAMESPACE}"):
        labels = namespaces[NAMESPACE]["metadata"].get("labels") or {}
        c.check(labels.get("pod-security.kubernetes.io/enforce") == "restricted",
                "namespace does not enforce Pod Security 'restricted'")
    for doc in docs:
        if doc["kind"] != "Namespace":
            c.check(doc["metadata"].get("namespace") == NAMESPACE,
                    f"{doc['kind']} {doc['metadata']['name']} is not in namespace {NAMESPACE}")


def check_overlay(c, kubectl, overlay, directory):
    c.context = overlay
    docs = render(c, kubectl, directory)
    if not docs:
        return
    check_namespace(c, overlay, docs)
    statefulsets = by_kind(docs, "StatefulSet")
    c.context = overlay
    c.check({s["metadata"]["name"] for s in statefulsets} == set(PORTS),
            f"StatefulSets are {sorted(s['metadata']['name'] for s in statefulsets)}, "
            f"want {sorted(PORTS)}")
    statefulsets = [s for s in statefulsets if s["metadata"]["name"] in PORTS]
    for sts in statefulsets:
        check_statefulset(c, overlay, docs, sts)
    check_overlay_rules(c, overlay, statefulsets)
    check_network_policies(c, overlay, docs, statefulsets)


def check_prometheus(c, promtool, root):
    directory = os.path.join(root, "deploy", "prometheus")
    commands = [["check", "config", "prometheus.yml"], ["check", "rules", "rules.yml"],
                ["test", "rules", "rules_test.yml"]]
    for args in commands:
        c.context = "promtool " + " ".join(args)
        result = subprocess.run([promtool] + args, cwd=directory, capture_output=True, text=True)
        c.check(result.returncode == 0, (result.stdout + result.stderr).strip())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubectl", default="kubectl",
                        help="used when installed; otherwise the built-in renderer")
    parser.add_argument("--promtool", default="promtool")
    parser.add_argument("--root", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    args = parser.parse_args()

    c = Checker()
    kubectl = shutil.which(args.kubectl)
    print("deploy: rendering with " + (f"{kubectl} kustomize" if kubectl else
                                       "the built-in renderer (kubectl is not installed)"))
    overlays_dir = os.path.join(args.root, "deploy", "k8s", "overlays")
    overlays = sorted(
        d for d in (os.listdir(overlays_dir) if os.path.isdir(overlays_dir) else [])
        if os.path.exists(os.path.join(overlays_dir, d, "kustomization.yaml")))
    c.check(REQUIRED_OVERLAYS <= set(overlays),
            f"overlays are {overlays}, want at least {sorted(REQUIRED_OVERLAYS)}")
    for overlay in overlays:
        check_overlay(c, kubectl, overlay, os.path.join(overlays_dir, overlay))
    check_prometheus(c, args.promtool, args.root)

    for failure in c.failures:
        print("FAIL", failure.replace("\n", "\n    "))
    print(f"deploy: {c.passed} passed, {len(c.failures)} failed")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
