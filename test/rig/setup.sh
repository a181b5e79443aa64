#!/bin/bash
# Prepare the machine for Roamlab's integration tests (what .ci/run calls before the tests).
#
#   test/rig/setup.sh
#
# 1. installs the Debian 12 packages the rig needs (apt-get update only when something is
#    missing and the package lists are absent or stale),
# 2. builds the Debian 13 chroot with JupyterHub 5.2 (test/rig/make-chroot.sh; reused when done).
#
# Idempotent. Details go to the log file (ROAMLAB_RIG_SETUP_LOG, default
# /tmp/roamlab-rig-setup.log); the terminal only gets a summary.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log=${ROAMLAB_RIG_SETUP_LOG:-/tmp/roamlab-rig-setup.log}
rig_dir=${ROAMLAB_RIG_DIR:-/var/lib/roamlab-rig}
: >"$log"

packages=(
  debootstrap
  jupyterhub
  jupyter-notebook
  python3-psutil
  python3-ipykernel
  node-configurable-http-proxy
  nginx
  openssl
  ca-certificates
  openssh-server
  openssh-client
  libpam-oath
  gnome-keyring
  dbus
  dbus-x11
  libsecret-tools
  xvfb
  chromium
  nftables
  iproute2
  procps
  psmisc
  coreutils
)

say() { printf '[rig-setup] %s\n' "$*"; printf '[rig-setup] %s\n' "$*" >>"$log"; }
fail() {
  say "FAILED: $*"
  say "last lines of $log:"
  tail -n 30 "$log" >&2
  exit 1
}

if [[ $(id -u) -ne 0 ]]; then
  fail "must run as root (apt-get, debootstrap, chroot)"
fi

start=$(date +%s)

# 1. host packages -----------------------------------------------------------------------------
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  say "host packages: all ${#packages[@]} installed"
else
  say "host packages: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Update the lists only if needed: none there yet, older than a day, or the install fails.
  lists_fresh=$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -n 1)
  if [[ -z "$lists_fresh" ]]; then
    say "apt-get update"
    apt-get update -q >>"$log" 2>&1 || fail "apt-get update"
  fi
  if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
    say "install failed; apt-get update and retry"
    apt-get update -q >>"$log" 2>&1 || fail "apt-get update"
    apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1 || fail "apt-get install ${missing[*]}"
  fi
  say "host packages: installed ${#missing[@]}"
  # The tests run nginx with a config of their own; one the package started (where no
  # policy-rc.d stops it) would only hold port 80.
  if [[ " ${missing[*]} " == *" nginx "* ]]; then
    /usr/sbin/nginx -s quit >>"$log" 2>&1 || true
  fi
fi

# Sanity of what the tests call directly.
for bin in /usr/bin/jupyterhub /usr/bin/jupyterhub-singleuser /usr/bin/configurable-http-proxy \
  /usr/bin/dbus-daemon /usr/bin/gnome-keyring-daemon /usr/bin/secret-tool /usr/sbin/debootstrap /usr/sbin/chroot \
  /usr/sbin/sshd /usr/bin/ssh /usr/sbin/ip /usr/sbin/nft /usr/sbin/nginx /usr/bin/openssl; do
  [[ -x "$bin" ]] || fail "$bin is missing"
done
host_hub=$(/usr/bin/jupyterhub --version 2>>"$log" | tail -n 1) || fail "/usr/bin/jupyterhub --version"
say "host JupyterHub $host_hub"

# 2. the trixie chroot -------------------------------------------------------------------------
if [[ -f "$rig_dir/trixie/.roamlab-rig-ready" ]]; then
  "$here/make-chroot.sh" >>"$log" 2>&1 || fail "make-chroot.sh"
  say "chroot: reused $rig_dir/trixie"
else
  say "chroot: building $rig_dir/trixie (a few minutes; see $log)"
  c0=$(date +%s)
  "$here/make-chroot.sh" >>"$log" 2>&1 || fail "make-chroot.sh"
  say "chroot: built in $(($(date +%s) - c0)) s"
fi
chroot_hub=$(sed -n 's/^hub=//p' "$rig_dir/trixie/.roamlab-rig-ready")
say "chroot JupyterHub $chroot_hub"

say "done in $(($(date +%s) - start)) s (log: $log)"
