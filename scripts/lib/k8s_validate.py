#!/usr/bin/env python3
"""Validate rendered Kubernetes manifests (kubectl kustomize output) against the OpenAPI-derived
JSON schemas bundled with kubernetes-validate, in strict mode (unknown fields are errors).

usage: k8s_validate.py --k8s-version X.Y.Z --crds FILE --report REPORT.json LABEL=FILE...

One target per LABEL=FILE (an overlay and its rendered YAML). Kinds without a bundled schema are
skipped only when their API group is listed in the CRD allowlist FILE (lines "GROUP  # reason");
each skipped object is reported by name. Any other unknown kind is an error.
Prints one "OK   LABEL: ..." or "FAIL LABEL: ..." line per target, followed by the details.
Exit 0 = every target valid, 1 = some target invalid, 2 = tool/usage error.
"""
import argparse
import json
import sys
import time

import yaml
import kubernetes_validate
from kubernetes_validate import utils


def load_crd_groups(path):
    groups = {}
    with open(path) as fh:
        for lineno, raw in enumerate(fh, 1):
            line, _, reason = raw.partition("#")
            line = line.strip()
            if not line:
                continue
            if len(line.split()) != 1:
                raise SystemExit("%s:%d: expected 'GROUP  # reason', got %r" % (path, lineno, raw.rstrip()))
            groups[line] = reason.strip()
    return groups


def api_group(api_version):
    """'apps/v1' -> 'apps'; 'v1' (core) -> ''."""
    return api_version.rsplit("/", 1)[0] if api_version and "/" in api_version else ""


def validate_doc(doc, version, crd_groups):
    """Return a result dict with status valid | invalid | skipped-crd | unknown-kind."""
    if not isinstance(doc, dict):
        return {"kind": "?", "name": "?", "status": "invalid", "message": "document is not a mapping"}
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    res = {"apiVersion": doc.get("apiVersion"), "kind": doc.get("kind", "?"),
           "name": meta.get("name", "?"), "namespace": meta.get("namespace")}
    try:
        res["validated_against"] = utils.validate(doc, version, strict=True)
        res["status"] = "valid"
    except utils.ValidationError as e:
        res["status"] = "invalid"
        res["path"] = ".".join(str(p) for p in e.path)
        res["message"] = e.message
    except utils.SchemaNotFoundError as e:
        group = api_group(res["apiVersion"])
        if group and group in crd_groups:
            res["status"] = "skipped-crd"
            res["message"] = "custom resource, API group %s is in the CRD allowlist" % group
        else:
            res["status"] = "unknown-kind"
            res["message"] = "%s (API group %r is not in the CRD allowlist)" % (e.message, group or "core")
    except utils.VersionNotSupportedError:
        print("kubernetes-validate %s does not support Kubernetes %s" % (kubernetes_validate.__version__, version),
              file=sys.stderr)
        sys.exit(2)
    except Exception as e:  # malformed object: no kind, no apiVersion, ...
        res["status"] = "invalid"
        res["message"] = "could not be validated: %s" % e
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--k8s-version", required=True)
    ap.add_argument("--crds", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("targets", nargs="+", metavar="LABEL=FILE")
    args = ap.parse_args()
    crd_groups = load_crd_groups(args.crds)
    report = {"tool": "kubernetes-validate", "tool_version": kubernetes_validate.__version__,
              "kubernetes_version": args.k8s_version, "strict": True,
              "crd_groups_skipped": crd_groups, "targets": []}
    failed_targets = 0
    for item in args.targets:
        label, _, path = item.partition("=")
        t0 = time.monotonic()
        entry = {"target": label, "file": path, "objects": []}
        report["targets"].append(entry)
        try:
            with open(path) as fh:
                docs = [d for d in yaml.safe_load_all(fh) if d is not None]
        except yaml.YAMLError as e:
            entry["error"] = "YAML parse error: %s" % e
            print("FAIL %s: rendered YAML does not parse: %s" % (label, e))
            failed_targets += 1
            continue
        for doc in docs:
            entry["objects"].append(validate_doc(doc, args.k8s_version, crd_groups))
        objs = entry["objects"]
        bad = [o for o in objs if o["status"] in ("invalid", "unknown-kind")]
        skipped = [o for o in objs if o["status"] == "skipped-crd"]
        valid = sum(o["status"] == "valid" for o in objs)
        secs = time.monotonic() - t0
        if bad:
            failed_targets += 1
            print("FAIL %s: %d of %d objects invalid against Kubernetes %s, strict (%.1fs)"
                  % (label, len(bad), len(objs), args.k8s_version, secs))
            for o in bad:
                print("    %s/%s: %s%s" % (o["kind"], o["name"], o["path"] + ": " if o.get("path") else "", o["message"]))
        else:
            print("OK   %s: %d objects valid against Kubernetes %s, strict, %d skipped (%.1fs)"
                  % (label, valid, args.k8s_version, len(skipped), secs))
        for o in skipped:
            print("    skipped %s/%s (%s): %s" % (o["kind"], o["name"], o["apiVersion"], o["message"]))
    report["failed_targets"] = failed_targets
    with open(args.report, "w") as fh:
        json.dump(report, fh, indent=2)
    sys.exit(1 if failed_targets else 0)


if __name__ == "__main__":
    main()
