#!/bin/bash
# Build (once) the Debian 13 "trixie" chroot that runs the JupyterHub 5.2 test hub.
#
#   test/rig/make-chroot.sh            # ${ROAMLAB_RIG_DIR:-/var/lib/roamlab-rig}/trixie
#
# Idempotent: when DIR/.roamlab-rig-ready exists (and matches this script's package list) it
# does nothing. Otherwise it builds into DIR.tmp (reusing a finished debootstrap already
# there), installs the hub packages inside, writes the marker and renames DIR.tmp to DIR.
#
# SAFETY: never bind-mounts the host's /dev; see chroot-mounts.sh. Deletes only with
# `rm -rf --one-file-system`, after unmounting.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rig_dir=${ROAMLAB_RIG_DIR:-/var/lib/roamlab-rig}
final=$rig_dir/trixie
tmp=$final.tmp
marker_name=.roamlab-rig-ready
mirror=${ROAMLAB_RIG_MIRROR:-http://deb.debian.org/debian}

# What the 5.2 hub needs inside. configurable-http-proxy is a Recommends of trixie's
# jupyterhub (and we install --no-install-recommends), so it is named explicitly.
packages=(
  jupyterhub
  jupyterlab
  python3-ipykernel
  python3-psutil
  node-configurable-http-proxy
  nodejs
  ca-certificates
)
marker_content="packages=${packages[*]}"

log() { printf '[make-chroot] %s\n' "$*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
  log "must run as root (debootstrap, chroot, mount)"
  exit 1
fi

if [[ -f "$final/$marker_name" ]] && [[ "$(cat "$final/$marker_name")" == "$marker_content"* ]]; then
  log "chroot ready at $final (marker present); nothing to do"
  exit 0
fi

mkdir -p "$rig_dir"

# A finished DIR without a (matching) marker: continue building in place.
build=$tmp
if [[ -d "$final" && ! -e "$tmp" ]]; then
  build=$final
fi

unmount_build() { "$here/chroot-mounts.sh" umount "$build" || true; }
trap unmount_build EXIT

# 1. debootstrap (reuse a complete one: debootstrap removes DIR/debootstrap when it succeeds).
if [[ -d "$build" && ( -d "$build/debootstrap" || ! -x "$build/usr/bin/apt-get" ) ]]; then
  log "removing incomplete debootstrap at $build"
  "$here/chroot-mounts.sh" umount "$build" || true
  rm -rf --one-file-system -- "$build"
fi
if [[ ! -d "$build" ]]; then
  command -v debootstrap >/dev/null || { log "debootstrap missing: apt-get install debootstrap"; exit 1; }
  log "debootstrap --variant=minbase trixie $build $mirror (takes a few minutes)"
  debootstrap --variant=minbase trixie "$build" "$mirror"
else
  log "reusing debootstrap at $build"
fi

# 2. packages inside.
"$here/chroot-mounts.sh" mount "$build"
in_chroot() {
  chroot "$build" /usr/bin/env -i \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}
# Keep services from starting inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$build/usr/sbin/policy-rc.d"
chmod 755 "$build/usr/sbin/policy-rc.d"

log "apt-get update + install ${packages[*]} inside the chroot"
in_chroot apt-get update -q
in_chroot apt-get install -y -q --no-install-recommends "${packages[@]}"
in_chroot apt-get clean

# 3. sanity: the hub, the proxy and the single-user server are all there.
in_chroot /usr/bin/jupyterhub --version
in_chroot /usr/bin/jupyterhub-singleuser --version >/dev/null
in_chroot /usr/bin/configurable-http-proxy --version
in_chroot /usr/bin/python3 -c 'import jupyterlab, ipykernel, psutil; print("jupyterlab", jupyterlab.__version__)'

hub_version=$(in_chroot /usr/bin/jupyterhub --version | tail -n 1)
printf '%s\nhub=%s\nbuilt=%s\n' "$marker_content" "$hub_version" "$(date -u +%FT%TZ)" >"$build/$marker_name"

"$here/chroot-mounts.sh" umount "$build"
trap - EXIT
if [[ "$build" != "$final" ]]; then
  if [[ -e "$final" ]]; then
    log "replacing stale $final"
    "$here/chroot-mounts.sh" umount "$final" || true
    rm -rf --one-file-system -- "$final"
  fi
  mv -- "$build" "$final"
fi
log "chroot ready at $final (JupyterHub $hub_version)"
