#!/usr/bin/env bash
# tempoforge GPU suite: one unattended run of at most 8 minutes on a machine with a CUDA GPU.
#
#   make install && benchmarks/gpu_suite.sh [--out DIR]     # JSON + markdown summary under DIR
#   benchmarks/gpu_suite.sh --dry-run --out DIR             # the same wiring on CPU with a tiny model
#
# Steps (benchmarks/gpu_suite.py has the details): Qwen2.5-VL-3B architecture at random init (bf16), one DPO step
# of tempoforge vs TRL's DPOTrainer on 64 frames (step time, peak memory), one GRPO step with generation,
# TransNetV2 on the GPU, the decode benchmark with the resize on the GPU. Every step runs in its own process
# with its own time box; the suite stops by itself (a hard stop 30 s after the budget, whatever happens).
# Environment: PY (default .venv/bin/python, else python3), BUDGET seconds (default 470).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-}"
if [[ -z "$PY" ]]; then
  if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python3; fi
fi
BUDGET="${BUDGET:-470}"
if ! "$PY" -c "import tempoforge" 2>/dev/null; then
  echo "gpu_suite: tempoforge is not importable with $PY; run 'make install' first (or set PY)" >&2
  exit 2
fi
exec timeout --kill-after=10 "$((${BUDGET%.*} + 30))" "$PY" benchmarks/gpu_suite.py --budget "$BUDGET" "$@"
