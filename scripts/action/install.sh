#!/usr/bin/env bash
# Installs one roster release on this runner, the way the composite action in action.yml does:
# picks the archive cargo-dist built for the runner's OS and architecture, downloads it and the
# release's checksum file (sha256.sum), refuses it unless its SHA-256 is the one listed there,
# verifies its GitHub artifact attestation when gh is on PATH, and keeps the binary in the
# runner's tool cache ($RUNNER_TOOL_CACHE/roster/VERSION/TARGET), so a second job on the same
# runner does not download it again. Nothing is put in the cache before every check has passed.
#
# Environment, all optional:
#   ROSTER_ACTION_VERSION      the release to install, X.Y.Z or vX.Y.Z; default: the version in
#                              the Cargo.toml beside this script (the action's own release).
#                              Never "latest": a pinned action must not run a binary nobody pinned
#   ROSTER_ACTION_REPOSITORY   owner/name whose releases to use; default: Cargo.toml's repository
#   ROSTER_ACTION_RELEASE_URL  the base URL of release downloads (files are fetched from
#                              BASE/vX.Y.Z/NAME); default https://github.com/OWNER/NAME/releases/download.
#                              https, or http to a loopback address (tests)
#   ROSTER_ACTION_OS           Linux | macOS | Windows (default: RUNNER_OS, else uname -s)
#   ROSTER_ACTION_ARCH         X64 | ARM64 (default: RUNNER_ARCH, else uname -m)
#   ROSTER_ACTION_LIBC         gnu | musl, Linux only (default: gnu on glibc 2.35 or newer,
#                              musl, the static build, elsewhere)
#   ROSTER_ACTION_ATTESTATION  auto (verify when gh is on PATH; the default) | required | off
#   ROSTER_ACTION_GH           the GitHub CLI to verify with (default: gh)
#   RUNNER_TOOL_CACHE          the tool cache (default: roster-tool-cache under TMPDIR)
#   GITHUB_PATH, GITHUB_OUTPUT as on a runner: the binary's folder is added to PATH, and the
#                              outputs `path` (the binary) and `version` are set
# Prints the path of the installed binary on stdout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/action/lib.sh
. "$here/lib.sh"
root=$(cd "$here/../.." && pwd)

# A key's string value in one [section] of root's Cargo.toml (only `key = "value"` lines).
cargo_toml() {
  awk -v section="[$1]" -v key="$2" '
    /^\[/ { inside = ($0 == section); next }
    inside && $1 == key && $2 == "=" {
      v = $0; sub(/^[^=]*=[ \t]*"/, "", v); sub(/".*$/, "", v); print v; exit
    }' "$root/Cargo.toml"
}

# ---- which release ----------------------------------------------------------------------------
version=${ROSTER_ACTION_VERSION:-}
if [ -z "$version" ]; then
  [ -f "$root/Cargo.toml" ] || die "no version given and no Cargo.toml beside the action to take it from"
  version=$(cargo_toml workspace.package version)
fi
version=${version#v}
case "$version" in
  latest) die "version 'latest' is refused: pin a release (X.Y.Z), or leave it empty for the action's own" ;;
esac
if ! printf '%s\n' "$version" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$'; then
  die "version '$version' is not a release version (X.Y.Z or vX.Y.Z)"
fi

repo=${ROSTER_ACTION_REPOSITORY:-}
if [ -z "$repo" ]; then
  url=$(cargo_toml workspace.package repository)
  repo=${url#https://github.com/}
  repo=${repo%.git}
  repo=${repo%/}
fi
if ! printf '%s\n' "$repo" | grep -Eq '^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$'; then
  die "cannot tell which repository's releases to use ('$repo'): set ROSTER_ACTION_REPOSITORY to owner/name"
fi

base=${ROSTER_ACTION_RELEASE_URL:-https://github.com/$repo/releases/download}
base=${base%/}
case "$base" in
  https://*) proto='=https' ;;
  http://127.*|http://localhost:*|http://localhost/*|http://\[::1\]*) proto='=http' ;;
  *) die "release URL '$base' is neither https nor http to a loopback address" ;;
esac

# ---- which archive ----------------------------------------------------------------------------
os=${ROSTER_ACTION_OS:-${RUNNER_OS:-$(uname -s)}}
case "$os" in
  Linux|linux) os=linux ;;
  macOS|macos|Darwin|darwin) os=macos ;;
  Windows|windows|MINGW*|MSYS*|CYGWIN*) os=windows ;;
  *) die "no roster build for the operating system '$os' (Linux, macOS and Windows have one)" ;;
esac
arch=${ROSTER_ACTION_ARCH:-${RUNNER_ARCH:-$(uname -m)}}
case "$arch" in
  X64|x64|x86_64|amd64|AMD64) arch=x86_64 ;;
  ARM64|arm64|aarch64) arch=aarch64 ;;
  *) die "no roster build for the architecture '$arch' (x86_64 and aarch64 have one)" ;;
esac

case "$os" in
  linux)
    libc=${ROSTER_ACTION_LIBC:-}
    if [ -z "$libc" ]; then
      # The gnu build needs the glibc it was built with (dist builds it on ubuntu-22.04:
      # glibc 2.35); the musl build is static and runs on any Linux.
      glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{ print $2 }') || glibc=
      if [ -n "$glibc" ] && printf '2.35\n%s\n' "$glibc" | sort -c -t. -k1,1n -k2,2n 2>/dev/null; then
        libc=gnu
      else
        libc=musl
      fi
    fi
    case "$libc" in
      gnu|musl) ;;
      *) die "ROSTER_ACTION_LIBC is '$libc': gnu or musl" ;;
    esac
    target=$arch-unknown-linux-$libc
    ext=tar.xz
    exe=roster
    ;;
  macos)
    target=$arch-apple-darwin
    ext=tar.xz
    exe=roster
    ;;
  windows)
    if [ "$arch" = aarch64 ]; then
      # No native build; Windows on ARM runs x86_64 programs under emulation.
      notice "no aarch64 build for Windows: installing the x86_64 one, which Windows on ARM emulates"
      arch=x86_64
    fi
    target=$arch-pc-windows-msvc
    ext=zip
    exe=roster.exe
    ;;
esac
archive=roster-$target.$ext

# ---- the tool cache ---------------------------------------------------------------------------
cache=${RUNNER_TOOL_CACHE:-${TMPDIR:-/tmp}/roster-tool-cache}
dest=$cache/roster/$version/$target
finish() {
  if [ -n "${GITHUB_PATH:-}" ]; then
    printf '%s\n' "$dest" >>"$GITHUB_PATH"
  fi
  set_output path "$dest/$exe"
  set_output version "$version"
  printf '%s\n' "$dest/$exe"
}
if [ -f "$dest.complete" ] && [ -x "$dest/$exe" ]; then
  notice "roster $version ($target) is in the tool cache: $dest"
  finish
  exit 0
fi

# ---- download and verify, in a scratch folder -------------------------------------------------
scratch=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/roster-install.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

fetch() {
  curl --fail --location --silent --show-error --proto "$proto" --proto-redir "$proto" \
    --retry 3 --retry-delay 2 --connect-timeout 20 --max-time 300 \
    --output "$2" "$1"
}

notice "roster $version: downloading $archive from $base/v$version/"
fetch "$base/v$version/$archive" "$scratch/$archive" ||
  die "could not download $base/v$version/$archive: is v$version a roster release with a $target build?"
fetch "$base/v$version/sha256.sum" "$scratch/sha256.sum" ||
  die "could not download the release's checksum file $base/v$version/sha256.sum: refusing an archive that cannot be verified"

# sha256sum's format, as cargo-dist writes it: HEX, a space, then ' ' or '*', then the name.
expected=$(awk -v name="$archive" '$2 == name || $2 == "*" name { print $1 }' "$scratch/sha256.sum")
case "$expected" in
  "") die "sha256.sum of v$version has no line for $archive: refusing to install an archive that cannot be verified" ;;
  *[!0-9a-fA-F]*) die "sha256.sum of v$version lists more than one checksum, or a malformed one, for $archive: refusing" ;;
esac
expected=$(printf '%s\n' "$expected" | tr 'A-F' 'a-f')
[ "${#expected}" -eq 64 ] || die "sha256.sum of v$version has a malformed checksum for $archive: refusing"
actual=$(sha256_of "$scratch/$archive")
if [ "$actual" != "$expected" ]; then
  die "SHA-256 mismatch for $archive: sha256.sum says $expected, the download is $actual. The archive was altered or corrupted; nothing was installed"
fi
notice "SHA-256 of $archive matches sha256.sum: $actual"

attestation=${ROSTER_ACTION_ATTESTATION:-auto}
gh=${ROSTER_ACTION_GH:-gh}
case "$attestation" in
  auto|required)
    if command -v "$gh" >/dev/null 2>&1; then
      if ! "$gh" attestation verify "$scratch/$archive" --repo "$repo" >"$scratch/attestation.log" 2>&1; then
        cat "$scratch/attestation.log" >&2
        die "the GitHub artifact attestation of $archive does not verify for $repo: nothing was installed (set attestation: off only for a build you made yourself)"
      fi
      notice "attestation of $archive verified: built by a workflow of $repo"
    elif [ "$attestation" = required ]; then
      die "attestation: required, but gh (GitHub CLI) is not on PATH: cannot verify $archive"
    else
      notice "gh is not on PATH: the attestation of $archive was not checked (its SHA-256 was)"
    fi
    ;;
  off|false) notice "attestation check off: only the SHA-256 of $archive was checked" ;;
  *) die "attestation is '$attestation': auto, required or off" ;;
esac

mkdir "$scratch/unpacked"
case "$ext" in
  tar.xz) tar -xJf "$scratch/$archive" -C "$scratch/unpacked" ;;
  zip)
    if command -v unzip >/dev/null 2>&1; then
      unzip -q "$scratch/$archive" -d "$scratch/unpacked"
    else
      # Git Bash without unzip: PowerShell, given Windows paths through its environment.
      zip=$scratch/$archive into=$scratch/unpacked
      if command -v cygpath >/dev/null 2>&1; then
        zip=$(cygpath -w "$zip") into=$(cygpath -w "$into")
      fi
      # shellcheck disable=SC2016 # $env: is PowerShell's, not the shell's
      ROSTER_ZIP=$zip ROSTER_INTO=$into powershell -NoProfile -NonInteractive -Command \
        'Expand-Archive -LiteralPath $env:ROSTER_ZIP -DestinationPath $env:ROSTER_INTO'
    fi
    ;;
esac
# cargo-dist puts a tarball's files in a folder named after it, a zip's at its root.
bin=
for candidate in "$scratch/unpacked/roster-$target/$exe" "$scratch/unpacked/$exe"; do
  if [ -f "$candidate" ]; then
    bin=$candidate
    break
  fi
done
[ -n "$bin" ] || die "$archive holds no $exe where cargo-dist puts it"

# ---- into the cache ---------------------------------------------------------------------------
mkdir -p "$cache/roster/$version"
rm -rf "$dest" "$dest.complete" "$dest.partial"
mkdir "$dest.partial"
cp "$bin" "$dest.partial/$exe"
chmod 755 "$dest.partial/$exe"
mv "$dest.partial" "$dest"
: >"$dest.complete"
notice "roster $version ($target) installed: $dest/$exe"
finish
