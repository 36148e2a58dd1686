#!/usr/bin/env bash
# The Docker engine and the local image the container backend's tests run on. Sourced by ci/test.sh:
#
#   docker_engine_start   starts Debian's dockerd (no iptables, no IP forwarding) unless an engine answers
#                         already, and waits until it does; says why and returns non-zero when it cannot
#   docker_image_build    builds $CONTAINER_IMAGE from the harness binary: FROM scratch, the binary and the
#                         shared libraries it links, serving dynoxide on the container's port 8000
#   docker_engine_stop    removes every container this run started and stops the engine if it started it
#
# No registry is needed: the image is built from files on this machine, and testcontainers uses a local image
# of the requested name without pulling. On a machine with Docker Hub, `--backend container` without --image
# runs Amazon's DynamoDB Local instead.

CONTAINER_IMAGE=${CONTAINER_IMAGE:-dynamo-harness-dynoxide:ci}
docker_run_dir=${DOCKER_RUN_DIR:-/tmp/dynamo-harness-dockerd}
docker_started_here=0

docker_answers() {
    docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

docker_engine_start() {
    if docker_answers; then
        echo "docker: an engine answers already (server $(docker version --format '{{.Server.Version}}')); using it"
        return 0
    fi
    if ! command -v dockerd >/dev/null 2>&1; then
        echo "docker: dockerd is not installed (apt-get install docker.io)" >&2
        return 1
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "docker: starting dockerd needs root" >&2
        return 1
    fi
    mkdir -p "$docker_run_dir"
    # setsid: its own session, so a Ctrl-C of the test run reaches it only through docker_engine_stop.
    setsid dockerd --iptables=false --ip-forward=false --storage-driver=overlay2 \
        --pidfile "$docker_run_dir/dockerd.pid" >"$docker_run_dir/dockerd.log" 2>&1 </dev/null &
    docker_started_here=1
    local waited=0
    until docker_answers; do
        if [ "$waited" -ge 300 ]; then
            echo "docker: dockerd did not answer within 30 s; its log:" >&2
            tail -n 30 "$docker_run_dir/dockerd.log" >&2
            return 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    echo "docker: dockerd $(docker version --format '{{.Server.Version}}') up after $((waited / 10)).$((waited % 10)) s"
}

# $1: the harness binary to put in the image.
docker_image_build() {
    local binary=$1
    local context
    context=$(mktemp -d)
    mkdir -p "$context/rootfs/lib" "$context/rootfs/tmp"
    cp "$binary" "$context/rootfs/dynamo-harness"
    strip --strip-debug "$context/rootfs/dynamo-harness" 2>/dev/null || true
    # The shared libraries it links, at the paths the dynamic loader looks them up (the loader included).
    ldd "$binary" | awk '/=>/ { print $3 } /^[[:space:]]*\// { print $1 }' | while read -r library; do
        [ -f "$library" ] || continue
        mkdir -p "$context/rootfs$(dirname "$library")"
        cp -L "$library" "$context/rootfs$library"
    done
    # The AWS SDK's HTTPS client insists on the system's root certificates, even for a loopback http endpoint.
    mkdir -p "$context/rootfs/etc/ssl/certs"
    cp -L /etc/ssl/certs/ca-certificates.crt "$context/rootfs/etc/ssl/certs/"
    cat >"$context/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
ENV HOME=/tmp SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
EXPOSE 8000
ENTRYPOINT ["/dynamo-harness"]
CMD ["backend", "up", "--backend", "dynoxide", "--listen-host", "0.0.0.0", "--port", "8000", "--no-table"]
EOF
    local started=$SECONDS
    if ! docker build --quiet --tag "$CONTAINER_IMAGE" "$context" >/dev/null; then
        rm -rf "$context"
        echo "docker: building $CONTAINER_IMAGE failed" >&2
        return 1
    fi
    rm -rf "$context"
    echo "docker: built $CONTAINER_IMAGE ($(docker image inspect --format '{{.Size}}' "$CONTAINER_IMAGE") bytes) in $((SECONDS - started)) s"
}

docker_engine_stop() {
    if docker_answers; then
        local containers
        containers=$(docker ps --all --quiet --filter "ancestor=$CONTAINER_IMAGE")
        if [ -n "$containers" ]; then
            # shellcheck disable=SC2086 # one id per word
            docker rm --force $containers >/dev/null
        fi
    fi
    if [ "$docker_started_here" -eq 1 ] && [ -f "$docker_run_dir/dockerd.pid" ]; then
        local pid
        pid=$(cat "$docker_run_dir/dockerd.pid")
        kill "$pid" 2>/dev/null || true
        local waited=0
        while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 200 ]; do
            sleep 0.1
            waited=$((waited + 1))
        done
        kill -9 "$pid" 2>/dev/null || true
        docker_started_here=0
        echo "docker: dockerd stopped"
    fi
}
