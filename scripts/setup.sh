#!/usr/bin/env bash
# Create .venv and install ECHO-CXR with its pinned dependencies.
# torch comes first from the local CPU build; the project range accepts it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[dev,metrics]"
