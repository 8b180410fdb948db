#!/usr/bin/env bash
# Build the project's Dockerfile, unchanged, into a real OCI image with podman, on a machine that
# reaches Debian's packages and PyPI but no container registry.
#
#   container/build.sh            install the engine if missing, make the base, build the image
#   container/build.sh engine     only install and configure podman + runc + mmdebstrap
#   container/build.sh base       ... and make/import the local python:3.11-slim
#   container/build.sh check      exit 0 if the engine can run a container here, 3 if it cannot
#
# Everything it keeps lives in $SOLIDAFY_CONTAINER_CACHE (default /var/cache/solidafy-container),
# outside the repository: podman's storage (so warm builds reuse layers) and the base root
# filesystem, keyed by a hash of what it is made from. `container/bin/docker` is a docker-compatible
# CLI over the same storage and settings (PyAirbyte and airbyte-cdk call `docker`).
#
# Settings this kind of machine needs: runc (crun refuses the hybrid cgroup layout), rlimits no higher
# than the hard limits podman itself has (no CAP_SYS_RESOURCE), the host network by default (no bridge
# is ever created; a container that publishes a port with -p runs in a user-mode network of its own,
# --network slirp4netns:port_handler=slirp4netns), and the host's CA bundle bound over the image's
# for the build's pip (this machine's egress re-signs TLS; a build-time mount, never a layer).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
CACHE=${SOLIDAFY_CONTAINER_CACHE:-/var/cache/solidafy-container}
IMAGE=${SOLIDAFY_IMAGE:-solidafy/source-solidafy:dev}
BUILD_STAGE=$IMAGE-build  # the Dockerfile's build stage, tagged so that its layers stay cached
BASE=docker.io/library/python:3.11-slim
CA=/etc/ssl/certs/ca-certificates.crt
SUITE=bookworm
# What the base is made of; python:3.11-slim is debian:bookworm-slim (no docs, man pages, locales)
# plus Python, ca-certificates, netbase and tzdata.
PACKAGES=python3,python3-venv,python-is-python3,ca-certificates,netbase,tzdata
SLIM_EXCLUDES=(/usr/share/man/'*' /usr/share/doc/'*' /usr/share/locale/'*' /usr/share/info/'*'
  /usr/share/groff/'*' /usr/share/lintian/'*' /usr/share/linda/'*')
T0=$SECONDS
step() { echo "== [$((SECONDS - T0))s] $*" >&2; }

export CONTAINERS_STORAGE_CONF="$CACHE/storage.conf" CONTAINERS_CONF="$CACHE/containers.conf"

install_engine() {
  local tool missing=
  for tool in podman runc mmdebstrap slirp4netns; do command -v "$tool" >/dev/null || missing=1; done
  if [ -n "$missing" ]; then
    step "install podman, runc, mmdebstrap, slirp4netns (Debian packages)"
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
      echo "container engine missing and cannot be installed here (needs root and apt-get)" >&2
      exit 3
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends podman runc mmdebstrap slirp4netns uidmap ca-certificates >/dev/null
  fi
  mkdir -p "$CACHE"
  write_config
}

write_config() {
  local nofile nproc
  nofile=$(ulimit -Hn)
  nproc=$(ulimit -Hu)
  if [ "$nofile" = unlimited ] || [ "$nofile" -gt 1048576 ]; then nofile=1048576; fi
  if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
  cat >"$CACHE/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$CACHE/storage"
runroot = "$CACHE/run"
EOF
  cat >"$CACHE/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
netns = "host"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
}

base_key() {
  # Everything the root filesystem depends on: the recipe below and the host's Debian mirror list.
  { echo "$SUITE $PACKAGES ${SLIM_EXCLUDES[*]} no-recommends merged-usr-hook v1"; cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true; } \
    | sha256sum | cut -c1-16
}

make_base() {
  local key tar
  key=$(base_key)
  tar="$CACHE/base-$key.tar"
  if [ ! -s "$tar" ]; then
    step "bootstrap Debian $SUITE + python3 (slim) into $tar"
    local opts=()
    for pattern in "${SLIM_EXCLUDES[@]}"; do opts+=("--dpkgopt=path-exclude=$pattern"); done
    opts+=("--dpkgopt=path-include=/usr/share/doc/*/copyright")
    # merged /usr by symlinks, as debootstrap makes it (else mmdebstrap pulls usrmerge, and with it perl)
    opts+=(--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)
    local sources=()
    for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do [ -s "$f" ] && sources+=("$f"); done
    TMPDIR="$CACHE" mmdebstrap --quiet --variant=minbase --format=tar "${opts[@]}" \
      --include="$PACKAGES" --aptopt='Acquire::Retries "3"' --aptopt='APT::Install-Recommends "false"' \
      "$SUITE" "$tar.part" "${sources[@]}"
    mv "$tar.part" "$tar"
    find "$CACHE" -maxdepth 1 -name 'base-*.tar' ! -name "base-$key.tar" -delete
  fi
  if [ "$(podman image inspect --format '{{index .Labels "solidafy.base"}}' "$BASE" 2>/dev/null)" != "$key" ]; then
    step "import it as $BASE"
    podman import -q \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' \
      --change "LABEL solidafy.base=$key" \
      --change 'CMD ["python3"]' \
      "$tar" "$BASE" >/dev/null
  fi
}

build_image() {
  step "build $REPO/Dockerfile as $IMAGE"
  local mounts=() args
  [ -s "$CA" ] && mounts=(-v "$CA:$CA:ro")
  args=(--pull=never --network host "${mounts[@]}" -f "$REPO/Dockerfile")
  local log="$CACHE/build.log"
  # The build stage gets a tag of its own, so pruning keeps its layers (the installed dependencies
  # above all) for the next build; the second command finds every build-stage step cached.
  if ! { podman build "${args[@]}" --target build -t "$BUILD_STAGE" "$REPO" \
         && podman build "${args[@]}" -t "$IMAGE" "$REPO"; } >"$log" 2>&1; then
    tail -40 "$log" >&2
    exit 1
  fi
  prune
  step "built $IMAGE: $(podman image inspect --format '{{.Size}}' "$IMAGE") bytes"
}

prune() {
  # Untagged images no tagged one is built on: the previous build's final image and build-stage
  # layers of an older source. Ancestors of a tag stay (the base, the dependency layers), so the
  # storage holds one build's worth of layers per tag, however many builds ran.
  podman image prune -f >/dev/null 2>&1 || true
}

can_run() {
  podman run --rm --network none "$BASE" python -c 'print("ok")' >/dev/null
}

case "${1:-all}" in
  engine) install_engine ;;
  base) install_engine; make_base ;;
  check)
    command -v podman >/dev/null || { echo "podman not installed" >&2; exit 3; }
    write_config
    make_base
    can_run || { echo "podman cannot run a container on this machine" >&2; exit 3; }
    ;;
  all)
    install_engine
    make_base
    can_run || { echo "podman cannot run a container on this machine" >&2; exit 3; }
    build_image
    ;;
  *) echo "usage: $0 [all|engine|base|check]" >&2; exit 2 ;;
esac
