#!/usr/bin/env bash
# THE test command (the README gives it; .ci/run calls it): system packages, formatting, lints, the Rust
# tests, the CloudFormation lint and the PHP checks. Every section runs even if an earlier one failed, so
# one run shows every problem; the exit status is non-zero if any section failed.
set -uo pipefail
cd "$(dirname "$0")/.."

failed=()

section() {
    local name="$1"
    shift
    printf '\n==== %s ====\n' "$name"
    local started=$SECONDS
    if "$@"; then
        printf -- '---- %s: ok (%ss)\n' "$name" "$((SECONDS - started))"
    else
        printf -- '---- %s: FAILED (%ss)\n' "$name" "$((SECONDS - started))"
        failed+=("$name")
    fi
}

php_checks() {
    if [ -f plugin/DynamoSession/ci-tests.sh ]; then
        bash plugin/DynamoSession/ci-tests.sh
    else
        echo "skipped: plugin/DynamoSession/ci-tests.sh does not exist yet"
    fi
}

section "system packages (ci/setup-system.sh)" bash ci/setup-system.sh
if [ "${#failed[@]}" -ne 0 ]; then
    echo "the system packages could not be installed; the other sections would fail for that reason" >&2
    exit 1
fi

# The container backend runs for real where this script can start a Docker engine (CI does, as root); there
# its tests must run, not skip. Elsewhere they skip, saying why.
# shellcheck source=ci/docker.sh
source ci/docker.sh
docker_ready=0
container_backend() {
    docker_engine_start &&
        cargo build -q -p dynamo-harness &&
        docker_image_build target/debug/dynamo-harness
}
if [ "${CI:-}" = "true" ] || [ "$(id -u)" -eq 0 ]; then
    trap docker_engine_stop EXIT
    section "Docker engine and the container image (ci/docker.sh)" container_backend
    if [ "${#failed[@]}" -eq 0 ]; then
        docker_ready=1
        export DYNAMO_HARNESS_REQUIRE_DOCKER=1 DYNAMO_HARNESS_CONTAINER_IMAGE="$CONTAINER_IMAGE"
    fi
else
    echo "skipped: the Docker engine (starting dockerd needs root); the container backend's tests skip"
fi

section "cargo fmt --all --check" cargo fmt --all --check
section "cargo clippy --workspace --all-targets -- -D warnings" cargo clippy --workspace --all-targets -- -D warnings
section "cargo test --workspace --no-fail-fast" cargo test --workspace --no-fail-fast
# The catalogue as users run it, slow cases included (the SDK's full retry backoff), cases in parallel: the Rust
# handler, the Rust web app alone, in locking mode, and as two nodes on one table, plus the PHP subjects, which
# report themselves skipped (with the composer command) where no vendor tree exists; and the reference handler
# behind the protocol as a program (cmd:), which must agree with it in process on every case. The debug binary
# is the one cargo test just built.
conformance_matrix() {
    cargo run -q -p dynamo-harness -- conform --slow \
        --subjects "rust,cmd:rust-worker=target/debug/dynamo-harness worker,rust-http,rust-http+rust-http,php,php-http" \
        --report target/ci-reports/conform &&
        python3 ci/same-results.py target/ci-reports/conform/results.json rust rust-worker &&
        cargo run -q -p dynamo-harness -- conform --subjects rust-http --locking --group K,traces \
            --report target/ci-reports/conform-locking
}
section "conformance matrix (dynamo-harness conform)" conformance_matrix
container_conformance() {
    cargo run -q -p dynamo-harness -- conform --backend container --image "$CONTAINER_IMAGE" \
        --subjects rust --report target/ci-reports/conform-container
}
if [ "$docker_ready" -eq 1 ]; then
    section "conformance on the container backend (conform --backend container)" container_conformance
fi
section "cfn-lint (ci/cfn-lint.sh)" bash ci/cfn-lint.sh
section "PHP (plugin/DynamoSession/ci-tests.sh)" php_checks
# The binary as an operator gets it: a copy outside the checkout, run from an empty folder with its own HOME and
# cache, so it uses only the files it carries (harness/src/assets.rs); `doctor` on a table made by `backend up`
# must pass, and on a missing table must fail with exit status 1.
operator_checks() {
    local dir endpoint status
    dir="$(mktemp -d)"
    cp target/debug/dynamo-harness "$dir/dynamo-harness"
    mkdir -p "$dir/home" "$dir/empty"
    (
        cd "$dir/empty" || exit 1
        export HOME="$dir/home" DYNAMO_HARNESS_CACHE_DIR="$dir/home/.cache/dynamo-harness"
        unset DYNAMO_HARNESS_ASSETS DYNAMO_SESSION_PLUGIN_PATH COMANAGE_REGISTRY_DYNAMODB_ENDPOINT
        "$dir/dynamo-harness" --version || exit 1
        "$dir/dynamo-harness" conform --list | tail -n 1 || exit 1
        coproc backend { exec "$dir/dynamo-harness" backend up 2>&1; }
        endpoint=""
        while read -r line <&"${backend[0]}"; do
            case "$line" in
            endpoint:*) endpoint="${line#endpoint: }" ;;
            ready) break ;;
            esac
        done
        [ -n "$endpoint" ] || { echo "backend up gave no endpoint"; exit 1; }
        "$dir/dynamo-harness" doctor --endpoint "$endpoint"
        status=$?
        "$dir/dynamo-harness" doctor --endpoint "$endpoint" --table no_such_table -q
        missing=$?
        kill "$backend_PID"
        wait "$backend_PID" 2>/dev/null
        [ "$status" -eq 0 ] && [ "$missing" -eq 1 ] && [ -d "$DYNAMO_HARNESS_CACHE_DIR/assets" ]
    )
    status=$?
    rm -rf "$dir"
    return "$status"
}
section "operator checks (a copied binary: --version, backend up, doctor)" operator_checks

echo
if [ "${#failed[@]}" -eq 0 ]; then
    echo "==== all sections passed"
    exit 0
fi
echo "==== failed sections:"
printf '  - %s\n' "${failed[@]}"
exit 1
