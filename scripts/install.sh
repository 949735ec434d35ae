#!/usr/bin/env bash
# Install everything nimbus needs on Debian 12, idempotently: the system
# packages that are missing, then the virtualenv with nimbus and its test tools.
# Safe to run again and again; it only does work when something is missing or
# pyproject.toml / the package folders changed since the last run.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build needs of libvirt-python (headers, pkg-config, a compiler), the Python
# toolchain, PostgreSQL's server binaries (the embedded database), the tools
# the network tests drive (ip netns), and the storage host's: the userspace
# iSCSI target (tgt), a userspace initiator (libiscsi-bin), and qemu-img with
# its iSCSI driver (qemu-utils, qemu-block-extra) for qcow2 files and reading
# a LUN's bytes back; the network host's (dnsmasq for DHCP, nftables for NAT
# and security groups) and what its tests drive inside namespaces (busybox's
# udhcpc as the DHCP client, ping, procps's sysctl); and headless Chromium with
# its WebDriver (chromium, chromium-driver) for the web console's browser test.
PACKAGES=(
    gcc pkg-config libvirt-dev python3-dev
    python3.11 python3.11-dev python3.11-venv
    postgresql make iproute2
    tgt libiscsi-bin qemu-utils qemu-block-extra
    dnsmasq-base nftables busybox iputils-ping procps
    chromium chromium-driver
)

missing=()
for package in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if ((${#missing[@]})); then
    echo "install.sh: installing ${missing[*]}"
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || { echo "install.sh: need root or sudo for apt-get" >&2; exit 1; }
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [[ ! -x .venv/bin/python ]]; then
    python=$(command -v python3.11 || echo /usr/bin/python3.11)
    echo "install.sh: creating .venv with $python"
    "$python" -m venv .venv
fi

# Reinstall when the project's metadata, its pinned versions or its set of
# packages changed. constraints.txt pins every package to the version the
# suite was last run with (scripts/lock.sh refreshes it), so a fresh machine
# installs exactly what passed.
stamp=.venv/.nimbus-install-stamp
wanted=$( { cat pyproject.toml constraints.txt; ls -d -- */__init__.py 2>/dev/null; } \
          | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$wanted" ]]; then
    echo "install.sh: installing nimbus into .venv"
    .venv/bin/python -m pip install -q -c constraints.txt -e '.[test]'
    echo "$wanted" > "$stamp"
fi
echo "install.sh: ready"
