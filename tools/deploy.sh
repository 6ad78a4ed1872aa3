#!/usr/bin/env bash
# Set up and deploy one stack, the path the README gives a person:
#   tools/deploy.sh dev        (or prod)
# 1. the Pulumi CLI at the version pinned in .pulumi.version (downloaded only when missing);
# 2. the program's virtualenv (.venv) and the policy pack's (policy/venv);
# 3. the stack selected, or created;
# 4. `pulumi up --policy-pack policy`: it previews, runs the guardrail pack CI runs, shows the
#    diff and asks before it changes anything.
# Every step that fails stops the chain, saying what it needed; nothing after it runs.
# The installer's flags (--version, --no-edit-path) are the ones Pulumi's own Automation API
# passes it (pulumi/pulumi sdk/python/lib/pulumi/automation/_cmd.py, PulumiCommand.install).
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
  echo "deploy: $*" >&2
  exit 1
}

stack="${1:-}"
[ -n "$stack" ] || fail "usage: tools/deploy.sh STACK (a stack file Pulumi.<STACK>.yaml: dev, prod)"
[ -f "Pulumi.${stack}.yaml" ] || fail "no stack file Pulumi.${stack}.yaml in $(pwd)"
version="$(cat .pulumi.version)"
install_doc="https://www.pulumi.com/docs/iac/download-install/"

export PATH="$HOME/.pulumi/bin:$PATH"
if [ "$(pulumi version 2>/dev/null || true)" != "v${version}" ]; then
  echo "deploy: installing the Pulumi CLI v${version} into ~/.pulumi" >&2
  installer="$(mktemp)"
  trap 'rm -f "$installer"' EXIT
  curl -fsSL --retry 2 https://get.pulumi.com -o "$installer" \
    || fail "could not download the Pulumi installer from https://get.pulumi.com (it needs HTTPS access to get.pulumi.com, and to github.com for the release); install Pulumi CLI v${version} another way (${install_doc}) and run this again"
  sh "$installer" --version "$version" --no-edit-path \
    || fail "the Pulumi installer failed (its output is above); install Pulumi CLI v${version} another way (${install_doc}) and run this again"
  [ "$(pulumi version 2>/dev/null || true)" = "v${version}" ] \
    || fail "pulumi v${version} is still not on PATH after the install (found: $(command -v pulumi || echo none)); install it another way (${install_doc})"
fi

python3 -m venv .venv \
  || fail "python3 -m venv .venv failed: this needs Python 3.11 or later with the venv module (Debian/Ubuntu: apt install python3-venv)"
.venv/bin/pip install -q -r requirements.txt \
  || fail "pip could not install requirements.txt into .venv (it needs the Python package index, or PIP_INDEX_URL set to a mirror)"
python3 -m venv policy/venv && policy/venv/bin/pip install -q -r policy/requirements.txt \
  || fail "pip could not install policy/requirements.txt into policy/venv (it needs the Python package index, or PIP_INDEX_URL set to a mirror)"

pulumi stack select "$stack" 2>/dev/null || pulumi stack init "$stack" \
  || fail "could not select or create stack ${stack}: is the state backend reachable (PULUMI_BACKEND_URL, README \"State backend\")?"

exec pulumi up --stack "$stack" --policy-pack policy --diff
