#!/usr/bin/env python3
"""Summarise one checkov JSON result file (-o json) and apply the allowlists.

usage: scan_summary.py RESULTS_JSON SUMMARY_JSON [ALLOWLIST...]

Allowlist lines: "CHECK_ID [RESOURCE_GLOB]  # reason" (no glob = every resource; fnmatch
syntax, matched against checkov's resource name such as aws_s3_bucket.logs or
Deployment.default.web-dev). Several allowlists are merged.
Prints per check id: passed, failed and allowlisted counts; failed checks not matched by any
line are marked FAIL with their resources.
Exit 0 = every failed check allowlisted and no parsing errors, 1 = otherwise, 2 = bad input.
"""
import fnmatch
import json
import re
import sys

CHECK_ID = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")


def load_allowlists(paths):
    rules = []
    for path in paths:
        with open(path) as fh:
            for lineno, raw in enumerate(fh, 1):
                line, _, reason = raw.partition("#")
                parts = line.split()
                if not parts:
                    continue
                if len(parts) > 2 or not CHECK_ID.match(parts[0]):
                    print("%s:%d: expected 'CHECK_ID [RESOURCE_GLOB]  # reason', got %r" % (path, lineno, raw.rstrip()),
                          file=sys.stderr)
                    sys.exit(2)
                rules.append({"check_id": parts[0], "glob": parts[1] if len(parts) > 1 else "*",
                              "reason": reason.strip(), "where": "%s:%d" % (path, lineno), "used": 0})
    return rules


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    results_path, summary_path, allow_paths = sys.argv[1], sys.argv[2], sys.argv[3:]
    rules = load_allowlists(allow_paths)
    with open(results_path) as fh:
        data = json.load(fh)
    reports = data if isinstance(data, list) else [data]
    checks, frameworks, parsing_errors, version = {}, {}, [], None
    for rep in reports:
        framework = rep.get("check_type", "?")
        summ = rep.get("summary", {})
        version = summ.get("checkov_version", version)
        frameworks[framework] = {k: summ.get(k) for k in ("passed", "failed", "skipped", "parsing_errors",
                                                          "resource_count")}
        results = rep.get("results", {})
        parsing_errors += [e for e in results.get("parsing_errors", []) or [] if isinstance(e, str)]
        for kind in ("passed_checks", "failed_checks"):
            for c in results.get(kind, []):
                e = checks.setdefault(c["check_id"], {"name": c.get("check_name"), "framework": framework,
                                                      "guideline": c.get("guideline"), "passed": 0, "failed": 0,
                                                      "allowlisted": 0, "failed_resources": []})
                if kind == "passed_checks":
                    e["passed"] += 1
                    continue
                e["failed"] += 1
                resource = c.get("resource", "?")
                rule = next((r for r in rules if r["check_id"] == c["check_id"]
                             and fnmatch.fnmatchcase(resource, r["glob"])), None)
                if rule:
                    rule["used"] += 1
                    e["allowlisted"] += 1
                e["failed_resources"].append({"resource": resource, "file": c.get("file_path"),
                                              "allowlisted_by": rule["where"] if rule else None})
    not_allowed = {cid: sorted({r["resource"] for r in e["failed_resources"] if not r["allowlisted_by"]})
                   for cid, e in checks.items()}
    not_allowed = {cid: res for cid, res in not_allowed.items() if res}
    summary = {"checkov_version": version, "frameworks": frameworks, "checks": dict(sorted(checks.items())),
               "not_allowlisted": dict(sorted(not_allowed.items())), "parsing_errors": parsing_errors,
               "unused_allowlist_entries": [{k: r[k] for k in ("check_id", "glob", "where")}
                                            for r in rules if not r["used"]]}
    with open(summary_path, "w") as fh:
        json.dump(summary, fh, indent=2)

    for fw, s in sorted(frameworks.items()):
        print("  %-15s resources=%s passed=%s failed=%s parsing_errors=%s"
              % (fw, s["resource_count"], s["passed"], s["failed"], s["parsing_errors"]))
    failing = {cid: e for cid, e in checks.items() if e["failed"]}
    if failing:
        print("  %-5s %-12s %6s %6s %11s  %s" % ("", "check", "passed", "failed", "allowlisted", "name"))
    for cid, e in sorted(failing.items()):
        tag = "FAIL" if cid in not_allowed else "allow"
        print("  %-5s %-12s %6d %6d %11d  %s" % (tag, cid, e["passed"], e["failed"], e["allowlisted"], e["name"]))
        if cid in not_allowed:
            print("        not allowlisted: %s" % ", ".join(not_allowed[cid]))
    # checks that never failed: "CHECK_ID=passed", compact (names and resources are in SUMMARY_JSON)
    clean = ["%s=%d" % (cid, e["passed"]) for cid, e in sorted(checks.items()) if not e["failed"]]
    if clean:
        print("  passed everywhere (check=passed, failed=0, allowlisted=0):")
    for i in range(0, len(clean), 8):
        print("    " + " ".join(clean[i:i + 8]))
    unused = ["%s %s" % (r["check_id"], r["glob"]) for r in rules if not r["used"]]
    if unused:
        print("  note: %d allowlist entries matched nothing here: %s" % (len(unused), ", ".join(unused)))
    for p in parsing_errors:
        print("  parsing error: %s" % p)
    n_failed = sum(e["failed"] for e in checks.values())
    n_allowed = sum(e["allowlisted"] for e in checks.values())
    print("  checks: %d passed, %d failed (%d allowlisted, %d not)"
          % (sum(e["passed"] for e in checks.values()), n_failed, n_allowed, n_failed - n_allowed))
    sys.exit(1 if not_allowed or parsing_errors else 0)


if __name__ == "__main__":
    main()
