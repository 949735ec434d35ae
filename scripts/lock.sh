#!/usr/bin/env bash
# Refresh constraints.txt: resolve pyproject.toml's dependencies afresh in a
# throwaway virtualenv and write down the exact versions pip chose. Run it
# after changing a dependency, then run `make test` and commit both files.
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(command -v python3.11 || echo /usr/bin/python3.11)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$python" -m venv "$scratch/venv"
"$scratch/venv/bin/pip" install -q -e '.[test]'
{
    echo "# Exact versions every install uses (scripts/install.sh passes this file to pip"
    echo "# with -c). Refresh it with scripts/lock.sh after changing pyproject.toml."
    "$scratch/venv/bin/pip" freeze --exclude-editable | grep -v '^nimbus'
} > constraints.txt
echo "lock.sh: wrote constraints.txt ($(grep -vc '^#' constraints.txt) packages)"
