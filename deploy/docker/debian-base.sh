#!/usr/bin/env bash
# Makes a Debian bookworm root filesystem as a tarball for `podman import`
# (or `docker import`): a base for deploy/docker/Dockerfile's BUILD_IMAGE and
# RUNTIME_IMAGE where debian:bookworm and debian:bookworm-slim cannot be
# pulled. debootstrap's minbase plus what the official images add to it, so
# the images come out as they would from bookworm-slim. Needs root and
# debootstrap (Debian's package); takes a minute or two.
#
#   debian-base.sh <out.tar> [mirror, default http://deb.debian.org/debian]
#   podman import <out.tar> localhost/debian:bookworm
set -euo pipefail
OUT="$1"
MIRROR="${2:-http://deb.debian.org/debian}"
rootfs="$(mktemp -d "${TMPDIR:-/tmp}/bookworm.XXXXXX")"
trap 'rm -rf "$rootfs" "$rootfs.log" "$OUT.tmp"' EXIT
chmod 0755 "$rootfs"  # it becomes the image's /, which every user must traverse
echo "debootstrap bookworm from $MIRROR" >&2
if ! timeout 900 debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >"$rootfs.log" 2>&1; then
  tail -20 "$rootfs.log" >&2
  echo "debootstrap failed" >&2
  exit 1
fi
# What the official images add to debootstrap: their apt sources (updates
# and security too), apt's caches cleaned after every install, and the slim
# images' dpkg filters (no docs, man pages or translations).
rm -f "$rootfs/etc/apt/sources.list"
cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
rm -rf "$rootfs"/usr/share/{man,info,locale,lintian}/* "$rootfs"/var/cache/apt/archives/*.deb \
  "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
tar --numeric-owner -C "$rootfs" -cf "$OUT.tmp" .
mv "$OUT.tmp" "$OUT"
