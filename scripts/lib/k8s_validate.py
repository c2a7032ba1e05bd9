#!/usr/bin/env python3
"""Validate rendered Kubernetes manifests (kubectl kustomize output) against the OpenAPI-derived
JSON schemas bundled with kubernetes-validate, in strict mode (unknown fields are errors).

usage: k8s_validate.py --k8s-version X.Y.Z --crds FILE --report REPORT.json LABEL=FILE...

One target per LABEL=FILE (an overlay and its rendered YAML). A custom resource whose
CustomResourceDefinition is among the targets' objects (the vendored operators' CRDs) is
validated against that CRD's openAPIV3Schema for its served version, strict as well (unknown
fields are errors unless the schema preserves them). Other kinds without a bundled schema are
skipped only when their API group is listed in the CRD allowlist FILE (lines "GROUP  # reason");
each skipped object is reported by name. Any other unknown kind is an error.
Prints one "OK   LABEL: ..." or "FAIL LABEL: ..." line per target, followed by the details.
Exit 0 = every target valid, 1 = some target invalid, 2 = tool/usage error.
"""
import argparse
import json
import sys
import time

import jsonschema
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


def strict_schema(node):
    """A CRD's structural OpenAPI v3 schema as a strict JSON schema: objects with declared
    properties refuse others (the API server prunes or, with strict field validation,
    rejects them), `nullable` admits null, `x-kubernetes-int-or-string` admits both."""
    if isinstance(node, list):
        return [strict_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: strict_schema(v) for k, v in node.items() if not k.startswith("x-kubernetes-") and k != "nullable"}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if "properties" in node and "additionalProperties" not in node \
            and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def crd_schemas(docs):
    """(group, version, kind) -> strict JSON schema, for every served version of every CRD."""
    schemas = {}
    for doc in docs:
        if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
            continue
        spec = doc.get("spec") or {}
        for v in spec.get("versions") or []:
            schema = ((v.get("schema") or {}).get("openAPIV3Schema"))
            if v.get("served") and schema:
                key = (spec.get("group"), v.get("name"), (spec.get("names") or {}).get("kind"))
                schemas[key] = strict_schema(schema)
    return schemas


def validate_custom(doc, res, schema):
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        res["status"] = "invalid"
        res["path"] = ".".join(str(p) for p in errors[0].absolute_path)
        res["message"] = errors[0].message
    else:
        res["status"] = "valid"
        res["validated_against"] = "its CustomResourceDefinition"
    return res


def validate_doc(doc, version, crd_groups, crds=None):
    """Return a result dict with status valid | invalid | skipped-crd | unknown-kind."""
    if not isinstance(doc, dict):
        return {"kind": "?", "name": "?", "status": "invalid", "message": "document is not a mapping"}
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    res = {"apiVersion": doc.get("apiVersion"), "kind": doc.get("kind", "?"),
           "name": meta.get("name", "?"), "namespace": meta.get("namespace")}
    api_version = str(res["apiVersion"] or "")
    key = (api_group(api_version), api_version.rsplit("/", 1)[-1], res["kind"])
    if crds and key in crds:
        return validate_custom(doc, res, crds[key])
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
    # The CRDs of every target (the platform trees vendor the operators' CRDs) validate the
    # custom resources of every target (the overlays' ExternalSecrets and stores).
    # Each file is read and parsed once: a parse error is reported with its target below.
    loaded = {}
    for item in args.targets:
        path = item.partition("=")[2]
        if path not in loaded:
            t0 = time.monotonic()
            try:
                with open(path) as fh:
                    loaded[path] = ([d for d in yaml.safe_load_all(fh) if d is not None], time.monotonic() - t0)
            except yaml.YAMLError as e:
                loaded[path] = (e, time.monotonic() - t0)
    crds = crd_schemas(d for docs, _ in loaded.values() if isinstance(docs, list) for d in docs)
    for item in args.targets:
        label, _, path = item.partition("=")
        docs, parse_secs = loaded[path]
        t0 = time.monotonic() - parse_secs
        entry = {"target": label, "file": path, "objects": []}
        report["targets"].append(entry)
        if not isinstance(docs, list):
            entry["error"] = "YAML parse error: %s" % docs
            print("FAIL %s: rendered YAML does not parse: %s" % (label, docs))
            failed_targets += 1
            continue
        for doc in docs:
            entry["objects"].append(validate_doc(doc, args.k8s_version, crd_groups, crds))
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
            custom = sum(o.get("validated_against") == "its CustomResourceDefinition" for o in objs)
            print("OK   %s: %d objects valid against Kubernetes %s, strict (%d against their CRDs), %d skipped (%.1fs)"
                  % (label, valid, args.k8s_version, custom, len(skipped), secs))
        for o in skipped:
            print("    skipped %s/%s (%s): %s" % (o["kind"], o["name"], o["apiVersion"], o["message"]))
    report["failed_targets"] = failed_targets
    with open(args.report, "w") as fh:
        json.dump(report, fh, indent=2)
    sys.exit(1 if failed_targets else 0)


if __name__ == "__main__":
    main()
