#!/bin/sh
# Builds and runs the quantized mat-vec micro-benchmark (native/src/quant/bench_qdot.cc) outside the
# addon: sh native/src/quant/bench_qdot.sh [threads] [GHz] [M]   (MOSS_NATIVE_ISA=scalar|avx2|avx512)
set -e
d=$(dirname "$0"); o=${TMPDIR:-/tmp}/moss-bench-qdot; mkdir -p "$o"
c="g++ -O3 -std=c++17 -pthread $QFLAGS -c"
$c "$d/isa_scalar.cc" -o "$o/s.o"
$c -mavx2 -mfma -mf16c "$d/isa_avx2.cc" -o "$o/a2.o"
$c -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mfma -mf16c -mavx2 -mprefer-vector-width=512 "$d/isa_avx512.cc" -o "$o/a5.o"
$c "$d/quant.cc" -o "$o/q.o"
$c "$d/../threadpool.cc" -o "$o/t.o"
g++ -O3 -std=c++17 -pthread "$d/bench_qdot.cc" "$o/s.o" "$o/a2.o" "$o/a5.o" "$o/q.o" "$o/t.o" -o "$o/bench_qdot"
exec "$o/bench_qdot" "$@"
