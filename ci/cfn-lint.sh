#!/usr/bin/env bash
# Lints the CloudFormation templates under fixtures/cloudformation with cfn-lint at the version pinned in
# ci/versions.env, installed into a venv in the per-user cache (never system-wide).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=versions.env
source ci/versions.env

cache_root="${DYNAMO_HARNESS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dynamo-harness}"
venv="$cache_root/cfn-lint-$CFN_LINT_VERSION/venv"
if ! "$venv/bin/cfn-lint" --version 2>/dev/null | grep -qF "$CFN_LINT_VERSION"; then
    echo "cfn-lint: installing cfn-lint $CFN_LINT_VERSION into $venv"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "cfn-lint==$CFN_LINT_VERSION"
fi

shopt -s nullglob
templates=(fixtures/cloudformation/*.yaml fixtures/cloudformation/*.yml fixtures/cloudformation/*.json)
if [ "${#templates[@]}" -eq 0 ]; then
    echo "cfn-lint: no templates under fixtures/cloudformation" >&2
    exit 1
fi
"$venv/bin/cfn-lint" --version
"$venv/bin/cfn-lint" -- "${templates[@]}"
echo "cfn-lint: ${#templates[@]} template(s) clean: ${templates[*]}"
