#!/bin/bash
# Mount / unmount the pseudo filesystems a test chroot needs — safely.
#
#   test/rig/chroot-mounts.sh mount   DIR
#   test/rig/chroot-mounts.sh umount  DIR
#   test/rig/chroot-mounts.sh status  DIR
#
# SAFETY: the host's /dev is NEVER bind-mounted into the chroot (a recursive delete through
# such a bind mount empties the machine's /dev). The chroot gets its own proc, a *new* devpts
# instance and a private tmpfs on /dev/shm; the static device nodes debootstrap created in
# DIR/dev (null, zero, urandom, ...) are enough for apt, python and node.
# Mounting is idempotent (checks /proc/mounts); unmounting too. Anything that deletes inside
# DIR must unmount first and use `rm -rf --one-file-system`.
set -euo pipefail

action=${1:-}
dir=${2:-}
if [[ -z "$action" || -z "$dir" ]]; then
  echo "usage: $0 mount|umount|status DIR" >&2
  exit 2
fi
dir=$(readlink -f -- "$dir")
if [[ "$dir" == "/" || ! -d "$dir" ]]; then
  echo "$0: refusing: '$dir' is not a chroot directory" >&2
  exit 2
fi

# True when $1 is a mount point (exact match in /proc/mounts, octal escapes decoded).
is_mounted() {
  local target=$1 mnt
  while read -r _ mnt _; do
    mnt=$(printf '%b' "$mnt")
    [[ "$mnt" == "$target" ]] && return 0
  done </proc/mounts
  return 1
}

do_mount() {
  mkdir -p "$dir/proc" "$dir/dev/pts" "$dir/dev/shm" "$dir/tmp"
  chmod 1777 "$dir/tmp"
  if ! is_mounted "$dir/proc"; then
    mount -t proc proc "$dir/proc"
  fi
  if ! is_mounted "$dir/dev/pts"; then
    mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$dir/dev/pts"
  fi
  # With a private devpts instance, /dev/ptmx must point into it.
  if [[ ! -L "$dir/dev/ptmx" ]]; then
    rm -f -- "$dir/dev/ptmx"
    ln -s pts/ptmx "$dir/dev/ptmx"
  fi
  if ! is_mounted "$dir/dev/shm"; then
    mount -t tmpfs -o mode=1777,nosuid,nodev,size=256m tmpfs "$dir/dev/shm"
  fi
  # apt and pip inside need name resolution.
  if [[ -f /etc/resolv.conf ]]; then
    cp -L /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
  fi
}

do_umount() {
  local m rc=0
  # Also catch anything else somebody mounted below DIR (deepest first).
  mapfile -t extra < <(awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r)
  for m in "${extra[@]}"; do
    m=$(printf '%b' "$m")
    if is_mounted "$m"; then
      umount "$m" 2>/dev/null || umount -l "$m" || rc=1
    fi
  done
  for m in "$dir/dev/shm" "$dir/dev/pts" "$dir/proc"; do
    if is_mounted "$m"; then
      umount "$m" 2>/dev/null || umount -l "$m" || rc=1
    fi
  done
  return $rc
}

case "$action" in
  mount) do_mount ;;
  umount|unmount) do_umount ;;
  status)
    for m in "$dir/proc" "$dir/dev/pts" "$dir/dev/shm"; do
      if is_mounted "$m"; then echo "mounted   $m"; else echo "unmounted $m"; fi
    done
    ;;
  *)
    echo "usage: $0 mount|umount|status DIR" >&2
    exit 2
    ;;
esac
