#!/usr/bin/env bash
# Optional: llama.cpp for the default lyrics model (`make setup-llamacpp`, after `make setup`).
#   - llama-cpp-python, compiled from its sdist (PyPI ships no wheel): a portable AVX2 build,
#     about 8 minutes on 2 cores (flags from ../shared/STACK.md);
#   - llama.cpp's own LoRA converter (convert_lora_to_gguf.py with its `conversion` package and
#     gguf-py), copied out of the same sdist into .venv/share/songwright/llama-cpp-convert, so
#     the shipped LoRA adapter can be converted to GGUF on first use.
# Once installed, the default lyrics model runs on llama.cpp (about 2x faster decoding than
# transformers int8; see docs/lyrics.md). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=0.3.36
PY=.venv/bin/python
DEST=.venv/share/songwright/llama-cpp-convert
[ -x "$PY" ] || { echo "setup-llamacpp: run 'make setup' first" >&2; exit 1; }

if "$PY" -c "import llama_cpp" 2>/dev/null && [ -f "$DEST/convert_lora_to_gguf.py" ]; then
  exit 0
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$PY" -m pip download -q --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$TMP"
SDIST="$TMP/llama_cpp_python-$VERSION.tar.gz"
if ! "$PY" -c "import llama_cpp" 2>/dev/null; then
  echo "setup-llamacpp: compiling llama-cpp-python $VERSION (about 8 minutes on 2 cores)"
  # --no-cache-dir: pip's wheel cache ignores CMAKE_ARGS
  CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
  CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
    "$PY" -m pip install -q --no-cache-dir "$SDIST"
fi
VENDOR="llama_cpp_python-$VERSION/vendor/llama.cpp"
tar xzf "$SDIST" -C "$TMP" "$VENDOR/convert_lora_to_gguf.py" "$VENDOR/convert_hf_to_gguf.py" \
  "$VENDOR/conversion" "$VENDOR/gguf-py"
rm -rf "$DEST.tmp" && mkdir -p "$DEST.tmp"
cp -r "$TMP/$VENDOR/convert_lora_to_gguf.py" "$TMP/$VENDOR/convert_hf_to_gguf.py" \
  "$TMP/$VENDOR/conversion" "$TMP/$VENDOR/gguf-py" "$DEST.tmp/"
rm -rf "$DEST" && mv "$DEST.tmp" "$DEST"
echo "setup-llamacpp: done (llama_cpp importable; LoRA converter in $DEST)"
