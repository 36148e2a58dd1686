#!/usr/bin/env bash
# PHP checks of the DynamoSession plugin, of the CakePHP test app and of the harness's PHP handler workers, as CI
# runs them:
#   1. php -l on every PHP file under plugin/, fixtures/cakephp-app/, fixtures/php-worker/,
#      fixtures/async-aws-worker/ and fixtures/php-protocol/ (the protocol layer both workers share; Composer vendor
#      trees and tmp/ excluded);
#   2. phpcs with plugin/DynamoSession/phpcs.xml.dist (PSR-12 minus the CakePHP 2 exclusions), when installed;
#   3. PHPUnit 9.6 with plugin/DynamoSession/phpunit.xml.dist (the plugin), then with
#      fixtures/php-worker/phpunit.xml.dist (the worker, which is test code and not part of the plugin), then with
#      fixtures/async-aws-worker/phpunit.xml.dist (the async-aws comparison worker, test code too); both cover
#      fixtures/php-protocol/.
# Arguments are passed to every phpunit run (e.g. --filter).
# Exit status: non-zero when any of them fails, or when php or phpunit is missing.
#
# Debian 12 packages: php-cli php-xml php-mbstring php-curl phpunit php-codesniffer
# Tests needing the AWS SDK and CakePHP skip unless a vendor tree is found (DYNAMO_SESSION_VENDOR, see README.md);
# the async-aws worker's tests needing async-aws skip unless ASYNC_AWS_VENDOR (or fixtures/async-aws-worker/vendor)
# holds it; tests needing DynamoDB skip unless DYNAMO_SESSION_TEST_ENDPOINT names a running server. Skips are
# listed with their reason (phpunit -v), never counted as passes.
set -euo pipefail

plugin_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo_dir=$(cd "$plugin_dir/../.." && pwd -P)
php_bin=${PHP:-php}
phpunit_bin=${PHPUNIT:-phpunit}
phpcs_bin=${PHPCS:-phpcs}

need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "ci-tests: '$1' not found. Install it: apt-get install -y php-cli php-xml php-mbstring php-curl phpunit php-codesniffer" >&2
        exit 127
    fi
}
need "$php_bin"
need "$phpunit_bin"

echo "== php -l (plugin/, fixtures/cakephp-app/, fixtures/php-worker/, fixtures/async-aws-worker/, fixtures/php-protocol/)"
lint_failed=0
lint_count=0
while IFS= read -r -d '' file; do
    lint_count=$((lint_count + 1))
    if ! out=$("$php_bin" -d display_errors=1 -l "$file" 2>&1); then
        echo "$out" >&2
        lint_failed=1
    fi
done < <(find "$repo_dir/plugin" "$repo_dir/fixtures/cakephp-app" "$repo_dir/fixtures/php-worker" \
    "$repo_dir/fixtures/async-aws-worker" "$repo_dir/fixtures/php-protocol" \
    \( -type d \( -name vendor -o -name Vendor -o -name node_modules -o -name tmp \) -prune \) \
    -o \( -type f -name '*.php' -print0 \))
echo "php -l: $lint_count files checked"
if [ "$lint_failed" -ne 0 ]; then
    echo "ci-tests: php -l found syntax errors" >&2
    exit 1
fi

echo "== phpcs (PSR-12, plugin/DynamoSession/phpcs.xml.dist)"
if command -v "$phpcs_bin" >/dev/null 2>&1; then
    "$phpcs_bin" --standard="$plugin_dir/phpcs.xml.dist" --report-width=120 \
        "$plugin_dir" "$repo_dir/fixtures/cakephp-app" "$repo_dir/fixtures/php-worker" \
        "$repo_dir/fixtures/async-aws-worker" "$repo_dir/fixtures/php-protocol"
    echo "phpcs: no violations"
else
    echo "phpcs: SKIPPED, phpcs not installed (apt-get install -y php-codesniffer)"
fi

status=0
echo "== phpunit (plugin/DynamoSession/phpunit.xml.dist)"
(cd "$plugin_dir" && "$phpunit_bin" --configuration "$plugin_dir/phpunit.xml.dist" --verbose "$@") || status=1
echo "== phpunit (fixtures/php-worker/phpunit.xml.dist)"
worker_dir="$repo_dir/fixtures/php-worker"
(cd "$worker_dir" && "$phpunit_bin" --configuration "$worker_dir/phpunit.xml.dist" --verbose "$@") || status=1
echo "== phpunit (fixtures/async-aws-worker/phpunit.xml.dist)"
async_dir="$repo_dir/fixtures/async-aws-worker"
(cd "$async_dir" && "$phpunit_bin" --configuration "$async_dir/phpunit.xml.dist" --verbose "$@") || status=1
if [ "$status" -ne 0 ]; then
    echo "ci-tests: phpunit failed (see above)" >&2
fi
exit "$status"
