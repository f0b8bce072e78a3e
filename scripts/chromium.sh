#!/usr/bin/env bash
# Prints the path of Debian's chromium, installing it with apt-get when it is missing (root).
# The UI's browser tests drive it through Playwright's executable_path: Playwright's own browser
# download does not work on these machines, and is never needed.
set -euo pipefail

say() { echo "chromium.sh: $*" >&2; }

if ! command -v chromium >/dev/null; then
    command -v apt-get >/dev/null || { say "chromium is missing and there is no apt-get"; exit 1; }
    [[ $(id -u) == 0 ]] || { say "chromium is missing: run me as root to install it"; exit 1; }
    say "installing chromium (apt-get)"
    apt-get update -qq </dev/null >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium \
        </dev/null >&2
fi
command -v chromium
