#!/usr/bin/env bash
# Dumps the Kustomize fixture trees and runs the real tools over them:
# k8s-validate (yamllint, kubectl kustomize, strict schemas), iac-scan (checkov) with this
# directory's allowlist, and, when node/npm are present, the External Secrets CRD check.
# Usage: check-tools.sh [OUT_DIR]   (GOVC_TOOLS overrides the tools directory)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(git -C "$here" rev-parse --show-toplevel)
tools=${GOVC_TOOLS:-$root/../shared/tools}
out=${1:-$(mktemp -d)}
rm -rf "$out/trees"
GOVC_DUMP_DIR="$out/trees" cargo test -q -p govc-compiler emit::kustomize::tests::dump_when_asked >/dev/null
# ExternalSecret and ClusterSecretStore are CRDs kubernetes-validate has no schema for; they are checked below instead.
"$tools/k8s-validate" --allow-unknown-kinds "$out"/trees/*/kubernetes
for tree in "$out"/trees/*; do
  "$tools/iac-scan" --allow "$here/checkov-allow.txt" --out "$out/scan-$(basename "$tree")" "$tree"
done
if command -v npm >/dev/null && command -v node >/dev/null; then
  eso="$out/eso"
  mkdir -p "$eso"
  if [ ! -d "$eso/node_modules/@kubernetes-models/external-secrets" ]; then
    (cd "$eso" && npm init -y >/dev/null && npm install --silent @kubernetes-models/external-secrets@2.0.0 js-yaml@4 >/dev/null)
  fi
  cp "$here/validate-externalsecrets.mjs" "$eso/"
  node "$eso/validate-externalsecrets.mjs" "$out"/scan-*/scan/k8s-*.yaml | tail -n 1
else
  echo "skipped: ExternalSecret CRD check (node/npm not found)"
fi
