// Work split over XLA:CPU's intra-op thread pool for the library's FFI handlers (fused_adam.cc,
// threefry_bernoulli.cc): ForEachPiece(pool, total, body) calls body(k) once for every piece k in [0, total) and
// returns when every call has finished.
//
// The calling thread and up to pool.num_threads() tasks scheduled on the pool take pieces from one atomic counter.
// The calling thread never waits for a piece nobody has started (it takes the unclaimed ones itself), so two such
// calls running at once on a small pool cannot deadlock. A task that starts after every piece is taken finds the
// counter past the end and returns without calling body: the shared state it touches lives until the last task
// drops it, and body (with whatever it points to in the caller's frame) is never called after ForEachPiece
// returns. Which thread runs a piece varies from call to call; a handler whose result must not depend on
// scheduling computes each piece's output from the piece alone (and combines per-piece results in piece order).
//
// ffi_build.compile_library hashes this file with every source that includes it: a change rebuilds them.

#ifndef VAE_JAX_CSRC_FOR_EACH_PIECE_H_
#define VAE_JAX_CSRC_FOR_EACH_PIECE_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

#include "xla/ffi/api/ffi.h"

namespace vae_jax {

inline void ForEachPiece(xla::ffi::ThreadPool& pool, int64_t total, std::function<void(int64_t)> body) {
  if (total <= 0) return;
  struct State {
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> done{0};
    int64_t total = 0;
    std::function<void(int64_t)> body;
  };
  auto state = std::make_shared<State>();
  state->total = total;
  state->body = std::move(body);
  auto drain = [state] {
    for (int64_t k; (k = state->next.fetch_add(1, std::memory_order_relaxed)) < state->total;) {
      state->body(k);
      state->done.fetch_add(1, std::memory_order_release);
    }
  };
  const int64_t helpers = std::min<int64_t>(pool.num_threads(), total - 1);
  for (int64_t t = 0; t < helpers; ++t) pool.Schedule([drain] { drain(); });  // Schedule takes its task by value
  drain();
  while (state->done.load(std::memory_order_acquire) < total) {
    // Only pieces that another thread has started are left; they finish without us.
  }
}

}  // namespace vae_jax

#endif  // VAE_JAX_CSRC_FOR_EACH_PIECE_H_
