#!/usr/bin/env bash
# Regenerates examples/host: exactly what `cargo sigra install Accounts User users` writes into
# a fresh `cargo new sigra-example-host` app, depending on this checkout's sigra-core.
#
# It builds cargo-sigra, makes a fresh app in a scratch directory laid out like the repository
# (<scratch>/examples/host next to <scratch>/crates/sigra-core, a symlink), runs the install
# there, and replaces examples/host with the result. The drift test
# (cargo test -p sigra-tests --test installer_drift) does the same and compares.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# Generated Rust goes through rustfmt: use this checkout's toolchain even in the scratch dir.
if [ -z "${RUSTUP_TOOLCHAIN:-}" ] && command -v rustup >/dev/null 2>&1; then
    RUSTUP_TOOLCHAIN="$(rustup show active-toolchain | cut -d' ' -f1)"
    export RUSTUP_TOOLCHAIN
fi

cargo build --quiet -p cargo-sigra
bin="${CARGO_TARGET_DIR:-$root/target}/debug/cargo-sigra"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/crates" "$scratch/examples"
ln -s "$root/crates/sigra-core" "$scratch/crates/sigra-core"
cargo new --quiet --vcs none --name sigra-example-host "$scratch/examples/host"

(cd "$scratch/examples/host" &&
    "$bin" install Accounts User users --sigra-path ../../crates/sigra-core --yes)

rm -rf "$root/examples/host"
cp -R "$scratch/examples/host" "$root/examples/host"
echo
echo "examples/host regenerated; review with: git diff --stat -- examples/host"
