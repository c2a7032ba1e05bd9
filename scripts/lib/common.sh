# shellcheck shell=bash
# Helpers for scripts/validate and scripts/validate-selftest. Sourced, not executed.

GOVC_SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GOVC_TOOLS_CACHE="${GOVC_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/govc-tools}"
GOVC_TF_PLUGIN_DIR="${GOVC_TF_PLUGIN_DIR:-/opt/tf-plugins}"
TERRAFORM="${TERRAFORM:-terraform}"
KUBECTL="${KUBECTL:-kubectl}"
PYTHON3="${PYTHON3:-python3}"

# Pinned tool versions, installed with pip into one virtualenv per tool.
CHECKOV_VERSION="3.3.30"
KUBERNETES_VALIDATE_VERSION="1.37.0"
YAMLLINT_VERSION="1.38.0"
# check-jsonschema: the Compose specification schema it vendors (--builtin-schema vendor.compose-spec)
CHECK_JSONSCHEMA_VERSION="0.39.0"
# The AWS emulator of scripts/apply-emulated (emulator-unsupported.txt is checked against it).
MOTO_VERSION="5.2.5"

PROG="$(basename "$0")"
log() { printf '[%s] %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 2; }
now() { date +%s.%N; }
# elapsed START -> seconds since START, one decimal
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# fadd A B -> A + B, one decimal
fadd() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a + b }'; }

# need_cmd CMD HINT: exit 2 with a clear message when CMD is not runnable.
need_cmd() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH. $2"
}

# ensure_venv TOOL REQUIREMENT... -> prints the virtualenv directory.
# One venv per tool under $GOVC_TOOLS_CACHE/py-TOOL, so pinned dependencies cannot clash.
# Reinstalled only when the requirement list (or the python3 it was built with) changes;
# installs are serialised with flock so parallel runs do not race.
ensure_venv() {
  local tool="$1"; shift
  local venv="$GOVC_TOOLS_CACHE/py-$tool" want
  want="$* ($("$PYTHON3" -c 'import sys; print("python%d.%d" % sys.version_info[:2])'))"
  if [[ -f "$venv/.govc-pins" && "$(cat "$venv/.govc-pins")" == "$want" && -x "$venv/bin/python" ]]; then
    echo "$venv"; return 0
  fi
  mkdir -p "$GOVC_TOOLS_CACHE"
  (
    flock 9
    if [[ -f "$venv/.govc-pins" && "$(cat "$venv/.govc-pins")" == "$want" && -x "$venv/bin/python" ]]; then
      exit 0
    fi
    local t0; t0="$(now)"
    log "installing $* into $venv (first use or pin changed)"
    rm -rf "$venv"
    "$PYTHON3" -m venv "$venv" >&2 || die "'$PYTHON3 -m venv' failed (on Debian: apt-get install python3-venv)"
    if ! "$venv/bin/pip" install --disable-pip-version-check --no-input -q "$@" >&2; then
      rm -rf "$venv"; die "pip install $* failed (is the Python package index reachable?)"
    fi
    echo "$want" > "$venv/.govc-pins"
    log "installed $* ($(elapsed "$t0")s)"
  ) 9>"$GOVC_TOOLS_CACHE/.lock-py-$tool" || exit $?
  echo "$venv"
}

# Terraform CLI configuration whose only provider installation method is the local filesystem
# mirror (no "direct" method: init can never reach a registry). Exports TF_CLI_CONFIG_FILE.
setup_terraform_env() {
  need_cmd "$TERRAFORM" "Install Terraform 1.11.x or set TERRAFORM=/path/to/terraform."
  [[ -d "$GOVC_TF_PLUGIN_DIR" ]] ||
    die "provider mirror not found: $GOVC_TF_PLUGIN_DIR (set GOVC_TF_PLUGIN_DIR to an unpacked provider mirror)"
  mkdir -p "$GOVC_TOOLS_CACHE"
  local rc="$GOVC_TOOLS_CACHE/validate.terraformrc" tmp
  tmp="$(mktemp "$GOVC_TOOLS_CACHE/.terraformrc.XXXXXX")"
  cat > "$tmp" <<RC
# written by govc scripts/validate: providers come only from the local mirror
disable_checkpoint = true
provider_installation {
  filesystem_mirror {
    path = "$GOVC_TF_PLUGIN_DIR"
  }
}
RC
  if [[ -f "$rc" ]] && cmp -s "$tmp" "$rc"; then rm -f "$tmp"; else mv -f "$tmp" "$rc"; fi
  export TF_CLI_CONFIG_FILE="$rc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
  unset TF_PLUGIN_CACHE_DIR TF_WORKSPACE TF_DATA_DIR
}

# Fake static AWS credentials for the offline plan; shared config and IMDS disabled.
setup_fake_aws_env() {
  unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE \
    AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
  export AWS_ACCESS_KEY_ID="${GOVC_FAKE_AWS_ACCESS_KEY_ID:-AKIAGOVCVALIDATE0000}"
  export AWS_SECRET_ACCESS_KEY="${GOVC_FAKE_AWS_SECRET_ACCESS_KEY:-govc-validate-fake-secret-key}"
  export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
  export AWS_SDK_LOAD_CONFIG=0
}

# copy_tree SRC DST: configuration-only copy (no .terraform, state or plan files).
copy_tree() {
  mkdir -p "$2"
  tar -C "$1" --exclude=.terraform --exclude='terraform.tfstate*' --exclude='*.tfplan' -cf - . | tar -C "$2" -xf -
}

is_tf_root() { compgen -G "$1/*.tf.json" >/dev/null || compgen -G "$1/*.tf" >/dev/null; }
