#!/usr/bin/env bash
# make vagrant-e2e: run the unit, contract and end-to-end suites in a Windows
# Server 2022 machine with IIS (see Vagrantfile), against the Windows build of
# the plugin that `make build` wrote into build/windows/.
#
# Needs Vagrant with VirtualBox or Hyper-V on the host. The first run
# downloads the box (about 7 GB) and provisions it (IIS, Go, Nomad, Node.js);
# later runs reuse the machine. `vagrant destroy` (in this directory) removes it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
plugin="$repo/build/windows/nomad_iis.exe"

if ! command -v vagrant >/dev/null; then
	echo "vagrant-e2e: Vagrant is not installed (https://developer.hashicorp.com/vagrant/install)" >&2
	exit 1
fi
if [[ ! -f "$plugin" ]]; then
	echo "vagrant-e2e: $plugin is missing; run make build first" >&2
	exit 1
fi

cd "$here"
vagrant up --provision
vagrant winrm --command 'New-Item -ItemType Directory -Force -Path C:\nomad-iis | Out-Null'
vagrant upload "$plugin" 'C:\nomad-iis\nomad_iis.exe'
vagrant winrm --elevated --shell powershell --command '& C:\nomad-iis-src\vagrant\scripts\run-tests.ps1; exit $LASTEXITCODE'
