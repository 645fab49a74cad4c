#!/usr/bin/env bash
# Installs what the tests need beyond Rust: the real redis-server and redis-cli (Debian's
# redis-server / redis-tools packages), which the persistence interop tests run against.
# Safe to run again: it does nothing when they are already installed.
set -euo pipefail
if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq redis-server redis-tools >/dev/null
# The package starts a service on port 6379 where systemd runs; the tests start their own.
$SUDO systemctl stop redis-server 2>/dev/null || true
