#!/usr/bin/env bash
# GPU check: on a machine with CUDA, run the GPU tests, the S2 experiment on CPU and
# GPU, notebook 05 and the operator benchmark, and write every result into one folder.
# Each step has its own time limit; together they stay under 8 minutes.
#
#   benchmarks/gpu_check.sh [RESULTS_DIR]     (default: $OUT, else gpu-check-<date>)
#
# Exits 2 with a message when CUDA is absent; otherwise non-zero when any step failed
# (summary.txt says which). Needs the project's environment: .venv/bin/python, or the
# interpreter in $PYTHON.
set -uo pipefail
cd "$(dirname "$0")/.."

RESULTS="${1:-${OUT:-gpu-check-$(date +%Y%m%d-%H%M%S)}}"
PY="${PYTHON:-.venv/bin/python}"
if ! command -v "$PY" >/dev/null 2>&1; then
    echo "gpu_check: no Python at '$PY' (make venv, or set PYTHON=...)" >&2
    exit 2
fi
if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    echo "gpu_check: CUDA is not available here (torch.cuda.is_available() is False); nothing to check." >&2
    echo "gpu_check: run it on a machine with an NVIDIA GPU and a CUDA build of torch." >&2
    exit 2
fi
mkdir -p "$RESULTS"
RESULTS="$(cd "$RESULTS" && pwd)"
SUMMARY="$RESULTS/summary.txt"
: > "$SUMMARY"
failed=0

# step NAME SECONDS COMMAND...: run with a time limit, log to NAME.log, record the outcome
step() {
    local name="$1" limit="$2"; shift 2
    local start=$SECONDS rc
    echo "== $name (limit ${limit}s)"
    timeout "$limit" "$@" > "$RESULTS/$name.log" 2>&1
    rc=$?
    tail -n 5 "$RESULTS/$name.log"
    if [ "$rc" -eq 0 ]; then
        echo "$name: ok ($((SECONDS - start)) s)" | tee -a "$SUMMARY"
    else
        [ "$rc" -eq 124 ] && echo "$name: timed out after ${limit} s" | tee -a "$SUMMARY"
        echo "$name: FAILED, exit $rc ($((SECONDS - start)) s); see $name.log" | tee -a "$SUMMARY"
        failed=1
    fi
}

# the machine, for the record
{
    "$PY" - <<'EOF'
import platform, torch
print("python", platform.python_version(), "| torch", torch.__version__, "| CUDA", torch.version.cuda)
print("GPU", torch.cuda.get_device_name(0), "| CPU threads", torch.get_num_threads())
EOF
    command -v nvidia-smi >/dev/null && nvidia-smi
} > "$RESULTS/environment.txt" 2>&1
head -n 2 "$RESULTS/environment.txt"

# 1. the GPU tests (marked @pytest.mark.gpu; skipped on machines without CUDA), collected
#    only from the files that have some, so that nothing else can stop the collection
mapfile -t GPU_TEST_FILES < <(grep -l "pytest.mark.gpu" tests/test_*.py)
if [ "${#GPU_TEST_FILES[@]}" -gt 0 ]; then
    step gpu-tests 50 "$PY" -m pytest -q -m gpu -rs "${GPU_TEST_FILES[@]}" --junitxml "$RESULTS/gpu-tests.xml"
else
    echo "gpu-tests: FAILED, no test file marks a test with pytest.mark.gpu" | tee -a "$SUMMARY"
    failed=1
fi

# 2. S2 on CPU and GPU with the same seeds: traces, speed-up, largest relative difference
step variance-cpu-vs-gpu 80 "$PY" - "$RESULTS" <<'EOF'
import json, sys
from pathlib import Path
import numpy as np
from fido_lib.experiments import variance as V

out = Path(sys.argv[1])
V.run_experiment(V.PUBLISHED_ARMS, runs=2, iterations=2, device="cuda")  # CUDA start-up, not timed
# the CPU with torch's thread count, then with one (the default); the traces are the same
cpu_all = V.run_experiment(V.PUBLISHED_ARMS, num_threads=None)
cpu = V.run_experiment(V.PUBLISHED_ARMS)
gpu = V.run_experiment(V.PUBLISHED_ARMS, device="cuda")
summary = dict(
    cpu_seconds_1_thread=cpu.seconds,
    cpu_seconds_all_threads={"threads": cpu_all.metadata["threads"], **cpu_all.seconds},
    cpu_threads_agree=bool(np.array_equal(cpu_all.grad_norm, cpu.grad_norm)),
)
cpu.save(out / "variance_cpu.npz")
gpu.save(out / "variance_gpu.npz")
rel = np.abs(gpu.grad_norm - cpu.grad_norm) / np.abs(cpu.grad_norm)
summary.update(
    gpu=gpu.metadata["device_name"],
    gpu_seconds=gpu.seconds,
    speed_up_vs_1_thread={k: cpu.seconds[k] / gpu.seconds[k] for k in cpu.labels},
    speed_up_vs_all_threads={k: cpu_all.seconds[k] / gpu.seconds[k] for k in cpu.labels},
    same_noise=gpu.noise_digests == cpu.noise_digests,
    max_rel_diff_first_iteration=float(rel[:, :, 0].max()),
    max_rel_diff_all=float(rel.max()),
    median_rel_diff_all=float(np.median(rel)),
    cpu=str(V.compare(cpu, "original", "simplified", measure="step", skip=10)),
    gpu_comparison=str(V.compare(gpu, "original", "simplified", measure="step", skip=10)),
)
(out / "variance_cpu_vs_gpu.json").write_text(json.dumps(summary, indent=2))
print(json.dumps(summary, indent=2))
EOF

# 3. notebook 05: checked against its stored outputs (nbval), then executed into RESULTS
NBVAL=(--nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg)
step notebook-04-nbval 120 "$PY" -m pytest -q "${NBVAL[@]}" notebooks/05_gradient_variance.ipynb
step notebook-04-executed 130 "$PY" -m jupyter nbconvert --to notebook --execute \
    --ExecutePreprocessor.timeout=600 --output-dir "$RESULTS" \
    --output 05_gradient_variance.gpu.ipynb notebooks/05_gradient_variance.ipynb

# 4. the operator benchmark, when it is there
if [ -f benchmarks/concrete_ops.py ]; then
    # its --sizes takes one comma-separated list; a --device option is used when it has one
    BENCH_ARGS=(--sizes 1e4,1e6,1e7)
    if "$PY" benchmarks/concrete_ops.py --help 2>/dev/null | grep -q -- "--device"; then
        BENCH_ARGS+=(--device cuda)
    fi
    step concrete-ops 90 "$PY" benchmarks/concrete_ops.py "${BENCH_ARGS[@]}"
else
    echo "concrete-ops: skipped, benchmarks/concrete_ops.py not found" | tee -a "$SUMMARY"
fi

echo "results in $RESULTS"
cat "$SUMMARY"
exit "$failed"
