{
  # The native backend: one addon (moss_native) plus one static library per SIMD level. The same
  # row kernels (native/src/kernels/isa_impl.inc) are compiled three times — portable baseline,
  # AVX2+FMA+F16C, AVX-512 — and dispatch.cc picks one at load with __builtin_cpu_supports
  # (MOSS_NATIVE_ISA=scalar|avx2|avx512 forces a level). Never -march=native: the .node must run on
  # any x86-64. No -ffast-math anywhere (reductions must stay accurate); -fno-trapping-math only
  # lets GCC if-convert (vectorise) the selects in exp/tanh/erfc, no arithmetic changes.
  "target_defaults": {
    "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fno-trapping-math", "-fPIC", "-Wall", "-Wno-unused-function"],
    "cflags_cc!": ["-fno-exceptions", "-O2", "-std=gnu++17"],
    "cflags!": ["-O2"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
  },
  "targets": [
    {
      "target_name": "moss_native",
      "sources": [
        "native/src/addon.cc",
        "native/src/mmap.cc",
        "native/src/threadpool.cc",
        "native/src/kernels/common.cc",
        "native/src/kernels/dispatch.cc",
        "native/src/kernels/isa_scalar.cc",
        "native/src/kernels/copy.cc",
        "native/src/kernels/elementwise.cc",
        "native/src/kernels/reduce.cc",
        "native/src/kernels/index.cc",
        "native/src/kernels/fused.cc",
        "native/src/kernels/attention.cc",
        "native/src/kernels/matmul.cc",
        "native/src/gemm/dispatch.cc",
        "native/src/gemm/isa_scalar.cc",
        "native/src/quant/quant.cc",
        "native/src/io/convert.cc",
        "native/src/quant/view.cc",
        "native/src/plan/plan.cc",
        "native/src/quant/isa_scalar.cc",
        "native/src/kquant/kquant.cc",
        "native/src/kquant/quantize.cc",
        "native/src/kquant/dot_scalar.cc",
        "native/src/gptq/gptq.cc"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "conditions": [
        ["target_arch=='x64'", { "dependencies": ["moss_isa_avx2", "moss_isa_avx512"] }]
      ]
    },
    {
      "target_name": "moss_isa_avx2",
      "type": "static_library",
      "sources": ["native/src/kernels/isa_avx2.cc", "native/src/gemm/isa_avx2.cc", "native/src/quant/isa_avx2.cc", "native/src/kquant/dot_avx2.cc"],
      "cflags_cc": ["-mavx2", "-mfma", "-mf16c"]
    },
    {
      "target_name": "moss_isa_avx512",
      "type": "static_library",
      "sources": ["native/src/kernels/isa_avx512.cc", "native/src/gemm/isa_avx512.cc", "native/src/quant/isa_avx512.cc", "native/src/kquant/dot_avx512.cc"],
      "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx512bf16", "-mavx512vnni",
                    "-mfma", "-mf16c", "-mavx2", "-mprefer-vector-width=512"]
    }
  ]
}
