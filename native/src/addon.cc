// The only file that touches N-API: memory (aligned alloc / free / mmap as external ArrayBuffers)
// and thin bindings from JS calls to the C ABI of native/include/moss_kernels.h.
//
// Calling convention (cheap marshalling, no JS objects per call): JS writes view descriptors into
// one shared Float64Array `meta` (registered once by `init`) and passes only the ArrayBuffers.
//   view slot v at meta[v*20 ..]: byteOffset of element 0, dtype code (-1 = absent), ndim,
//   shape[8], strides[8]; scalar parameters at meta[kScal ..]; per-batch arrays at meta[kArr ..].
// Every view is bounds-checked against its ArrayBuffer (a detached / freed buffer has length 0),
// so a bad view throws a JS error instead of reading out of bounds.
// Deliberately does not: validate shapes or dtypes for the user (the tensor layer does).
#include <napi.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/mman.h>
#include <unordered_map>
#include <vector>

#include "../include/moss_kernels.h"
#include "mmap.h"
#include "threadpool.h"
#include "gemm/gemm.h"  // gemm bindings
#include "quant/quant.h"  // quant bindings
#include "quant/view.h"
#include "kquant/kquant.h"  // k-quant block traits
#include "gptq/gptq.h"  // GPTQ repacked blocks
#include "io/convert.h"  // io bindings
#include <cmath>
#include "plan/plan.h"

namespace {

constexpr int kSlot = 20, kScal = 200, kArr = 256, kMetaLen = 4096;
// Per JS thread: the main thread and each worker thread (moss serve's model worker) pass their own
// meta array, and a worker that exits must not leave another thread reading its freed array.
thread_local double* g_meta = nullptr;

// --- memory ---
enum Kind { kHeap, kAnon, kFile };
struct Block {
  void* p;
  size_t len;
  Kind kind;
};
std::unordered_map<void*, Block*> g_blocks;  // data pointer -> live block (JS thread only)
std::vector<Block*> g_maps;                   // live file mappings (private copy-on-write pages)

void forget_map(Block* b) {
  for (size_t i = 0; i < g_maps.size(); i++)
    if (g_maps[i] == b) { g_maps.erase(g_maps.begin() + (long)i); return; }
}

// Blocks of kAnonMin bytes and more are anonymous mappings of their own; freed ones are kept
// (MOSS_ALLOC_CACHE_MB, default 1024; 0 = off) and handed out again for the same page-rounded
// size, zeroed by memset: fresh pages cost a fault per 4 KiB on first touch (~2 GB/s), which
// dominated the large elementwise ops of a training step (each step frees and reallocates the same
// shapes). Over the cap, whole size classes are unmapped, largest first. Smaller blocks come from
// malloc. Not lower sizes through malloc: glibc serves them from its brk heap once its dynamic
// mmap threshold has risen, and a training loop's mix of 64 KiB..1 MiB tensors then fragmented
// that heap without bound (RSS +5 MB per moss-tiny step, the heap never trimmed).
constexpr size_t kAnonMin = 64u << 10;
struct AnonCache {
  std::unordered_map<size_t, std::vector<void*>> free;  // page-rounded length -> blocks
  size_t bytes = 0;
  size_t cap = 0;
  AnonCache() {
    const char* s = std::getenv("MOSS_ALLOC_CACHE_MB");
    const double mb = s ? std::atof(s) : 1024.0;  // 256 MB missed about half of a training step's frees
    cap = mb > 0 ? (size_t)(mb * 1048576.0) : 0;
  }
};
AnonCache g_anon;
// Size classes, 8 per doubling (at most 12.5% over the asked length): a training loop's batches
// differ in padded length step to step, so exact page-rounded sizes almost never matched again
// (10k mmap/munmap pairs, ~30% of a moss-tiny PM step's CPU in page faults); one class serves them all.
inline size_t page_round(size_t len) {
  size_t top = 4096;
  while (top * 2 <= len) top *= 2;
  const size_t g = top >= 8 * 4096 ? top / 8 : 4096;
  return (len + g - 1) / g * g;
}

void* anon_take(size_t len) {
  const size_t r = page_round(len);
  auto it = g_anon.free.find(r);
  if (it == g_anon.free.end() || it->second.empty()) return nullptr;
  void* p = it->second.back();
  it->second.pop_back();
  g_anon.bytes -= r;
  std::memset(p, 0, len);
  return p;
}

void anon_give(void* p, size_t len) {
  const size_t r = page_round(len);
  if (r > g_anon.cap / 2) {
    ::munmap(p, r);
    return;
  }
  g_anon.free[r].push_back(p);
  g_anon.bytes += r;
  while (g_anon.bytes > g_anon.cap) {  // drop the largest size class (rarely needed again soon)
    auto big = g_anon.free.begin();
    for (auto i = g_anon.free.begin(); i != g_anon.free.end(); ++i)
      if (!i->second.empty() && (big->second.empty() || i->first > big->first)) big = i;
    if (big->second.empty()) break;
    for (void* q : big->second) ::munmap(q, big->first);
    g_anon.bytes -= big->first * big->second.size();
    big->second.clear();
  }
}

void release(napi_env env, Block* b) {
  moss_qforget(b->p, (int64_t)b->len);  // repacked copies of weights in this memory
  if (b->kind == kFile) forget_map(b);
  if (b->kind == kHeap) std::free(b->p);
  else if (b->kind == kAnon) anon_give(b->p, b->len);
  else moss::unmap_file(b->p, b->len);
  if (b->kind != kFile) {
    int64_t adj;
    napi_adjust_external_memory(env, -(int64_t)b->len, &adj);
  }
  b->p = nullptr;
}

void finalize_block(napi_env env, void* /*data*/, void* hint) {
  Block* b = static_cast<Block*>(hint);
  if (b->p) {
    g_blocks.erase(b->p);
    release(env, b);
  }
  delete b;
}

Napi::Value wrap_block(Napi::Env env, void* p, size_t len, Kind kind) {
  Block* b = new Block{p, len, kind};
  napi_value ab;
  napi_status st = napi_create_external_arraybuffer(env, p, len, finalize_block, b, &ab);
  if (st != napi_ok) {
    // Node has already run (or scheduled) finalize_block, which releases `p` and deletes `b`:
    // touching either here would free twice.
    Napi::Error::New(env, "native: cannot create an external ArrayBuffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  g_blocks[p] = b;
  if (kind == kFile) g_maps.push_back(b);
  return Napi::Value(env, ab);
}

Napi::Value Alloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double n = info[0].As<Napi::Number>().DoubleValue();
  if (!(n >= 0) || n > 1e15) {
    Napi::RangeError::New(env, "native alloc: bad byte length").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const size_t len = (size_t)n;
  if (len == 0) return Napi::ArrayBuffer::New(env, 0);
  if (len > 0xFFFFFFFFull) {  // Node 20's external buffers stop at 4 GiB - 1 (see MapFile)
    Napi::RangeError::New(env, "native alloc: " + std::to_string(len) + " bytes is more than one buffer can hold (4 GiB)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  void* p = nullptr;
  Kind kind;
  if (len >= kAnonMin) {  // big: anonymous pages are zero-filled lazily and page aligned
    p = anon_take(len);
    if (!p) p = ::mmap(nullptr, page_round(len), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) p = nullptr;
    kind = kAnon;
  } else {
    p = std::aligned_alloc(64, (len + 63) & ~(size_t)63);
    if (p) std::memset(p, 0, len);
    kind = kHeap;
  }
  if (!p) {
    Napi::Error::New(env, "native alloc: out of memory (" + std::to_string(len) + " bytes)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int64_t adj;
  napi_adjust_external_memory(env, (int64_t)len, &adj);
  return wrap_block(env, p, len, kind);
}

// Frees memory made by alloc/mapFile now and detaches the ArrayBuffer. Returns false (and does
// nothing) for buffers this addon does not own or already freed.
Napi::Value Free(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArrayBuffer()) return Napi::Boolean::New(env, false);
  napi_value ab = info[0];
  void* data = nullptr;
  size_t len = 0;
  napi_get_arraybuffer_info(env, ab, &data, &len);
  auto it = data ? g_blocks.find(data) : g_blocks.end();
  if (it == g_blocks.end()) return Napi::Boolean::New(env, false);
  Block* b = it->second;
  g_blocks.erase(it);
  if (b->kind == kFile) forget_map(b);
  Block copy = *b;
  b->p = nullptr;  // the finalizer (whenever it runs) now only deletes the struct
  napi_detach_arraybuffer(env, ab);
  release(env, &copy);
  return Napi::Boolean::New(env, true);
}

// mapFile(path) maps the whole file; mapFile(path, offset, length) maps a byte range and returns
// [buffer, delta]: the buffer starts at the page boundary below `offset`, `delta` bytes before it.
Napi::Value MapFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  void* p;
  size_t len;
  std::string err;
  if (info.Length() >= 3) {
    const double off = info[1].As<Napi::Number>().DoubleValue();
    const double want = info[2].As<Napi::Number>().DoubleValue();
    if (!(off >= 0) || !(want >= 0) || off > 9e15 || want > 9e15) {
      Napi::RangeError::New(env, path + ": bad range").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    size_t delta = 0;
    if (!moss::map_file_range(path.c_str(), (size_t)off, (size_t)want, &p, &len, &delta, &err)) {
      Napi::Error::New(env, err).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (len > 0xFFFFFFFFull) {
      moss::unmap_file(p, len);
      Napi::RangeError::New(env, path + ": a range of " + std::to_string(len) + " bytes is more than one buffer can hold (4 GiB)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Array out = Napi::Array::New(env, 2);
    out.Set(0u, len == 0 ? Napi::ArrayBuffer::New(env, 0) : wrap_block(env, p, len, kFile));
    out.Set(1u, Napi::Number::New(env, (double)delta));
    return out;
  }
  if (!moss::map_file(path.c_str(), &p, &len, &err)) {
    Napi::Error::New(env, err).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (len == 0) return Napi::ArrayBuffer::New(env, 0);
  // Node 20 builds external ArrayBuffers as Buffers, capped at 4 GiB - 1; past it the call fails
  // after running the finalizer, so check first and refuse cleanly.
  if (len > 0xFFFFFFFFull) {
    moss::unmap_file(p, len);
    Napi::RangeError::New(env, path + ": " + std::to_string(len) + " bytes is more than this Node can map as one buffer (4 GiB)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return wrap_block(env, p, len, kFile);
}

// --- views ---
bool view_at(Napi::Env env, napi_value ab, int slot, moss_view* v, bool* present) {
  const double* m = g_meta + slot * kSlot;
  *present = m[1] >= 0;
  if (!*present) return true;
  void* data = nullptr;
  size_t len = 0;
  if (napi_get_arraybuffer_info(env, ab, &data, &len) != napi_ok) {
    Napi::TypeError::New(env, "native: expected an ArrayBuffer").ThrowAsJavaScriptException();
    return false;
  }
  const double off = m[0];
  v->dtype = (int32_t)m[1];
  v->ndim = (int32_t)m[2];
  if (v->ndim < 0 || v->ndim > MOSS_MAX_DIMS || (v->dtype > MOSS_IQ4_NL && !moss_gq_is(v->dtype)) || !(off >= 0)) {
    Napi::Error::New(env, "native: bad view descriptor").ThrowAsJavaScriptException();
    return false;
  }
  int64_t numel = 1, maxoff = 0;
  for (int i = 0; i < v->ndim; i++) {
    v->shape[i] = (int64_t)m[3 + i];
    v->strides[i] = (int64_t)m[3 + MOSS_MAX_DIMS + i];
    if (v->shape[i] < 0 || v->strides[i] < 0) {
      Napi::Error::New(env, "native: negative shape or stride").ThrowAsJavaScriptException();
      return false;
    }
    numel *= v->shape[i];
    if (v->shape[i] > 0) maxoff += (v->shape[i] - 1) * v->strides[i];
  }
  const int64_t esz = v->dtype == MOSS_F32 || v->dtype == MOSS_I32 ? 4 : v->dtype == MOSS_I64 ? 8
                      : v->dtype == MOSS_F16 || v->dtype == MOSS_BF16 ? 2 : 1;
  int64_t need;
  if (v->dtype == MOSS_Q8_0 || v->dtype == MOSS_Q4_0) need = numel / 32 * (v->dtype == MOSS_Q8_0 ? 34 : 18);
  else if (moss_gq_is(v->dtype)) need = numel / 128 * moss_gq_block_bytes(v->dtype);
  else if (moss_kq_is(v->dtype)) need = numel / moss_kq_block_size(v->dtype) * moss_kq_block_bytes(v->dtype);
  else need = numel == 0 ? 0 : (maxoff + 1) * esz;
  const int64_t boff = (int64_t)off;
  if (need > 0 && (boff + need > (int64_t)len || data == nullptr)) {
    Napi::RangeError::New(env, "native: view reads past its ArrayBuffer (freed storage or bad view)")
        .ThrowAsJavaScriptException();
    return false;
  }
  if (v->dtype < MOSS_Q8_0 && (reinterpret_cast<uintptr_t>(data) + boff) % esz != 0) {
    Napi::Error::New(env, "native: view data is not aligned to its element size").ThrowAsJavaScriptException();
    return false;
  }
  v->data = static_cast<char*>(data) + boff;
  return true;
}

// Reads n views from args [first, first + n) into slots 0..n-1; absent views become null.
struct Views {
  moss_view v[10];  // kScal / kSlot slots (attentionBackward uses 9)
  const moss_view* p[10];
};
// out_mask: bit i set = view i is written (file mappings are copy-on-write, so any view may be).
bool get_views(const Napi::CallbackInfo& info, int first, int n, Views* vs, unsigned out_mask) {
  for (int i = 0; i < n; i++) {
    bool present;
    if (!view_at(info.Env(), info[first + i], i, &vs->v[i], &present)) return false;
    vs->p[i] = present ? &vs->v[i] : nullptr;
  }
  return true;
}
inline int arg_int(const Napi::CallbackInfo& info, int i) { return info[i].As<Napi::Number>().Int32Value(); }

#define VIEWS_W(first, n, out_mask)                                            \
  Views V;                                                                     \
  if (!get_views(info, first, n, &V, out_mask)) return info.Env().Undefined();
#define VIEWS(first, n) VIEWS_W(first, n, 1u)
#define S(i) (g_meta[kScal + (i)])

Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Float64Array a = info[0].As<Napi::Float64Array>();
  if (a.ElementLength() < (size_t)kMetaLen) {
    Napi::Error::New(info.Env(), "native init: meta too short").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  // the env keeps the array alive (deleted with the env, i.e. when its thread ends)
  info.Env().SetInstanceData(new Napi::Reference<Napi::Float64Array>(Napi::Persistent(a)));
  g_meta = a.Data();
  return info.Env().Undefined();
}

Napi::Value Copy(const Napi::CallbackInfo& info) { VIEWS(0, 2) moss_copy(V.p[0], V.p[1]); return info.Env().Undefined(); }
Napi::Value Fill(const Napi::CallbackInfo& info) { VIEWS(0, 1) moss_fill(V.p[0], S(0)); return info.Env().Undefined(); }
Napi::Value Dequantize(const Napi::CallbackInfo& info) {
  VIEWS(0, 2) moss_dequantize(V.p[0], V.p[1]);
  return info.Env().Undefined();
}
Napi::Value Unary(const Napi::CallbackInfo& info) {
  VIEWS(1, 2) moss_unary(arg_int(info, 0), V.p[0], V.p[1]);
  return info.Env().Undefined();
}
Napi::Value Binary(const Napi::CallbackInfo& info) {
  VIEWS(1, 3) moss_binary(arg_int(info, 0), V.p[0], V.p[1], V.p[2]);
  return info.Env().Undefined();
}
Napi::Value Where(const Napi::CallbackInfo& info) {
  VIEWS(0, 4) moss_where(V.p[0], V.p[1], V.p[2], V.p[3]);
  return info.Env().Undefined();
}
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  VIEWS(1, 2) moss_reduce(arg_int(info, 0), V.p[0], V.p[1], (uint32_t)S(0));
  return info.Env().Undefined();
}
Napi::Value ArgReduce(const Napi::CallbackInfo& info) {
  VIEWS(1, 2) moss_argreduce(arg_int(info, 0), V.p[0], V.p[1], (int)S(0));
  return info.Env().Undefined();
}
Napi::Value IndexSelect(const Napi::CallbackInfo& info) {
  VIEWS(0, 3) moss_index_select(V.p[0], V.p[1], (int)S(0), V.p[2]);
  return info.Env().Undefined();
}
Napi::Value Gather(const Napi::CallbackInfo& info) {
  VIEWS(0, 3) moss_gather(V.p[0], V.p[1], (int)S(0), V.p[2]);
  return info.Env().Undefined();
}
Napi::Value ScatterAdd(const Napi::CallbackInfo& info) {
  VIEWS(0, 3) moss_scatter_add(V.p[0], (int)S(0), V.p[1], V.p[2]);
  return info.Env().Undefined();
}
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  VIEWS(0, 2) moss_softmax(V.p[0], V.p[1]);
  return info.Env().Undefined();
}
Napi::Value LogSoftmax(const Napi::CallbackInfo& info) {
  VIEWS(0, 2) moss_log_softmax(V.p[0], V.p[1]);
  return info.Env().Undefined();
}
Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  VIEWS_W(0, 6, 7u) moss_layer_norm(V.p[0], V.p[1], V.p[2], V.p[3], V.p[4], V.p[5], (float)S(0));
  return info.Env().Undefined();
}
Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  VIEWS_W(0, 8, 7u) moss_layer_norm_backward(V.p[0], V.p[1], V.p[2], V.p[3], V.p[4], V.p[5], V.p[6], V.p[7]);
  return info.Env().Undefined();
}
Napi::Value RmsNorm(const Napi::CallbackInfo& info) {
  VIEWS_W(0, 4, 3u) moss_rms_norm(V.p[0], V.p[1], V.p[2], V.p[3], (float)S(0));
  return info.Env().Undefined();
}
Napi::Value RmsNormBackward(const Napi::CallbackInfo& info) {
  VIEWS_W(0, 6, 3u) moss_rms_norm_backward(V.p[0], V.p[1], V.p[2], V.p[3], V.p[4], V.p[5]);
  return info.Env().Undefined();
}
// Rope frequency factors: count in scalar 4, values in the array area (see index.ts ropeParams).
bool rope_factors(const Napi::CallbackInfo& info, std::vector<float>* f) {
  const int64_t n = (int64_t)S(4);
  if (n < 0 || n > kMetaLen - kArr || (n > 0 && n != (int64_t)S(0) / 2)) {
    Napi::Error::New(info.Env(), "native rope: bad frequency factor count").ThrowAsJavaScriptException();
    return false;
  }
  f->resize((size_t)n);
  for (int64_t i = 0; i < n; i++) (*f)[i] = (float)g_meta[kArr + i];
  return true;
}
Napi::Value Rope(const Napi::CallbackInfo& info) {
  VIEWS(0, 3)
  std::vector<float> f;
  if (!rope_factors(info, &f)) return info.Env().Undefined();
  moss_rope(V.p[0], V.p[1], V.p[2], (int)S(0), S(1) != 0, S(2), S(3) != 0, f.empty() ? nullptr : f.data());
  return info.Env().Undefined();
}
// attention(out, q, k, v, lse|null) and attentionBackward(dq, dk, dv, dout, q, k, v, out, lse): scale
// and causal in scalars 0-1 (attention: sliding window in scalar 2, 0 none), past_len then kv_len (B
// each) in the array area.
bool attn_lens(const Napi::CallbackInfo& info, int64_t B, std::vector<int64_t>* past, std::vector<int64_t>* kv) {
  if (B > (kMetaLen - kArr) / 2) {
    Napi::Error::New(info.Env(), "native attention: batch too large").ThrowAsJavaScriptException();
    return false;
  }
  past->resize(B);
  kv->resize(B);
  for (int64_t b = 0; b < B; b++) {
    (*past)[b] = (int64_t)g_meta[kArr + b];
    (*kv)[b] = (int64_t)g_meta[kArr + B + b];
  }
  return true;
}
Napi::Value Attention(const Napi::CallbackInfo& info) {
  VIEWS_W(0, 5, 0x11u)
  std::vector<int64_t> past, kv;
  if (!attn_lens(info, V.p[1]->shape[0], &past, &kv)) return info.Env().Undefined();
  moss_attention(V.p[0], V.p[4], V.p[1], V.p[2], V.p[3], (float)S(0), S(1) != 0, past.data(), kv.data(),
                 (int64_t)S(2));
  return info.Env().Undefined();
}
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  VIEWS_W(0, 9, 7u)
  std::vector<int64_t> past, kv;
  if (!attn_lens(info, V.p[4]->shape[0], &past, &kv)) return info.Env().Undefined();
  moss_attention_backward(V.p[0], V.p[1], V.p[2], V.p[3], V.p[4], V.p[5], V.p[6], V.p[7], V.p[8], (float)S(0),
                          S(1) != 0, past.data(), kv.data());
  return info.Env().Undefined();
}
Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  VIEWS_W(0, 4, 3u) moss_cross_entropy(V.p[0], V.p[1], V.p[2], V.p[3], (int64_t)S(0), (float)S(1));
  return info.Env().Undefined();
}
Napi::Value AdamW(const Napi::CallbackInfo& info) {
  VIEWS_W(0, 4, 13u) moss_adamw(V.p[0], V.p[1], V.p[2], V.p[3], S(0), S(1), S(2), S(3), S(4), S(5));
  return info.Env().Undefined();
}
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  VIEWS(0, 3) moss_matmul(V.p[0], V.p[1], V.p[2]);
  return info.Env().Undefined();
}

Napi::Value Isa(const Napi::CallbackInfo& info) {
  static const char* names[] = {"scalar", "avx2", "avx512"};
  return Napi::String::New(info.Env(), names[moss_isa_get()]);
}
Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), moss_isa_set(arg_int(info, 0)));
}
Napi::Value NumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), moss::num_threads()); }
Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  moss::set_num_threads(arg_int(info, 0));
  return Napi::Number::New(info.Env(), moss::num_threads());
}

// --- gemm bindings ---
// (owned by the gemm engineer; C ABI in gemm/gemm.h.) Operands are TypedArrays plus an element
// offset and element strides: gemm_f32(M, N, K, A, offA, rsa, csa, B, offB, rsb, csb, C, offC,
// ldc, accumulate); bf16 operands are Uint16Arrays. Every touched element is bounds-checked.
bool GemmSpan(const Napi::CallbackInfo& info, int ai, int64_t rows, int64_t cols, int64_t rs,
              int64_t cs, size_t elt, void** out) {
  Napi::Env env = info.Env();
  if (!info[ai].IsTypedArray()) {
    Napi::TypeError::New(env, "gemm: operand is not a TypedArray").ThrowAsJavaScriptException();
    return false;
  }
  Napi::TypedArray ta = info[ai].As<Napi::TypedArray>();
  const int64_t off = info[ai + 1].As<Napi::Number>().Int64Value();
  const int64_t len = static_cast<int64_t>(ta.ByteLength() / elt);
  const int64_t last = rows > 0 && cols > 0 ? off + (rows - 1) * rs + (cols - 1) * cs : off;
  if (ta.ElementSize() != elt || off < 0 || rs < 0 || cs < 0 || (rows > 0 && cols > 0 && last >= len)) {
    Napi::RangeError::New(env, "gemm: operand out of bounds or wrong element type").ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<char*>(ta.ArrayBuffer().Data()) + ta.ByteOffset() + off * elt;
  return true;
}
template <class TA, class TB>
Napi::Value GemmCall(const Napi::CallbackInfo& info,
                     void (*f)(int64_t, int64_t, int64_t, const TA*, int64_t, int64_t, const TB*,
                               int64_t, int64_t, float*, int64_t, int)) {
  auto I = [&](int i) { return info[i].As<Napi::Number>().Int64Value(); };
  const int64_t M = I(0), N = I(1), K = I(2), ldc = I(13);
  void *a, *b, *c;
  if (M < 0 || N < 0 || K < 0 || ldc < N) {
    Napi::RangeError::New(info.Env(), "gemm: bad sizes").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  if (!GemmSpan(info, 3, M, K, I(5), I(6), sizeof(TA), &a) || !GemmSpan(info, 7, K, N, I(9), I(10), sizeof(TB), &b) ||
      !GemmSpan(info, 11, M, N, ldc, 1, sizeof(float), &c))
    return info.Env().Undefined();
  f(M, N, K, static_cast<const TA*>(a), I(5), I(6), static_cast<const TB*>(b), I(9), I(10), static_cast<float*>(c), ldc,
    info[14].ToBoolean().Value() ? 1 : 0);
  return info.Env().Undefined();
}
Napi::Value GemmF32(const Napi::CallbackInfo& info) { return GemmCall<float, float>(info, moss_gemm_f32); }
Napi::Value GemmBf16(const Napi::CallbackInfo& info) { return GemmCall<uint16_t, uint16_t>(info, moss_gemm_bf16); }
Napi::Value GemmF32Bf16(const Napi::CallbackInfo& info) { return GemmCall<float, uint16_t>(info, moss_gemm_f32_bf16); }
Napi::Value MatvecF32(const Napi::CallbackInfo& info) { return GemmCall<float, float>(info, moss_matvec_f32); }
Napi::Value MatvecF32Bf16(const Napi::CallbackInfo& info) { return GemmCall<float, uint16_t>(info, moss_matvec_f32_bf16); }
Napi::Value GemmF32F16(const Napi::CallbackInfo& info) { return GemmCall<float, uint16_t>(info, moss_gemm_f32_f16); }
Napi::Value MatvecF32F16(const Napi::CallbackInfo& info) { return GemmCall<float, uint16_t>(info, moss_matvec_f32_f16); }
Napi::Value ProbeFma(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), moss_probe_fma_gflops(arg_int(info, 0), info[1].As<Napi::Number>().DoubleValue()));
}
Napi::Value ProbeRead(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), moss_probe_read_gbps(arg_int(info, 0), info[1].As<Napi::Number>().Int64Value()));
}
Napi::Value GemmIsa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), moss_gemm_isa_name()); }
void RegisterGemm(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Napi::Value (*)(const Napi::CallbackInfo&)> fns[] = {
      {"gemm_f32", GemmF32}, {"gemm_bf16", GemmBf16}, {"gemm_f32_bf16", GemmF32Bf16}, {"matvec_f32", MatvecF32},
      {"matvec_f32_bf16", MatvecF32Bf16}, {"gemm_f32_f16", GemmF32F16}, {"matvec_f32_f16", MatvecF32F16}, {"probe_fma_gflops", ProbeFma}, {"probe_read_gbps", ProbeRead},
      {"gemm_isa", GemmIsa}, {"num_threads", NumThreads}, {"set_num_threads", SetNumThreads}};
  for (const auto& f : fns) exports.Set(f.first, Napi::Function::New(env, f.second, f.first));
}
// --- end gemm bindings ---

// True when `bytes` bytes from `p` lie inside the ArrayBuffer `ab`.
bool span_ok(napi_env env, napi_value ab, const void* p, int64_t bytes) {
  void* data = nullptr;
  size_t len = 0;
  napi_get_arraybuffer_info(env, ab, &data, &len);
  const int64_t start = static_cast<const char*>(p) - static_cast<char*>(data);
  return data != nullptr && start >= 0 && start + bytes <= (int64_t)len;
}

// --- quant bindings ---
// (owned by the quant engineer; C ABI in quant/quant.h.) qmatmul(out, a, b) with the views of
// Backend.matmul in meta slots 0..2: out (..., M, N) f32 with unit column stride, a (..., M, K) f32
// with unit column stride, b (..., K, N) q8_0/q4_0 seen as the transpose of ggml (N, K) rows, i.e.
// strides (1, S) with S and K multiples of 32 and block-aligned batch offsets. Returns false (and
// computes nothing) for any other layout, so the caller can fall back to the generic matmul.
Napi::Value QMatmul(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  VIEWS(0, 3)
  int64_t w_end = 0;
  if (!moss_qmatmul_view_check(V.p[0], V.p[1], V.p[2], &w_end)) return Napi::Boolean::New(env, false);
  if (!span_ok(env, info[2], V.v[2].data, w_end)) {  // view_at checked numel blocks; a row stride S > K reaches further
    Napi::RangeError::New(env, "native qmatmul: weight view reads past its ArrayBuffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  moss_qmatmul_view(V.p[0], V.p[1], V.p[2]);
  return Napi::Boolean::New(env, true);
}
Napi::Value QMatmulIsa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), moss_qmatmul_isa()); }
// After a weight got a prepared copy: when its ArrayBuffer `buf` is a file mapping, drops the whole
// pages under [p, p + len) (MADV_DONTNEED: a private mapping that was never written re-reads the
// file if touched again), so the copy does not double the resident memory.
void drop_file_pages(napi_env env, napi_value buf, const void* p, int64_t len) {
  void* data = nullptr;
  size_t blen = 0;
  napi_get_arraybuffer_info(env, buf, &data, &blen);
  auto it = g_blocks.find(data);
  if (it == g_blocks.end() || it->second->kind != kFile) return;
  const uintptr_t lo = (reinterpret_cast<uintptr_t>(p) + 4095) & ~(uintptr_t)4095;
  const uintptr_t hi = (reinterpret_cast<uintptr_t>(p) + (uintptr_t)len) & ~(uintptr_t)4095;
  if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
}

// qprepare(w): w (N, K) q4_0 / q8_0 with contiguous rows in slot 0. Repacks it for the AVX-512 kernels
// (moss_qprepare) and returns the copy's bytes (0: not repacked). When w lives in a file mapping,
// the mapping's pages under w are then dropped (MADV_DONTNEED: a private mapping that was never
// written re-reads the file if touched again), so the copy does not double the resident memory.
Napi::Value QPrepare(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  VIEWS(0, 1)
  const moss_view& w = V.v[0];
  if (!V.p[0] || (w.dtype != MOSS_Q4_0 && w.dtype != MOSS_Q8_0) || w.ndim != 2 || w.strides[1] != 1 ||
      w.strides[0] != w.shape[1] || w.shape[1] % 32 != 0)
    return Napi::Number::New(env, 0);
  const int qt = w.dtype == MOSS_Q4_0 ? MOSS_QTYPE_Q4_0 : MOSS_QTYPE_Q8_0;
  const int64_t N = w.shape[0], K = w.shape[1], wr = K / 32 * moss_qblock_bytes(qt);
  const int64_t bytes = moss_qprepare(qt, w.data, N, K, wr);
  if (bytes > 0) drop_file_pages(env, info[0], w.data, N * wr);
  return Napi::Number::New(env, (double)bytes);
}
// hprepare(w): w (N, K) f16 / bf16 / k-quant with contiguous rows in slot 0: a huge-page copy
// (moss_hprepare) that the f32 x half matmul / moss_kq_matmul reads instead; the file pages under w
// are dropped as for qprepare.
Napi::Value HPrepare(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  VIEWS(0, 1)
  const moss_view& w = V.v[0];
  const bool kq = moss_kq_is(w.dtype);  // k-quant rows: same copy, read by moss_kq_matmul (moss_hfind)
  if (!V.p[0] || (w.dtype != MOSS_F16 && w.dtype != MOSS_BF16 && !kq) || w.ndim != 2 || w.strides[1] != 1 ||
      w.strides[0] != w.shape[1] || (kq && w.shape[1] % moss_kq_block_size(w.dtype) != 0))
    return Napi::Number::New(env, 0);
  const int64_t len = kq ? w.shape[0] * (w.shape[1] / moss_kq_block_size(w.dtype)) * moss_kq_block_bytes(w.dtype)
                         : w.shape[0] * w.shape[1] * 2;
  const int64_t bytes = moss_hprepare(w.data, len);
  if (bytes > 0) drop_file_pages(env, info[0], w.data, len);
  return Napi::Number::New(env, (double)bytes);
}
void RegisterQuant(Napi::Env env, Napi::Object exports) {
  exports.Set("hprepare", Napi::Function::New(env, HPrepare, "hprepare"));
  exports.Set("qmatmul", Napi::Function::New(env, QMatmul, "qmatmul"));
  exports.Set("qmatmulIsa", Napi::Function::New(env, QMatmulIsa, "qmatmulIsa"));
  exports.Set("qprepare", Napi::Function::New(env, QPrepare, "qprepare"));
}
// --- end quant bindings ---

// --- decode plan bindings (C ABI in plan/plan.h) ---
// planNew() -> handle; planAdd(handle, op, code, ...ArrayBuffers) with the views in meta slots
// 0..n-1 and scalars at kScal (each view bounds-checked now, like any call); planRun(handle, pos or
// [pos per sequence]);
// planFree(handle). A plan holds a reference to every ArrayBuffer it reads or writes (so none is
// collected), and before each run checks that none was freed by `free` (which would leave the
// plan pointing at released memory): such a plan throws instead of running.
struct PlanHandle {
  moss_plan* plan = nullptr;
  std::vector<napi_ref> refs;
  std::vector<Block*> blocks;
};
void plan_release(napi_env env, PlanHandle* h) {
  for (napi_ref r : h->refs) napi_delete_reference(env, r);
  h->refs.clear();
  h->blocks.clear();
  if (h->plan) moss_plan_free(h->plan);
  h->plan = nullptr;
}
PlanHandle* plan_arg(const Napi::CallbackInfo& info) {
  if (!info[0].IsExternal()) {
    Napi::TypeError::New(info.Env(), "native plan: expected a plan handle").ThrowAsJavaScriptException();
    return nullptr;
  }
  PlanHandle* h = info[0].As<Napi::External<PlanHandle>>().Data();
  if (!h->plan) {
    Napi::Error::New(info.Env(), "native plan: the plan was freed").ThrowAsJavaScriptException();
    return nullptr;
  }
  return h;
}
Napi::Value PlanNew(const Napi::CallbackInfo& info) {
  PlanHandle* h = new PlanHandle();
  h->plan = moss_plan_new();
  return Napi::External<PlanHandle>::New(info.Env(), h, [](Napi::Env env, PlanHandle* p) {
    plan_release(env, p);
    delete p;
  });
}
Napi::Value PlanAdd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PlanHandle* h = plan_arg(info);
  if (!h) return env.Undefined();
  const int op = arg_int(info, 1), code = arg_int(info, 2);
  const int n = (int)info.Length() - 3;
  if (n < 1 || n > 6) {
    Napi::Error::New(env, "native plan: a step takes 1 to 6 views").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  VIEWS_W(3, n, 0x3fu)
  if (op == MOSS_PLAN_MATMUL && V.p[2]) {
    int64_t w_end = 0;
    if (moss_qmatmul_view_check(V.p[0], V.p[1], V.p[2], &w_end) && !span_ok(env, info[5], V.v[2].data, w_end)) {
      Napi::RangeError::New(env, "native plan: weight view reads past its ArrayBuffer").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  const double sc[3] = {S(0), S(1), S(2)};
  std::vector<float> f;
  if (op == MOSS_PLAN_ROPE && !rope_factors(info, &f)) return env.Undefined();
  if (moss_plan_add(h->plan, op, code, V.p, n, sc, f.empty() ? nullptr : f.data(), (int)f.size()) != 0) {
    Napi::Error::New(env, "native plan: step " + std::to_string(op) + " does not take these views").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  for (int i = 0; i < n; i++) {
    if (!V.p[i]) continue;
    napi_ref r;
    napi_create_reference(env, info[3 + i], 1, &r);
    h->refs.push_back(r);
    void* data = nullptr;
    size_t len = 0;
    napi_get_arraybuffer_info(env, info[3 + i], &data, &len);
    auto it = g_blocks.find(data);
    if (it != g_blocks.end()) h->blocks.push_back(it->second);
  }
  return env.Undefined();
}
Napi::Value PlanRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PlanHandle* h = plan_arg(info);
  if (!h) return env.Undefined();
  for (const Block* b : h->blocks) {
    if (!b->p) {
      Napi::Error::New(env, "native plan: a buffer the plan uses was freed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  // a number (a plan of one sequence) or an array of B positions (sequence b at pos[b])
  thread_local std::vector<int64_t> pos;  // reused: nothing allocated per token
  pos.clear();
  if (info[1].IsArray()) {
    Napi::Array a = info[1].As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      const double x = a.Get(i).As<Napi::Number>().DoubleValue();
      pos.push_back(x >= 0 && x < 9e15 ? (int64_t)x : -1);
    }
  } else {
    const double x = info[1].As<Napi::Number>().DoubleValue();
    pos.push_back(x >= 0 && x < 9e15 ? (int64_t)x : -1);
  }
  if (pos.empty() || moss_plan_run_batch(h->plan, pos.data(), (int64_t)pos.size()) != 0) {
    Napi::RangeError::New(env, "native plan: position " + std::to_string(pos.empty() ? -1 : (long long)pos[0]) + " (" +
                                   std::to_string(pos.size()) + " sequences) is outside the plan's caches or batch")
        .ThrowAsJavaScriptException();
  }
  return env.Undefined();
}
Napi::Value PlanFree(const Napi::CallbackInfo& info) {
  if (info[0].IsExternal()) plan_release(info.Env(), info[0].As<Napi::External<PlanHandle>>().Data());
  return info.Env().Undefined();
}
Napi::Value PlanSize(const Napi::CallbackInfo& info) {
  PlanHandle* h = plan_arg(info);
  return h ? Napi::Number::New(info.Env(), (double)moss_plan_size(h->plan)) : info.Env().Undefined();
}
// --- end decode plan bindings ---

// --- io bindings (owned by io; C ABI in io/convert.h) ---
// quantizeRows(qtype, srcType, src, srcOffset, n, dst, dstOffset): quantizes n values (n % 32 == 0)
// of src (f32/f16/bf16 per srcType) starting at byte srcOffset into q8_0 (0) / q4_0 (1) blocks at
// dst + dstOffset. Both ranges are checked against their ArrayBuffers first.
Napi::Value QuantizeRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int qt = info[0].As<Napi::Number>().Int32Value();
  const int st = info[1].As<Napi::Number>().Int32Value();
  Napi::ArrayBuffer src = info[2].As<Napi::ArrayBuffer>();
  const double so = info[3].As<Napi::Number>().DoubleValue();
  const double n = info[4].As<Napi::Number>().DoubleValue();
  Napi::ArrayBuffer dst = info[5].As<Napi::ArrayBuffer>();
  const double dofs = info[6].As<Napi::Number>().DoubleValue();
  const double es = st == 0 ? 4 : 2, bb = qt == 0 ? 34 : 18;
  if ((qt != 0 && qt != 1) || st < 0 || st > 2 || n < 0 || so < 0 || dofs < 0 || std::fmod(n, 32) != 0 ||
      so + n * es > (double)src.ByteLength() || dofs + n / 32 * bb > (double)dst.ByteLength()) {
    Napi::RangeError::New(env, "native quantizeRows: bad type or range past a buffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  moss_quantize_rows(qt, st, static_cast<char*>(src.Data()) + (int64_t)so, (int64_t)n, static_cast<char*>(dst.Data()) + (int64_t)dofs);
  return env.Undefined();
}
// --- end io bindings ---

// --- k-quant bindings (owned by kquant; C ABI in kquant/kquant.h) ---
// kquantize(dtypeCode, src, srcOffset, n, dst, dstOffset): quantizes n f32 values (n % 256 == 0,
// srcOffset 4-aligned) into q4_K / q5_K / q6_K blocks (dtype codes 10 / 11 / 12) at dst + dstOffset.
Napi::Value KQuantize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int dt = info[0].As<Napi::Number>().Int32Value();
  Napi::ArrayBuffer src = info[1].As<Napi::ArrayBuffer>();
  const double so = info[2].As<Napi::Number>().DoubleValue();
  const double n = info[3].As<Napi::Number>().DoubleValue();
  Napi::ArrayBuffer dst = info[4].As<Napi::ArrayBuffer>();
  const double dofs = info[5].As<Napi::Number>().DoubleValue();
  const bool ok_type = dt == MOSS_Q4_K || dt == MOSS_Q5_K || dt == MOSS_Q6_K;
  if (!ok_type || n < 0 || so < 0 || dofs < 0 || std::fmod(n, 256) != 0 || std::fmod(so, 4) != 0 ||
      so + n * 4 > (double)src.ByteLength() || dofs + n / 256 * moss_kq_block_bytes(dt) > (double)dst.ByteLength() ||
      (reinterpret_cast<uintptr_t>(src.Data()) + (uintptr_t)so) % 4 != 0) {
    Napi::RangeError::New(env, "native kquantize: bad type, alignment or range past a buffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  moss_kq_quantize(dt, reinterpret_cast<const float*>(static_cast<char*>(src.Data()) + (int64_t)so), (int64_t)n,
                   static_cast<char*>(dst.Data()) + (int64_t)dofs);
  return env.Undefined();
}
// --- end k-quant bindings ---

// --- gptq bindings (owned by gptq; C ABI in gptq/gptq.h) ---
// gptqRepack(bits, K, N, G, qweight, qwOffset, qzeros, qzOffset, scales, scOffset, blockGroup (Int32Array),
// dst, dstOffset[, order (Int32Array K): act-order input order]): repacks one GPTQ Linear (i32
// qweight/qzeros, f16 scales at those byte offsets) into gq4/gq8 blocks at dst (blockGroup of K/128
// entries), or gq4s/gq8s blocks (K/32 entries: a group per 32 values); then the file pages under qweight are dropped (as qprepare does), so the
// repacked copy does not double the resident memory. Throws a RangeError on bad sizes.
Napi::Value GptqRepack(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int bits = info[0].As<Napi::Number>().Int32Value();
  const double K = info[1].As<Napi::Number>().DoubleValue(), N = info[2].As<Napi::Number>().DoubleValue(),
               G = info[3].As<Napi::Number>().DoubleValue();
  Napi::ArrayBuffer qw = info[4].As<Napi::ArrayBuffer>(), qz = info[6].As<Napi::ArrayBuffer>(), sc = info[8].As<Napi::ArrayBuffer>();
  const double qwo = info[5].As<Napi::Number>().DoubleValue(), qzo = info[7].As<Napi::Number>().DoubleValue(),
               sco = info[9].As<Napi::Number>().DoubleValue();
  Napi::Int32Array bg = info[10].As<Napi::Int32Array>();
  Napi::ArrayBuffer dst = info[11].As<Napi::ArrayBuffer>();
  const double dso = info[12].As<Napi::Number>().DoubleValue();
  const bool has_order = info.Length() > 13 && info[13].IsTypedArray();
  Napi::Int32Array ord = has_order ? info[13].As<Napi::Int32Array>() : Napi::Int32Array();
  const bool sub = K > 0 && (double)bg.ElementLength() == K / 32;
  const int dtype = bits == 4 ? (sub ? MOSS_GQ4S : MOSS_GQ4) : (sub ? MOSS_GQ8S : MOSS_GQ8);
  const double per = bits == 4 || bits == 8 ? 32 / bits : 1, bb = moss_gq_block_bytes(dtype);
  const bool ok = (bits == 4 || bits == 8) && K > 0 && N > 0 && G > 0 && std::fmod(K, 128) == 0 && std::fmod(N, per) == 0 &&
                  qwo >= 0 && qzo >= 0 && sco >= 0 && dso >= 0 && qwo + K * N / per * 4 <= (double)qw.ByteLength() &&
                  qzo + G * N / per * 4 <= (double)qz.ByteLength() && sco + G * N * 2 <= (double)sc.ByteLength() &&
                  dso + N * K / 128 * bb <= (double)dst.ByteLength() && ((double)bg.ElementLength() == K / 128 || sub) &&
                  std::fmod(qwo, 4) == 0 && std::fmod(qzo, 4) == 0 && std::fmod(sco, 2) == 0 &&
                  (!has_order || (double)ord.ElementLength() == K);
  char* qwp = static_cast<char*>(qw.Data()) + (int64_t)qwo;
  if (ok) {  // 2 MiB pages for the repacked weight (as moss_qprepare's copies): the mat-vec streams it
    const uintptr_t d0 = reinterpret_cast<uintptr_t>(dst.Data()) + (uintptr_t)dso;
    const uintptr_t lo = (d0 + 0x1fffff) & ~(uintptr_t)0x1fffff, hi = (d0 + (uintptr_t)(N * K / 128 * bb)) & ~(uintptr_t)0x1fffff;
    if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
  }
  if (!ok || moss_gq_repack(dtype, (int64_t)K, (int64_t)N, (int64_t)G, reinterpret_cast<const int32_t*>(qwp),
                            reinterpret_cast<const int32_t*>(static_cast<char*>(qz.Data()) + (int64_t)qzo),
                            reinterpret_cast<const uint16_t*>(static_cast<char*>(sc.Data()) + (int64_t)sco), bg.Data(),
                            has_order ? ord.Data() : nullptr, static_cast<char*>(dst.Data()) + (int64_t)dso) != 0) {
    Napi::RangeError::New(env, "native gptqRepack: bad bits, sizes, alignment, group index or order").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  drop_file_pages(env, info[4], qwp, (int64_t)(K * N / per * 4));
  return env.Undefined();
}
// --- end gptq bindings ---

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  struct Fn {
    const char* name;
    Napi::Value (*fn)(const Napi::CallbackInfo&);
  };
  static const Fn fns[] = {
      {"init", Init}, {"alloc", Alloc}, {"free", Free}, {"mapFile", MapFile}, {"copy", Copy}, {"fill", Fill},
      {"dequantize", Dequantize}, {"unary", Unary}, {"binary", Binary}, {"where", Where}, {"reduce", Reduce},
      {"argreduce", ArgReduce}, {"indexSelect", IndexSelect}, {"gather", Gather}, {"scatterAdd", ScatterAdd},
      {"softmax", Softmax}, {"logSoftmax", LogSoftmax}, {"layerNorm", LayerNorm},
      {"layerNormBackward", LayerNormBackward}, {"rmsNorm", RmsNorm}, {"rmsNormBackward", RmsNormBackward},
      {"rope", Rope}, {"attention", Attention}, {"attentionBackward", AttentionBackward}, {"crossEntropy", CrossEntropy}, {"adamw", AdamW},
      {"matmul", Matmul}, {"isa", Isa}, {"setIsa", SetIsa}, {"numThreads", NumThreads},
      {"setNumThreads", SetNumThreads}, {"planNew", PlanNew}, {"planAdd", PlanAdd}, {"planRun", PlanRun},
      {"planFree", PlanFree}, {"planSize", PlanSize},
  };
  for (const Fn& f : fns) exports.Set(f.name, Napi::Function::New(env, f.fn, f.name));
  RegisterGemm(env, exports);
  RegisterQuant(env, exports);  // quant bindings
  exports.Set("quantizeRows", Napi::Function::New(env, QuantizeRows, "quantizeRows"));  // io bindings
  exports.Set("kquantize", Napi::Function::New(env, KQuantize, "kquantize"));  // k-quant bindings
  exports.Set("gptqRepack", Napi::Function::New(env, GptqRepack, "gptqRepack"));  // gptq bindings
  exports.Set("metaLayout", Napi::String::New(env, "slot=20,scal=200,arr=256,len=4096"));
  return exports;
}

}  // namespace

NODE_API_MODULE(moss_native, InitModule)
