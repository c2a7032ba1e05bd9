#!/usr/bin/env python3
"""Write the override file that lets `terraform plan` run offline on a copy of a govc root.

usage: tf_override.py ROOT_DIR

Terraform merges every *_override.tf.json over the configuration, so the copy gets:
- the configured backend (govc emits s3) replaced by the local backend;
- on every aws provider configuration, default and aliased: skip_credentials_validation,
  skip_requesting_account_id, skip_metadata_api_check, skip_region_validation, and
  `allowed_account_ids` cleared (with the account id not requested, the guard would see
  an empty id and refuse every plan).
Credentials are not written here: scripts/validate passes fake static keys through the
environment, so the plan's recorded provider configuration holds no keys.
Prints the path of the file written.
"""
import glob
import json
import os
import re
import sys

OVERRIDE_NAME = "zz_govc_validate_override.tf.json"
SKIP_FLAGS = {
    "skip_credentials_validation": True,
    "skip_requesting_account_id": True,
    "skip_metadata_api_check": True,
    "skip_region_validation": True,
    "allowed_account_ids": None,
}


def as_list(value):
    """Terraform JSON allows a block to be an object or a list of objects."""
    return value if isinstance(value, list) else [value]


def is_override(path):
    name = os.path.basename(path)
    return name in ("override.tf.json", "override.tf") or name.endswith(("_override.tf.json", "_override.tf"))


def scan_json(path, aliases):
    """Collect aws provider aliases; return True if the file configures a backend or cloud block."""
    with open(path) as fh:
        doc = json.load(fh)
    for block in as_list(doc.get("provider", {})):
        for cfg in as_list(block.get("aws", [])):
            aliases.add(cfg.get("alias"))
    return any(tb.get("backend") or tb.get("cloud") for tb in as_list(doc.get("terraform", {})))


def scan_hcl(path, aliases):
    """Native-syntax files (govc emits none, but be safe): detect textually."""
    with open(path) as fh:
        text = fh.read()
    for block in re.finditer(r'^\s*provider\s+"aws"\s*\{(.*?)^\}', text, re.M | re.S):
        alias = re.search(r'^\s*alias\s*=\s*"([^"]+)"', block.group(1), re.M)
        aliases.add(alias.group(1) if alias else None)
    return bool(re.search(r'^\s*(backend\s+"[^"]+"|cloud)\s*\{', text, re.M))


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit(__doc__)
    root = sys.argv[1]
    aliases, has_backend = set(), False
    for path in sorted(glob.glob(os.path.join(root, "*.tf.json"))):
        if not is_override(path):
            has_backend |= scan_json(path, aliases)
    for path in sorted(glob.glob(os.path.join(root, "*.tf"))):
        if not is_override(path):
            has_backend |= scan_hcl(path, aliases)
    # No explicit aws provider block: the default (unaliased) configuration is still used.
    aliases.add(None)

    providers = []
    for alias in sorted(aliases, key=lambda a: a or ""):
        cfg = {"alias": alias} if alias else {}
        cfg.update(SKIP_FLAGS)
        providers.append(cfg)
    override = {"provider": {"aws": providers}}
    if has_backend:
        override["terraform"] = {"backend": {"local": {"path": "terraform.tfstate"}}}

    out = os.path.join(root, OVERRIDE_NAME)
    with open(out, "w") as fh:
        json.dump(override, fh, indent=2)
        fh.write("\n")
    print(out)


if __name__ == "__main__":
    main()
