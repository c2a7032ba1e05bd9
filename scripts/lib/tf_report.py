#!/usr/bin/env python3
"""Format Terraform JSON output for scripts/validate.

usage: tf_report.py validate VALIDATE_JSON   print diagnostics of `terraform validate -json`;
                                             exit 0 if valid, 1 if not, 2 if unreadable
       tf_report.py plan PLAN_JSON           print planned resource counts by type and action
                                             (`terraform show -json` of a saved plan)
"""
import collections
import json
import sys


def validate(path):
    try:
        with open(path) as fh:
            result = json.load(fh)
    except (OSError, ValueError) as e:
        print("    unreadable terraform validate output: %s" % e)
        return 2
    for d in result.get("diagnostics", []):
        rng = d.get("range") or {}
        loc = "%s:%s" % (rng.get("filename", "?"), (rng.get("start") or {}).get("line", "?")) if rng else "-"
        ctx = (d.get("snippet") or {}).get("context")
        detail = " ".join((d.get("detail") or "").split())
        print("    %s %s%s: %s%s" % (d.get("severity"), loc, " (%s)" % ctx if ctx else "", d.get("summary"),
                                   ": " + detail if detail else ""))
    ok = result.get("valid") and not result.get("error_count")
    return 0 if ok else 1


def plan(path):
    with open(path) as fh:
        doc = json.load(fh)
    changes = [r for r in doc.get("resource_changes", []) if r.get("mode") == "managed"]
    by_type = collections.Counter(r["type"] for r in changes)
    by_action = collections.Counter("/".join(r["change"]["actions"]) for r in changes)
    print("    planned resources: %d (%s)" % (len(changes), ", ".join("%s=%d" % kv for kv in sorted(by_action.items()))))
    for rtype, n in sorted(by_type.items()):
        print("      %-50s %3d" % (rtype, n))
    return 0


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("validate", "plan"):
        sys.exit(__doc__)
    sys.exit(validate(sys.argv[2]) if sys.argv[1] == "validate" else plan(sys.argv[2]))


if __name__ == "__main__":
    main()
