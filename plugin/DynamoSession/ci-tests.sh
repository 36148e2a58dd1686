#!/usr/bin/env bash
# PHP checks of the DynamoSession plugin and of the CakePHP test app, as CI runs them:
#   1. php -l on every PHP file under plugin/ and fixtures/cakephp-app/ (Composer vendor trees and tmp/ excluded);
#   2. phpcs with plugin/DynamoSession/phpcs.xml.dist (PSR-12 minus the CakePHP 2 exclusions), when installed;
#   3. PHPUnit 9.6 with plugin/DynamoSession/phpunit.xml.dist.
# Exit status: non-zero when any of them fails, or when php or phpunit is missing.
#
# Debian 12 packages: php-cli php-xml php-mbstring php-curl phpunit php-codesniffer
# Tests needing the AWS SDK and CakePHP skip unless a vendor tree is found (DYNAMO_SESSION_VENDOR, see README.md);
# tests needing DynamoDB skip unless DYNAMO_SESSION_TEST_ENDPOINT names a running server. Skips are listed with
# their reason (phpunit -v), never counted as passes.
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

echo "== php -l (plugin/, fixtures/cakephp-app/)"
lint_failed=0
lint_count=0
while IFS= read -r -d '' file; do
    lint_count=$((lint_count + 1))
    if ! out=$("$php_bin" -d display_errors=1 -l "$file" 2>&1); then
        echo "$out" >&2
        lint_failed=1
    fi
done < <(find "$repo_dir/plugin" "$repo_dir/fixtures/cakephp-app" \
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
        "$plugin_dir" "$repo_dir/fixtures/cakephp-app"
    echo "phpcs: no violations"
else
    echo "phpcs: SKIPPED, phpcs not installed (apt-get install -y php-codesniffer)"
fi

echo "== phpunit"
cd "$plugin_dir"
"$phpunit_bin" --configuration "$plugin_dir/phpunit.xml.dist" --verbose "$@"
