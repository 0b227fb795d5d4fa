#!/usr/bin/env bash
# The distribution as a practitioner gets it: build the sdist and the wheel (the wheel from the
# sdist), install the wheel into a fresh virtual environment with the tested versions
# (constraints.txt), and from a folder outside the checkout run the console script, the Python
# interface, docs/walkthrough.py and the app until its health check answers.
#
#   scripts/check_dist.sh            # PY: the Python that builds (default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PY:-.venv/bin/python}
BASE=${PYTHON:-python3}
WORK=$(mktemp -d /tmp/senet-dist.XXXXXX)
trap 'kill "${app:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

"$PY" -m build --outdir "$WORK/dist" . >"$WORK/build.log" 2>&1 || { tail -20 "$WORK/build.log" >&2; exit 1; }
ls "$WORK"/dist
"$BASE" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$WORK"/dist/*.whl -c constraints.txt \
  2>&1 | grep -v "^WARNING: Location" || true
cd "$WORK"  # outside the checkout: nothing of it is on the path
V="$WORK/venv/bin"
"$V/senet-viz" --version
"$V/senet-viz" models | tee models.txt
grep -E "^se_resnet20_cifar10 +project +yes " models.txt >/dev/null || { echo "se_resnet20_cifar10 without its weights" >&2; exit 1; }
"$V/python" -c "
from PIL import Image
from senet_viz.gallery import CIFAR_DIR
Image.open(sorted((CIFAR_DIR / 'cat').glob('*.jpg'))[0]).save('cat.png')"
"$V/senet-viz" inspect cat.png | tee inspect.txt
grep -q "cat" inspect.txt
"$V/python" -c "
import senet_viz
m = senet_viz.load_model()
assert m.name == 'se_resnet20_cifar10' and len(m.blocks) == 9 and m.weights.startswith('shipped'), m
assert 'site-packages' in senet_viz.__file__, senet_viz.__file__
print('load_model:', m.name, len(m.blocks), 'SE blocks,', m.weights)"
WALKTHROUGH_OUT="$WORK/walkthrough" "$V/python" "$ROOT/docs/walkthrough.py" >walkthrough.log 2>&1 \
  || { tail -20 walkthrough.log >&2; exit 1; }
echo "docs/walkthrough.py: ran against the installed package"
PORT=$("$V/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$V/senet-viz" app --server.port "$PORT" --server.address 127.0.0.1 >app.log 2>&1 &
app=$!
for _ in $(seq 1 120); do
  if "$V/python" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$PORT/_stcore/health', timeout=2)" 2>/dev/null; then
    echo "senet-viz app: health check answered on port $PORT"
    exit 0
  fi
  kill -0 "$app" 2>/dev/null || { cat app.log >&2; exit 1; }
  sleep 1
done
cat app.log >&2
exit 1
