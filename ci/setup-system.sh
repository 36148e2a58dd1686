#!/usr/bin/env bash
# Installs with apt the system packages the test suite needs, and only those that are missing.
# Idempotent: a second run finds everything and changes nothing (and never runs `apt-get update`).
# Docker (Debian's docker.io) is installed where this runs as root or in CI: ci/test.sh starts its own dockerd
# for the container backend's tests.
set -euo pipefail

packages=()

# dynalite runs on node and is installed with npm. A node from elsewhere (NodeSource, nvm) is fine.
if ! command -v node >/dev/null 2>&1; then
    packages+=(nodejs npm)
elif ! command -v npm >/dev/null 2>&1; then
    packages+=(npm)
fi

# moto and cfn-lint are installed into virtual environments: python3 and its venv module (with ensurepip,
# which Debian ships separately as python3-venv).
if ! command -v python3 >/dev/null 2>&1; then
    packages+=(python3 python3-venv)
else
    probe_dir="$(mktemp -d)"
    if ! python3 -m venv "$probe_dir/venv" >/dev/null 2>&1; then
        packages+=(python3-venv)
    fi
    rm -rf "$probe_dir"
fi

# The DynamoSession plugin's PHPUnit tests.
if ! command -v php >/dev/null 2>&1; then
    packages+=(php-cli php-xml php-mbstring php-curl)
else
    php_modules="$(php -m 2>/dev/null | tr '[:upper:]' '[:lower:]')"
    grep -qx 'dom' <<<"$php_modules" || packages+=(php-xml)
    grep -qx 'mbstring' <<<"$php_modules" || packages+=(php-mbstring)
    grep -qx 'curl' <<<"$php_modules" || packages+=(php-curl)
fi
command -v phpunit >/dev/null 2>&1 || packages+=(phpunit)
# php-http as operators run it (load/compare --php-server fpm): php-fpm behind nginx, both in /usr/sbin.
compgen -G '/usr/sbin/php-fpm*' >/dev/null || command -v php-fpm >/dev/null 2>&1 || packages+=(php-fpm)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || packages+=(nginx)

if [ "${CI:-}" = "true" ] || [ "$(id -u)" -eq 0 ]; then
    command -v dockerd >/dev/null 2>&1 || packages+=(docker.io)
fi

if [ "${#packages[@]}" -eq 0 ]; then
    echo "setup-system: node, npm, python3 -m venv, php (xml, mbstring, curl), phpunit and dockerd are present"
    exit 0
fi

echo "setup-system: installing ${packages[*]}"
as_root=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "setup-system: need root (or sudo) to run: apt-get install ${packages[*]}" >&2
        exit 1
    fi
    as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}"
