#!/usr/bin/env bash
# One round of training the shipped demo model (`tdm/assets/demo`) on CPU, stage by stage.
#
#   ROUND=runs/r3 INIT=runs/r2-s3 S1=700 S2=300 S3=150 bash examples/train_demo.sh
#   ROUND=runs/r4 INIT=runs/r3-s3 S1=0 S2=2000 M2=40 S3=400 M3=8 bash examples/train_demo.sh
#   ROUND=runs/r5 M0=50 S1=100000 M1=12 S2=100000 M2=25 S3=100000 M3=8 bash examples/train_demo.sh
#
# M0 (optional) first trains the semantic stage at LOW px (default 128) for M0 minutes
# ($ROUND-s0): a teacher sample there costs a quarter of one at 256, and the s1 stage
# continues that teacher at the preset's side. INIT (optional) is the folder the first stage
# starts from: a run folder, training/demo (the lineage's committed state, training/README.md)
# or the shipped folder (these keep the teacher from round 5 on),
# so each of its trained stages continues. S1=0
# skips the semantic stage (the student stages start from INIT's teacher). M1, M2, M3
# (optional) give the stages time budgets in minutes (tdm-train --max-minutes): the lr
# schedule then ends with whichever of steps and minutes runs out first. DATA replaces the
# training data spec (default synthetic:length=200000,pairs=1, two texts of each scene in a
# batch: docs/DATASETS.md; round 6 in docs/DEMO_MODEL.md). SIDE (optional) trains the stages
# s1-s3 at SIDE px instead of the preset's side; the shipped pipeline then processes at
# SIDE (round 7 trained the student at 128, docs/DEMO_MODEL.md). EMA (optional, e.g.
# 0.995) validates and exports the moving average of weights of the stages after the
# teacher (--ema). The matting stage decays its lr by plain poly over its budget
# (--milestones --factors, both empty) instead of the paper's step down to 0.1x at 20% of
# it: a 12-minute stage spent 80% of it at 0.1x and 0.05x and its decoder hardly moved.
# RECON (optional, e.g. 1) adds the VAE's reconstruction loss with that weight to the
# semantic stage (--recon-weight; its decoder trains too), so the latent keeps the colours
# the texts name (round 13, docs/DEMO_MODEL.md).
# REINIT=1 (optional) rebuilds the student from the teacher (BK-SDM's map, --reinit) in stage 2
# instead of continuing INIT's: after the teacher and its latent changed, the copy of the new
# teacher learnt faster than a student trained on the old latent (round 16, docs/DEMO_MODEL.md).
# LR1 (optional, default 3e-4) is the semantic stage's lr: 2e-4 continues a trained teacher
# (round 18's r18-s1, docs/DEMO_MODEL.md).
# LR2 (optional, default 2e-4) is stage 2's lr. A student that has had a stage 2 already
# continues best at 2e-4 with WARM2=150 (rounds 24 and 28 gained, docs/DEMO_MODEL.md; a
# restart at 2e-4 without a warm-up shook it, round 16; at 1e-4, 4e-5 after the paper's
# step at 20% of the budget, round 27 lost).
# WARM2 (optional, e.g. 150) ramps stage 2's lr up over its first WARM2 optimiser steps
# (--warmup-steps).
# SEED (optional, default 0) seeds every stage's data order and draws: a round that continues
# the previous one's stages (INIT=runs/rN-s3) gives it another so that they see new samples.
# S4 (optional; M4 its minutes) adds the upsampler stage ($ROUND-s4) on UP px samples
# (default 256): the student runs at 1/2 and 1/4 of UP, the exported pipeline keeps s3's
# processing side, and s4 ships if it beats the shipped model on UP px held-out samples.
# With S4, s3 does not ship: its 128 px comparison passes the matte through an upsampler
# trained on another decoder (round 19, docs/NOTES.md "Session 19").
#
# Each stage is a run folder of its own ($ROUND-s1, -s2, -s3). A stage whose folder holds a
# finished pipeline is skipped and one with a checkpoint is resumed, so the script can be
# started again after an interruption. The last stage replaces the shipped model only if
# its held-out IoU (the generator's val split: shape families, patterns and backgrounds
# training never sees) beats the shipped one's. Log every round in docs/DEMO_MODEL.md.
set -euo pipefail
cd "$(dirname "$0")/.."
R=${ROUND:-runs/r1}
T=(tdm-train --preset demo --data "${DATA:-synthetic:length=200000,pairs=1}" --batch-size "${BATCH:-8}"
   --val-size 192 --loader-workers 1 --no-progress --log-every 10 --checkpoint-every 100
   --seed "${SEED:-0}")
SIDE_ARGS=()
[ -n "${SIDE:-}" ] && SIDE_ARGS=(--resolution "$SIDE")
EMA_ARGS=()
[ -n "${EMA:-}" ] && EMA_ARGS=(--ema "$EMA")
RECON_ARGS=()
[ -n "${RECON:-}" ] && RECON_ARGS=(--recon-weight "$RECON")
REINIT_ARGS=()
[ -n "${REINIT:-}" ] && REINIT_ARGS=(--reinit)
WARM2_ARGS=()
[ -n "${WARM2:-}" ] && WARM2_ARGS=(--warmup-steps "$WARM2")

stage() {  # stage NAME OUTPUT ARGS...: run it, resume it, or skip it when finished
  local name=$1 out=$2
  shift 2
  if [ -f "$out/model_index.json" ]; then
    echo "$out: finished, skipped"
  elif [ -f "$out/checkpoint.pt" ]; then
    "${T[@]}" --stage "$name" --output "$out" --resume "$@"
  else
    "${T[@]}" --stage "$name" --output "$out" "$@"
  fi
}

budget() { [ -n "${1:-}" ] && echo --max-minutes "$1"; true; }  # an optional time budget

FIRST=()
[ -n "${INIT:-}" ] && FIRST=(--init "$INIT")
if [ -n "${M0:-}" ]; then  # a semantic warm-up at LOW px (a quarter of the cost a sample), for M0 minutes
  stage semantic "$R-s0" --resolution "${LOW:-128}" --max-steps 1000000 --lr 3e-4 --val-every 400 \
    --balance-classes "${FIRST[@]}" --max-minutes "$M0"
  FIRST=(--init "$R-s0")
fi
if [ "${S1:-600}" = 0 ]; then  # the teacher has stopped paying: the student starts from INIT
  TEACHER=${INIT:?S1=0 needs INIT, a run folder that kept its teacher}
else
  stage semantic "$R-s1" --max-steps "${S1:-600}" --lr "${LR1:-3e-4}" --val-every 150 --balance-classes \
    "${FIRST[@]}" "${SIDE_ARGS[@]}" "${RECON_ARGS[@]}" $(budget "${M1:-}")
  TEACHER=$R-s1
fi
stage transparency "$R-s2" --max-steps "${S2:-450}" --lr "${LR2:-2e-4}" --val-every 150 --init "$TEACHER" \
  "${REINIT_ARGS[@]}" "${WARM2_ARGS[@]}" "${SIDE_ARGS[@]}" "${EMA_ARGS[@]}" $(budget "${M2:-}")
SHIP3=(--ship-if-better tdm/assets/demo)
[ -n "${S4:-}" ] && SHIP3=()  # the upsampler stage decides, at the size users get (256 px)
stage matting "$R-s3" --max-steps "${S3:-250}" --val-every 125 --init "$R-s2" \
  --milestones --factors "${SHIP3[@]}" "${SIDE_ARGS[@]}" "${EMA_ARGS[@]}" $(budget "${M3:-}")
if [ -n "${S4:-}" ]; then  # the sparse upsampler (and decoder) on UP px samples from 1/2 and 1/4 of them
  stage upsampler "$R-s4" --max-steps "$S4" --val-every 150 --init "$R-s3" --resolution "${UP:-256}" \
    --ship-if-better tdm/assets/demo "${EMA_ARGS[@]}" $(budget "${M4:-}")
fi
