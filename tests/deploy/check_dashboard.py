#!/usr/bin/python3
"""Checks the Grafana dashboard deploy/grafana/liaison.json.

  check_dashboard.py --root <repo> --promtool promtool

Well-formed JSON with a dashboard's shape (title, uid, schemaVersion, the
templating variables its queries use, panels with unique ids, grid positions
inside the 24-column grid, and targets with a PromQL expression and a unique
refId); every query names only metric families the services export, as the
golden lists tests/golden/*_metrics.txt hold them (a histogram's or summary's
_bucket, _sum and _count series included); and promtool parses every query,
written as a recording rule with the Grafana variables filled in. Prints every
failure and exits 1 if there was one.
"""

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

PANEL_TYPES = {"row", "timeseries", "stat", "gauge", "bargauge", "table", "heatmap", "text"}
# PromQL words that are not metric names.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
            "unless", "offset", "inf", "nan"}
FUNCTIONS = {
    "abs", "absent", "absent_over_time", "avg", "avg_over_time", "ceil", "changes", "clamp",
    "clamp_max", "clamp_min", "count", "count_over_time", "count_values", "delta", "deriv", "exp",
    "floor", "histogram_quantile", "holt_winters", "idelta", "increase", "irate", "label_join",
    "label_replace", "ln", "log2", "log10", "max", "max_over_time", "min", "min_over_time",
    "predict_linear", "quantile", "quantile_over_time", "rate", "resets", "round", "scalar",
    "sort", "sort_desc", "sqrt", "stddev", "stdvar", "sum", "sum_over_time", "time",
    "timestamp", "topk", "bottomk", "vector", "last_over_time", "group",
}
# What the Grafana variables stand for when promtool parses a query.
VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h", "$job": ".+"}


def exported_families(root):
    """Every series name a service exports: families, and their histogram or
    summary series."""
    names = set()
    for path in glob.glob(os.path.join(root, "tests", "golden", "*_metrics.txt")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip() or line.startswith("#"):
                    continue
                name, kind = line.split()
                names.add(name)
                if kind in ("histogram", "summary"):
                    names.update({name + "_sum", name + "_count"})
                if kind == "histogram":
                    names.add(name + "_bucket")
    return names


def metric_names(expr):
    """The metric names a PromQL expression selects."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group(0)
        rest = text[match.end():].lstrip()
        if word.lower() in KEYWORDS:
            continue
        if rest.startswith("("):
            if word not in FUNCTIONS:
                names.add("function " + word)  # reported as unknown
            continue
        # A number's exponent or unit (1e3) cannot start an identifier here.
        if match.start() > 0 and (text[match.start() - 1].isdigit() or
                                  text[match.start() - 1] == "."):
            continue
        names.add(word)
    return names


def substitute(expr):
    for variable, value in VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


class Checker:
    def __init__(self):
        self.failures = []
        self.passed = 0

    def check(self, condition, message):
        if condition:
            self.passed += 1
        else:
            self.failures.append(message)
        return condition


def check_shape(c, dashboard):
    for key in ("title", "uid", "schemaVersion", "panels", "templating", "time"):
        c.check(key in dashboard, f"the dashboard has no {key}")
    c.check(isinstance(dashboard.get("schemaVersion"), int), "schemaVersion is not a number")
    variables = {v.get("name") for v in (dashboard.get("templating") or {}).get("list") or []}
    c.check("datasource" in variables, "no datasource variable")
    panels = dashboard.get("panels") or []
    c.check(len(panels) > 1, "no panels")
    ids = [p.get("id") for p in panels]
    c.check(len(ids) == len(set(ids)), "panel ids repeat")
    queries = []
    for panel in panels:
        where = f"panel {panel.get('id')} ({panel.get('title')!r})"
        c.check(panel.get("type") in PANEL_TYPES, f"{where}: type {panel.get('type')!r}")
        c.check(bool(panel.get("title")), f"{where}: no title")
        grid = panel.get("gridPos") or {}
        c.check(all(isinstance(grid.get(k), int) for k in "xywh")
                and grid["x"] >= 0 and grid["w"] > 0 and grid["h"] > 0
                and grid["x"] + grid["w"] <= 24, f"{where}: gridPos {grid} is outside the grid")
        if panel.get("type") == "row":
            continue
        targets = panel.get("targets") or []
        c.check(targets, f"{where}: no queries")
        refs = [t.get("refId") for t in targets]
        c.check(len(refs) == len(set(refs)) and all(refs), f"{where}: refIds {refs}")
        for target in targets:
            expr = target.get("expr", "")
            if c.check(expr.strip(), f"{where}: a target without expr"):
                queries.append((where, expr))
            for variable in re.findall(r"\$\{?(\w+)", expr):
                c.check(variable.startswith("__") or variable in variables,
                        f"{where}: ${variable} is not a dashboard variable")
    # Panels must not overlap.
    cells, overlaps = {}, set()
    for panel in panels:
        grid = panel.get("gridPos") or {}
        for x in range(grid.get("x", 0), grid.get("x", 0) + grid.get("w", 0)):
            for y in range(grid.get("y", 0), grid.get("y", 0) + grid.get("h", 0)):
                other = cells.setdefault((x, y), panel.get("id"))
                if other != panel.get("id"):
                    overlaps.add((other, panel.get("id")))
    c.check(not overlaps, f"panels overlap: {sorted(overlaps)}")
    for variable in (dashboard.get("templating") or {}).get("list") or []:
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query", "")
        match = re.fullmatch(r"label_values\((\w+),\s*\w+\)", query or "")
        if variable.get("type") == "query":
            if c.check(match, f"variable {variable.get('name')}: query {query!r}"):
                queries.append((f"variable {variable['name']}", match.group(1)))
    return queries


def check_metrics(c, queries, exported):
    for where, expr in queries:
        for name in sorted(metric_names(expr)):
            c.check(name in exported,
                    f"{where}: {name} is not exported by any service (tests/golden)")


def check_promtool(c, promtool, queries):
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{i}", "expr": substitute(expr)}
        for i, (_, expr) in enumerate(queries)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        yaml.safe_dump(rules, f)
    try:
        result = subprocess.run([promtool, "check", "rules", f.name], capture_output=True,
                                text=True)
    finally:
        os.unlink(f.name)
    c.check(result.returncode == 0,
            "promtool cannot parse the queries: " + (result.stdout + result.stderr).strip())


def check_extractor(c, exported):
    """The name check itself: it must see through PromQL, and catch a name
    that is not exported."""
    expr = ('histogram_quantile(0.99, sum by (job, le) (rate(grpc_server_handling_seconds_bucket'
            '{job=~"$job",grpc_type="unary"}[$__rate_interval]))) / 1e3')
    c.check(metric_names(expr) == {"grpc_server_handling_seconds_bucket"},
            f"the extractor reads {sorted(metric_names(expr))} from {expr}")
    for bad in ("rate(liaison_messages_total[5m])", "up", "grpc_server_handling_seconds_total",
                "frobnicate(process_threads)"):
        c.check(not metric_names(bad) <= exported, f"the check would accept {bad}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    parser.add_argument("--promtool", default="promtool")
    args = parser.parse_args()
    c = Checker()
    path = os.path.join(args.root, "deploy", "grafana", "liaison.json")
    try:
        with open(path, encoding="utf-8") as f:
            dashboard = json.load(f)
    except (OSError, ValueError) as e:
        print(f"FAIL {path}: {e}")
        return 1
    exported = exported_families(args.root)
    c.check(len(exported) > 20, f"only {len(exported)} exported names in tests/golden")
    check_extractor(c, exported)
    queries = check_shape(c, dashboard)
    check_metrics(c, queries, exported)
    check_promtool(c, args.promtool, queries)
    for failure in c.failures:
        print("FAIL", failure)
    print(f"dashboard: {len(queries)} queries, {c.passed} checks passed, "
          f"{len(c.failures)} failed")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
