#!/usr/bin/python3
"""Tests of tests/deploy/kustomize.py on small kustomizations in temp dirs:
what it renders, kustomize's own hash vectors, and that every feature it does
not implement is an error rather than something silently left out.

  kustomize_test.py          (exit 0: all passed)
"""

import os
import sys
import tempfile
import textwrap
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kustomize  # noqa: E402

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: example/web:1.0
          envFrom:
            - configMapRef:
                name: web-config
          env:
            - name: PASSWORD
              valueFrom:
                secretKeyRef:
                  name: web-secret
                  key: password
      volumes:
        - name: key
          secret:
            secretName: web-secret
        - name: other
          configMap:
            name: not-generated
"""


class Tree:
    """Files in a temp dir, and rendering of one of its folders."""

    def __init__(self, files):
        self.dir = tempfile.TemporaryDirectory()
        for path, text in files.items():
            full = os.path.join(self.dir.name, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w", encoding="utf-8") as f:
                f.write(textwrap.dedent(text))

    def render(self, folder="."):
        return kustomize.render(os.path.join(self.dir.name, folder))

    def close(self):
        self.dir.cleanup()


def by_name(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


class HashTest(unittest.TestCase):
    # The vectors of kustomize's api/hasher tests.
    def test_config_map_hashes_match_kustomize(self):
        self.assertEqual(kustomize.content_hash({"kind": "ConfigMap"}), "6ct58987ht")
        self.assertEqual(kustomize.content_hash({"kind": "ConfigMap", "data": {"one": ""}}),
                         "9g67k2htb6")
        self.assertEqual(kustomize.content_hash({"kind": "ConfigMap", "binaryData": {"one": ""}}),
                         "6mtk2m274t")

    def test_secret_hashes_match_kustomize(self):
        self.assertEqual(kustomize.content_hash({"kind": "Secret", "type": "my-type"}),
                         "5gmgkf8578")
        self.assertEqual(kustomize.content_hash({"kind": "Secret", "type": "my-type",
                                                 "data": {"one": ""}}), "74bd68bm66")

    def test_the_name_is_not_part_of_the_hash(self):
        self.assertEqual(
            kustomize.content_hash({"kind": "ConfigMap", "metadata": {"name": "a"}}),
            kustomize.content_hash({"kind": "ConfigMap", "metadata": {"name": "b"}}))

    def test_long_secret_values_are_wrapped_like_kustomize(self):
        self.assertEqual(kustomize.encode_base64("short"), "c2hvcnQ=")
        wrapped = kustomize.encode_base64("x" * 60)
        self.assertEqual([len(line) for line in wrapped.split("\n")], [70, 10, 0])


class RenderTest(unittest.TestCase):
    def setUp(self):
        self.tree = Tree({
            "base/kustomization.yaml": """\
                namespace: shop
                resources: [deployment.yaml]
                configMapGenerator:
                  - name: web-config
                    envs: [config.env]
                secretGenerator:
                  - name: web-secret
                    literals: [password="s3cret"]
                """,
            "base/deployment.yaml": DEPLOYMENT,
            "base/config.env": "# a comment\nA=1\n\nB=two words\n",
            "overlay/kustomization.yaml": """\
                namespace: shop
                resources: [../base]
                images:
                  - name: example/web
                    newName: registry.example.com/web
                    newTag: "2.0"
                configMapGenerator:
                  - name: web-config
                    behavior: merge
                    literals: [B=three]
                patches:
                  - target: {kind: Deployment, name: w.*}
                    patch: |-
                      - op: add
                        path: /spec/replicas
                        value: 3
                  - path: resources.yaml
                """,
            "overlay/resources.yaml": """\
                apiVersion: apps/v1
                kind: Deployment
                metadata:
                  name: web
                spec:
                  template:
                    spec:
                      containers:
                        - name: web
                          resources: {limits: {cpu: "1"}}
                """,
        })

    def tearDown(self):
        self.tree.close()

    def test_generated_names_carry_the_hash_and_references_follow(self):
        docs = self.tree.render("overlay")
        self.assertEqual([d["kind"] for d in docs], ["ConfigMap", "Secret", "Deployment"])
        config_map = docs[0]
        self.assertEqual(config_map["data"], {"A": "1", "B": "three"})
        self.assertEqual(config_map["metadata"]["name"],
                         "web-config-" + kustomize.content_hash(config_map))
        secret = docs[1]
        self.assertEqual(secret["data"], {"password": "czNjcmV0"})  # quotes stripped
        pod = docs[2]["spec"]["template"]["spec"]
        container = pod["containers"][0]
        self.assertEqual(container["envFrom"][0]["configMapRef"]["name"],
                         config_map["metadata"]["name"])
        self.assertEqual(container["env"][0]["valueFrom"]["secretKeyRef"]["name"],
                         secret["metadata"]["name"])
        self.assertEqual(pod["volumes"][0]["secret"]["secretName"], secret["metadata"]["name"])
        self.assertEqual(pod["volumes"][1]["configMap"]["name"], "not-generated")

    def test_patches_images_and_namespace_apply(self):
        deployment = self.tree.render("overlay")[2]
        self.assertEqual(deployment["metadata"]["namespace"], "shop")
        self.assertEqual(deployment["spec"]["replicas"], 3)
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(container["image"], "registry.example.com/web:2.0")
        # Merged by name into the existing container, not a second container.
        self.assertEqual(len(deployment["spec"]["template"]["spec"]["containers"]), 1)
        self.assertEqual(container["resources"], {"limits": {"cpu": "1"}})
        self.assertIn("envFrom", container)

    def test_the_base_renders_on_its_own(self):
        docs = self.tree.render("base")
        self.assertEqual(by_name(docs, "Deployment")["web"]["spec"]["template"]["spec"]
                         ["containers"][0]["image"], "example/web:1.0")
        self.assertEqual(by_name(docs, "ConfigMap").popitem()[1]["data"],
                         {"A": "1", "B": "two words"})


class UnsupportedTest(unittest.TestCase):
    """Each of these renders differently in kustomize; here it must fail."""

    def render_fails(self, files, message):
        tree = Tree(files)
        try:
            with self.assertRaises(kustomize.KustomizeError) as raised:
                tree.render()
            self.assertIn(message, str(raised.exception))
        finally:
            tree.close()

    def test_an_unknown_kustomization_field_fails(self):
        self.render_fails({"kustomization.yaml": "commonLabels: {a: b}\n"}, "commonLabels")

    def test_a_remote_resource_fails(self):
        self.render_fails({"kustomization.yaml": "resources: [https://example.com/x.yaml]\n"},
                          "remote resource")

    def test_a_missing_kustomization_fails(self):
        self.render_fails({"kustomization.yaml": "resources: [sub]\n", "sub/x.txt": ""},
                          "no kustomization.yaml")

    def test_a_merge_without_a_base_object_fails(self):
        self.render_fails({"kustomization.yaml": """\
            configMapGenerator:
              - name: absent
                behavior: merge
                literals: [A=1]
            """}, "merge finds 0")

    def test_a_replace_behavior_fails(self):
        self.render_fails({"kustomization.yaml": """\
            configMapGenerator:
              - name: x
                behavior: replace
                literals: [A=1]
            """}, "behavior replace")

    def test_an_env_value_from_the_environment_fails(self):
        self.render_fails({"kustomization.yaml": "configMapGenerator: [{name: x, envs: [e]}]\n",
                           "e": "HOME\n"}, "not KEY=VALUE")

    def patch_fails(self, target, ops, message):
        kustomization = f"resources: [d.yaml]\npatches: [{{target: {target}, patch: '{ops}'}}]\n"
        self.render_fails({"kustomization.yaml": kustomization, "d.yaml": DEPLOYMENT}, message)

    def test_an_unimplemented_json_patch_op_fails(self):
        self.patch_fails("{kind: Deployment}", '[{"op": "move", "from": "/spec", "path": "/x"}]',
                         "op 'move'")

    def test_a_json_patch_on_a_missing_path_fails(self):
        self.patch_fails("{kind: Deployment}",
                         '[{"op": "replace", "path": "/spec/replicas", "value": 2}]',
                         "does not exist")

    def test_a_patch_target_that_selects_nothing_fails(self):
        self.patch_fails("{kind: StatefulSet}",
                         '[{"op": "add", "path": "/spec/replicas", "value": 2}]', "selects nothing")

    def test_a_label_selector_target_fails(self):
        self.patch_fails('{labelSelector: "a=b"}',
                         '[{"op": "add", "path": "/spec/replicas", "value": 2}]', "labelSelector")

    def test_a_strategic_merge_directive_fails(self):
        self.render_fails({"kustomization.yaml": "resources: [d.yaml]\npatches: [{path: p.yaml}]\n",
                           "d.yaml": DEPLOYMENT, "p.yaml": """\
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web}
            spec: {template: {spec: {$patch: replace}}}
            """}, "$patch")

    def test_a_strategic_merge_patch_without_its_object_fails(self):
        self.render_fails({"kustomization.yaml": "resources: [d.yaml]\npatches: [{path: p.yaml}]\n",
                           "d.yaml": DEPLOYMENT, "p.yaml": """\
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: other}
            """}, "0 targets")

    def test_a_list_resource_fails(self):
        self.render_fails({"kustomization.yaml": "resources: [l.yaml]\n",
                           "l.yaml": "apiVersion: v1\nkind: List\nmetadata: {}\nitems: []\n"},
                          "List")

    def test_two_objects_with_one_id_fail(self):
        self.render_fails({"kustomization.yaml": "resources: [d.yaml, e.yaml]\n",
                           "d.yaml": DEPLOYMENT, "e.yaml": DEPLOYMENT}, "more than one")

    def test_renaming_a_namespace_fails(self):
        self.render_fails({"kustomization.yaml": "namespace: b\nresources: [n.yaml]\n",
                           "n.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"},
                          "renaming Namespace")


if __name__ == "__main__":
    unittest.main()
