// Persistent thread pool for the native backend.
//
// Follows the usual OpenMP-runtime shape: a fixed set of worker threads created once (default =
// hardware threads, overridden by the MOSS_THREADS environment variable or set_num_threads), which
// spin briefly after each job and then sleep on a condition variable, so that thousands of small
// dispatches per second stay cheap while an idle process costs no CPU. The calling thread takes part
// in the work. A parallel_for issued from inside a worker (nested) runs inline on that thread, and a
// parallel_for issued while another thread owns the pool (e.g. two JS worker_threads) also runs
// inline rather than queueing.
//
// Deliberately does not: offer futures/tasks, work stealing, priorities, or thread affinity.
#pragma once
#include <cstdint>
#include <functional>

namespace moss {

/** Number of threads a parallel_for may use (workers + the calling thread), >= 1. */
int num_threads();

/**
 * Resize the pool to n threads in total (n <= 0 restores the default). Must not be called from
 * inside a parallel_for body; waits for a running job to finish.
 */
void set_num_threads(int n);

/**
 * Split [0, n) into at most num_threads() contiguous chunks and call fn(begin, end) once per chunk,
 * in parallel; returns when every chunk is done. Chunks are claimed dynamically, so a thread that
 * is late (descheduled) simply gets fewer chunks. n <= 0 does nothing; n == 1 or a nested call runs
 * fn(0, n) inline. fn must not throw.
 */
void parallel_for(int64_t n, const std::function<void(int64_t begin, int64_t end)>& fn);

}  // namespace moss
