#!/usr/bin/env bash
# Rebuilds the main act's embedded faces, adapters/pct/assets/fonts/
# DejaVuSerif{,-Bold}.ttf, from Debian's fonts-dejavu-core 2.37-6 with the
# TrueType hinting removed (glyph instructions and the fpgm, prep and cvt
# tables). Glyphs, outlines, advance widths and cmap stay as they are, so an
# act lays out and extracts exactly as with the original files; the subsets
# that krilla embeds get about half as large, and so does the time spent
# deflating them in every render (docs/benchmarks.md, issue 5).
#
# The vendored files were made with fontTools 4.68.0 (pip); other versions
# may write different bytes for the same font. Run from anywhere:
#
#   scripts/fonts-unhinted.sh
set -euo pipefail
cd "$(dirname "$0")/.."

src=/usr/share/fonts/truetype/dejavu
out=adapters/pct/assets/fonts
declare -A expected=(
    [DejaVuSerif.ttf]=13e61509f5c81d7c3132810f4f903e3523df89c802bf6e0674621e8f659cdfe1
    [DejaVuSerif-Bold.ttf]=e2fd85eba2de65ac270d1cdb1685e252eb827f600850cf62af2d20c41b22e945
)

if [ ! -d "$src" ]; then
    echo "install Debian's fonts-dejavu-core first (apt-get install fonts-dejavu-core)" >&2
    exit 1
fi
if ! python3 -c 'import fontTools' 2>/dev/null; then
    echo "fontTools is missing: pip install fonttools==4.68.0 (or apt-get install python3-fonttools)" >&2
    exit 1
fi

for name in "${!expected[@]}"; do
    actual=$(sha256sum "$src/$name" | cut -d' ' -f1)
    if [ "$actual" != "${expected[$name]}" ]; then
        echo "$src/$name is not fonts-dejavu-core 2.37-6 (sha256 $actual)" >&2
        exit 1
    fi
    # Every glyph and code point is kept; only hinting goes. FFTM (FontForge's
    # timestamps) is dropped by fontTools, which cannot subset it.
    python3 -m fontTools.subset "$src/$name" \
        --glyphs='*' --unicodes='*' --no-hinting \
        --layout-features='*' --name-IDs='*' --name-legacy --name-languages='*' \
        --glyph-names --legacy-kern --notdef-glyph --notdef-outline \
        --recommended-glyphs --drop-tables= \
        --output-file="$out/$name" 2> >(grep -v 'FFTM NOT subset' >&2)
    sha256sum "$out/$name"
done
