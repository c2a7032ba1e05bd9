#!/usr/bin/env python3
"""Prepare a copy of a govc Terraform root for an apply against the moto AWS emulator.

usage: tf_emulator.py ROOT_COPY ENDPOINT_URL UNSUPPORTED_FILE REPORT_JSON

ROOT_COPY is a temporary copy of the root (never generated/ itself). Writes
zz_govc_emulator_override.tf.json there (Terraform merges *_override.tf.json over the
configuration):
- the configured backend (govc emits s3) replaced by the local backend;
- every aws provider configuration (default and aliased) sends every service to
  ENDPOINT_URL (path-style S3), and skips the credential, region and metadata checks;
  the account guard (`allowed_account_ids`) stays: the emulator is started with the
  guarded account as its account id;
- what blocks a destroy turned off: RDS deletion protection and final snapshot,
  Secrets Manager's recovery window, S3 force_destroy, load balancer deletion protection.
Credentials are not written: fake static keys come from the environment.

UNSUPPORTED_FILE lists resource types the emulator cannot create, one a line:
`TYPE  # reason`. Those resources, and every resource that references one (through
an expression, `depends_on`, or a local value or data source that references one),
are left out:
REPORT_JSON gets {"account": the guarded account id (the emulator's account), "region",
"targets": [addresses to apply], "excluded": {address: reason}}.
"""
import glob
import json
import os
import re
import sys

OVERRIDE_NAME = "zz_govc_emulator_override.tf.json"

# Every endpoint key of terraform-provider-aws 5.x that a govc root may reach.
SERVICES = [
    "acm", "autoscaling", "cloudwatch", "ec2", "ecr", "eks", "elb", "elbv2", "events", "iam",
    "kms", "logs", "networkfirewall", "rds", "route53", "s3", "secretsmanager", "ssm", "sts", "wafv2",
]

# resource type -> attributes that let an emulated destroy finish
DESTROYABLE = {
    "aws_db_instance": {"deletion_protection": False, "skip_final_snapshot": True},
    "aws_rds_cluster": {"deletion_protection": False, "skip_final_snapshot": True},
    "aws_lb": {"enable_deletion_protection": False},
    "aws_s3_bucket": {"force_destroy": True},
    "aws_secretsmanager_secret": {"recovery_window_in_days": 0},
}

REF = re.compile(r"\b(?:(data\.)?(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)|local\.([A-Za-z0-9_-]+))")


def references(body):
    """The resources, data sources and locals an expression or `depends_on` names."""
    out = set()
    for m in REF.finditer(json.dumps(body)):
        out.add(f"local.{m.group(4)}" if m.group(4) else f"{m.group(1) or ''}{m.group(2)}.{m.group(3)}")
    return out


def as_list(value):
    return value if isinstance(value, list) else [value]


def is_override(path):
    name = os.path.basename(path)
    return name == "override.tf.json" or name.endswith("_override.tf.json")


def read_unsupported(path):
    reasons = {}
    with open(path) as fh:
        for line in fh:
            body, _, why = line.partition("#")
            words = body.split()
            if not words:
                continue
            if len(words) != 1 or not words[0].startswith("aws_"):
                sys.exit(f"{path}: expected `aws_TYPE  # reason`, got: {line.strip()}")
            reasons[words[0]] = why.strip() or "not supported by the emulator"
    return reasons


def main():
    if len(sys.argv) != 5 or not os.path.isdir(sys.argv[1]):
        sys.exit(__doc__)
    root, endpoint, unsupported_file, report = sys.argv[1:]
    unsupported = read_unsupported(unsupported_file)

    nodes = {}  # address -> set of addresses it references
    managed = []
    aliases, has_backend, accounts, regions = {None}, False, [], []
    for path in sorted(glob.glob(os.path.join(root, "*.tf.json"))):
        if is_override(path):
            continue
        with open(path) as fh:
            doc = json.load(fh)
        for block in as_list(doc.get("provider", {})):
            for cfg in as_list(block.get("aws", [])):
                aliases.add(cfg.get("alias"))
                accounts += [a for a in cfg.get("allowed_account_ids") or [] if a not in accounts]
                if cfg.get("region") and not cfg.get("alias"):
                    regions.append(cfg["region"])
        has_backend |= any(tb.get("backend") for tb in as_list(doc.get("terraform", {})))
        for block in as_list(doc.get("locals", {})):
            for name, body in block.items():
                nodes[f"local.{name}"] = references(body) - {f"local.{name}"}
        for prefix, section in (("", "resource"), ("data.", "data")):
            for block in as_list(doc.get(section, {})):
                for rtype, insts in block.items():
                    for inst in as_list(insts):
                        for name, body in inst.items():
                            addr = f"{prefix}{rtype}.{name}"
                            nodes[addr] = references(body) - {addr}
                            if not prefix:
                                managed.append((rtype, name, addr))
    if glob.glob(os.path.join(root, "*.tf")):
        sys.exit("native-syntax *.tf files are not supported here (govc emits *.tf.json only)")

    # Excluded: unsupported types, then, to a fixed point, whatever references an excluded node.
    excluded = {}
    for addr in nodes:
        rtype = addr.split(".")[-2]
        if not addr.startswith(("data.", "local.")) and rtype in unsupported:
            excluded[addr] = unsupported[rtype]
    changed = True
    while changed:
        changed = False
        for addr, refs in sorted(nodes.items()):
            if addr in excluded:
                continue
            hit = sorted(r for r in refs if r in excluded)
            if hit:
                excluded[addr] = f"references {hit[0]}"
                changed = True

    providers = []
    for alias in sorted(aliases, key=lambda a: a or ""):
        cfg = {"alias": alias} if alias else {}
        cfg.update({
            "endpoints": {svc: endpoint for svc in SERVICES},
            "s3_use_path_style": True,
            "skip_credentials_validation": True,
            "skip_metadata_api_check": True,
            "skip_region_validation": True,
            "skip_requesting_account_id": False,
        })
        providers.append(cfg)
    override = {"provider": {"aws": providers}}
    if has_backend:
        override["terraform"] = {"backend": {"local": {"path": "terraform.tfstate"}}}
    resources = {}
    for rtype, name, addr in managed:
        if rtype in DESTROYABLE and addr not in excluded:
            resources.setdefault(rtype, {})[name] = DESTROYABLE[rtype]
    if resources:
        override["resource"] = resources
    with open(os.path.join(root, OVERRIDE_NAME), "w") as fh:
        json.dump(override, fh, indent=2)
        fh.write("\n")

    targets = sorted(addr for _, _, addr in managed if addr not in excluded)
    with open(report, "w") as fh:
        account = accounts[0] if accounts else "123456789012"
        region = regions[0] if regions else "us-east-1"
        json.dump({"account": account, "region": region, "targets": targets, "excluded": dict(sorted(excluded.items()))}, fh, indent=2)
        fh.write("\n")


if __name__ == "__main__":
    main()
