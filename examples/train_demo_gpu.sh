#!/usr/bin/env bash
# One round of the shipped demo model on a lent GPU machine, in one device call of under
# 9 minutes, all four stages, from random weights or (INIT=tdm/assets/demo) continuing the
# shipped folder, which keeps its teacher (18 MB in fp16: it travels back with the rest).
#
# Here, once per session (the machine lacks diffusers; docs/NOTES.md):
#   echo /.whl/ >> .git/info/exclude
#   pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_17_x86_64 -d .whl diffusers==0.42.1 importlib_metadata
# Then the device tool: run(command="bash examples/train_demo_gpu.sh", carry=[".whl"],
# timeout_s=600). Back here, unpack what came back over the working tree:
#   cat FILES_AT/round.tgz.* | tar xz
# It holds runs/gpu-s*/{metrics.jsonl,train_config.json} (for `python -m tdm.train.curve`)
# and either the new tdm/assets/demo (shipped: it validated better, tdm.train.ship) or
# runs/gpu-candidate (fp16, not shipped) to score with `python -m pipelines.grounding`.
#
# Each stage has a time budget (tdm-train --max-minutes; the lr schedule follows it), so
# the round fits the call whatever the machine's speed. SCALE multiplies every budget;
# BATCH, VAL, ROUND, SHIP_TO and DATA (the training data spec) change the rest (a CPU dry run: SCALE=0.02 BATCH=2 VAL=4
# SHIP_TO=/tmp/ship ROUND=/tmp/gpu OUT=/tmp/out bash examples/train_demo_gpu.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site:$PWD"
fi
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
R=${ROUND:-runs/gpu}
OUT=${OUT:-runs/gpu-out}
SHIP_TO=${SHIP_TO:-tdm/assets/demo}
SCALE=${SCALE:-1}
WORKERS=$(( $(nproc) > 3 ? $(nproc) - 2 : 1 ))
T=(python3 -m pipelines.train --preset demo --data "${DATA:-synthetic:length=2000000,pairs=1}"
   --batch-size "${BATCH:-64}" --val-size "${VAL:-192}" --loader-workers "$WORKERS"
   --no-progress --log-every 20 --checkpoint-every 100000 --overwrite)
minutes() { python3 -c "print($1 * $SCALE)"; }

python3 -c "import torch; print('device:', torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')"
FIRST=()
[ -n "${INIT:-}" ] && FIRST=(--init "$INIT")
"${T[@]}" --stage semantic --output "$R-s1" --max-steps 100000 --max-minutes "$(minutes 2.4)" \
  --lr 3e-4 --balance-classes "${FIRST[@]}"
"${T[@]}" --stage transparency --output "$R-s2" --init "$R-s1" --max-steps 100000 \
  --max-minutes "$(minutes 1.8)" --lr 2e-4
"${T[@]}" --stage matting --output "$R-s3" --init "$R-s2" --max-steps 100000 \
  --max-minutes "$(minutes 0.8)" --milestones --factors  # poly decay: a short stage's decoder needs its lr
"${T[@]}" --stage upsampler --output "$R-s4" --init "$R-s3" --max-steps 100000 \
  --max-minutes "$(minutes 0.5)" --ship-if-better "$SHIP_TO" | tee "$R-ship.txt"

files=("$R"-s*/metrics.jsonl "$R"-s*/train_config.json "$R-ship.txt")
if grep -q "shipped to" "$R-ship.txt"; then
  files+=("$SHIP_TO")
else  # what would have shipped (teacher included), to score here and continue from
  python3 -m tdm.train.keep "$R-s4" "$R-candidate"
  files+=("$R-candidate")
fi
mkdir -p "$OUT"
tar czf - "${files[@]}" | split -b 15M -d - "$OUT/round.tgz."
ls -la "$OUT"
