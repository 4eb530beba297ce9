"""Training: SFT, DPO (TEMPLE), FPO (D2VLM), GRPO (Tempo-R0) and curricula, all on ``transformers.Trainer``.

Shared pieces: ``base`` (optimisation settings, TrainingArguments, the vision-tower probe), ``data`` (frames
cache, example datasets), ``lora`` (PEFT adapters, merging), ``logps`` (sequence log-probs, shared-prefix
continuations). Method recipes live in ``recipes/``; ``commands`` exposes them as ``tempoforge train``.
"""
