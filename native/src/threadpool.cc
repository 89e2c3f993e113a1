// Persistent thread pool (see threadpool.h for the contract).
//
// One job at a time. The job's claim counter is a single 64-bit word: generation (32 bits) |
// chunk count (16) | next chunk (16). A worker claims a chunk with a CAS that also checks the
// generation, so a worker that wakes late can never run a chunk of a newer job with stale
// parameters; the job's parameters are only read after a successful claim, while the job cannot
// finish. Workers spin (with pause, yielding the core every ~256 pauses) for ~200 us after a job,
// then sleep on a condition variable.
//
// Deliberately does not: pin threads, or split a job into more chunks than threads (callers that
// want finer grains loop inside their chunk).
#include "threadpool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MOSS_PAUSE() _mm_pause()
#else
#define MOSS_PAUSE() std::this_thread::yield()
#endif

namespace moss {
namespace {

thread_local bool tl_in_pool = false;  // true on workers and while the caller runs a job

int default_threads() {
  if (const char* s = std::getenv("MOSS_THREADS")) {
    int v = std::atoi(s);
    if (v > 0) return v > 1024 ? 1024 : v;
  }
  unsigned h = std::thread::hardware_concurrency();
  return h == 0 ? 1 : static_cast<int>(h > 1024 ? 1024 : h);
}

class Pool {
 public:
  explicit Pool(int n) { start(n); }
  ~Pool() { stop(); }

  int size() const { return nthreads_; }

  void resize(int n) {
    std::lock_guard<std::mutex> g(dispatch_);
    stop();
    start(n);
  }

  void run(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    if (n == 1 || nthreads_ == 1 || tl_in_pool) {
      fn(0, n);
      return;
    }
    std::unique_lock<std::mutex> g(dispatch_, std::try_to_lock);
    if (!g.owns_lock()) {  // another thread owns the pool: do the work here
      fn(0, n);
      return;
    }
    const int64_t chunks = n < nthreads_ ? n : nthreads_;
    fn_ = &fn;
    n_ = n;
    done_.store(0, std::memory_order_relaxed);
    gen_ = (gen_ + 1) & 0xffffffffu;
    uint64_t word = (gen_ << 32) | (static_cast<uint64_t>(chunks) << 16);
    claim_.store(word, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lk(sleep_mu_);
      sleep_cv_.notify_all();
    }
    tl_in_pool = true;
    work(gen_);
    tl_in_pool = false;
    // Wait for chunks claimed by workers.
    int spins = 0;
    while (done_.load(std::memory_order_acquire) < chunks) {
      if (++spins < 4096) {
        MOSS_PAUSE();
      } else {
        std::this_thread::yield();
      }
    }
    fn_ = nullptr;
  }

 private:
  // Claim and run chunks of generation gen until none are left. Returns true if it ran any.
  bool work(uint64_t gen) {
    bool any = false;
    uint64_t w = claim_.load(std::memory_order_acquire);
    for (;;) {
      if ((w >> 32) != gen) return any;
      uint64_t chunks = (w >> 16) & 0xffff, next = w & 0xffff;
      if (next >= chunks) return any;
      if (!claim_.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel,
                                        std::memory_order_acquire))
        continue;
      int64_t b = n_ * static_cast<int64_t>(next) / static_cast<int64_t>(chunks);
      int64_t e = n_ * static_cast<int64_t>(next + 1) / static_cast<int64_t>(chunks);
      (*fn_)(b, e);
      done_.fetch_add(1, std::memory_order_release);
      any = true;
      w = claim_.load(std::memory_order_acquire);
    }
  }

  void worker_loop() {
    tl_in_pool = true;
    uint64_t seen = claim_.load(std::memory_order_acquire) >> 32;
    for (;;) {
      // Spin for a while waiting for a new generation, then sleep.
      auto t0 = std::chrono::steady_clock::now();
      uint64_t g = seen;
      for (int i = 0;; ++i) {
        if (stop_.load(std::memory_order_acquire)) return;
        g = claim_.load(std::memory_order_acquire) >> 32;
        if (g != seen) break;
        MOSS_PAUSE();
        if ((i & 255) != 255) continue;
        // Every ~10 us: give the core away if someone else is runnable on it (shared or
        // oversubscribed machines), and after ~200 us of nothing, sleep.
        if (std::chrono::steady_clock::now() - t0 <= std::chrono::microseconds(200)) {
          std::this_thread::yield();
        } else {
          std::unique_lock<std::mutex> lk(sleep_mu_);
          sleepers_.fetch_add(1, std::memory_order_seq_cst);
          sleep_cv_.wait(lk, [&] {
            return stop_.load(std::memory_order_acquire) ||
                   (claim_.load(std::memory_order_seq_cst) >> 32) != seen;
          });
          sleepers_.fetch_sub(1, std::memory_order_relaxed);
          t0 = std::chrono::steady_clock::now();
        }
      }
      seen = g;
      work(g);
    }
  }

  void start(int n) {
    nthreads_ = n < 1 ? 1 : n;
    stop_.store(false);
    for (int i = 1; i < nthreads_; ++i) workers_.emplace_back([this] { worker_loop(); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lk(sleep_mu_);
      stop_.store(true, std::memory_order_seq_cst);
      sleep_cv_.notify_all();
    }
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  int nthreads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex dispatch_;  // one job at a time
  uint64_t gen_ = 0;     // written only under dispatch_
  std::atomic<uint64_t> claim_{0};
  std::atomic<int64_t> done_{0};
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> sleepers_{0};
  std::mutex sleep_mu_;
  std::condition_variable sleep_cv_;
};

Pool& pool() {
  // Leaked on purpose: joining threads from a static destructor at process exit can deadlock.
  static Pool* p = new Pool(default_threads());
  return *p;
}

}  // namespace

int num_threads() { return pool().size(); }

void set_num_threads(int n) { pool().resize(n <= 0 ? default_threads() : n); }

void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn) { pool().run(n, fn); }

}  // namespace moss
