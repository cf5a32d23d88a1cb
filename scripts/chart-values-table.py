#!/usr/bin/env python3
"""chart-values-table.py — why this exists: helm/soakd/README.md documents every chart value in a
table, and a table edited by hand drifts from values.yaml. This prints the table from values.yaml
(keys, defaults, and the `# --` comment above each key, helm-docs style), writes it between the
README's `<!-- values-table -->` markers with --write, and with --check (tests/chart.rs) exits 1
naming the difference.

    scripts/chart-values-table.py --write | --check
"""
import json
import os
import re
import sys

import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
VALUES = os.path.join(ROOT, "helm/soakd/values.yaml")
README = os.path.join(ROOT, "helm/soakd/README.md")
BEGIN, END = "<!-- values-table -->", "<!-- /values-table -->"
# Values documented as one row: free-form maps whose inner keys are not chart options.
OPAQUE = {"config", "extraConfigFiles", "podSecurityContext", "securityContext", "resources",
          "livenessProbe", "readinessProbe"}


def comments(text):
    """`a.b` -> description: the comment lines right above `b:` (helm-docs' `# --` prefix dropped)."""
    out, stack, pending = {}, [], []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("#"):
            pending.append(s.lstrip("#").strip().removeprefix("-- "))
            continue
        m = re.match(r"^( *)([A-Za-z_][A-Za-z0-9_]*):", line)
        if m:
            indent = len(m.group(1))
            stack = [(i, k) for i, k in stack if i < indent] + [(indent, m.group(2))]
            if pending:
                out[".".join(k for _, k in stack)] = " ".join(pending)
        pending = []
    return out


def rows(values, prefix=""):
    for k, v in values.items():
        path = prefix + k
        if isinstance(v, dict) and v and path not in OPAQUE:
            yield from rows(v, path + ".")
        else:
            yield path, v


def table():
    text = open(VALUES).read()
    docs = comments(text)
    lines = ["| key | default | description |", "| --- | --- | --- |"]
    for path, v in rows(yaml.safe_load(text)):
        default = "see values.yaml" if path in OPAQUE else json.dumps(v)
        desc = docs.get(path, "").replace("|", "\\|")
        lines.append(f"| `{path}` | `{default}` | {desc} |")
    return "\n".join(lines) + "\n"


def main():
    readme = open(README).read()
    if BEGIN not in readme or END not in readme:
        sys.exit(f"{README}: no {BEGIN} ... {END} markers")
    head, rest = readme.split(BEGIN, 1)
    current, tail = rest.split(END, 1)
    want = "\n" + table()
    if "--write" in sys.argv:
        open(README, "w").write(head + BEGIN + want + END + tail)
        return
    if current != want:
        have, need = set(current.splitlines()), set(want.splitlines())
        sys.exit("helm/soakd/README.md values table is out of date "
                 "(run scripts/chart-values-table.py --write)\nmissing rows:\n  "
                 + "\n  ".join(sorted(need - have)) + "\nstale rows:\n  "
                 + "\n  ".join(sorted(have - need)))


main()
