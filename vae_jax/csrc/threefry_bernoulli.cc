// Bernoulli draws from JAX's default PRNG — jax.random.bernoulli(key, p) for a Threefry-2x32 key and float32 p,
// bit for bit — as an XLA FFI handler for XLA:CPU, written out as 0.0 / 1.0 in float32. Loaded and called by
// vae_jax/threefry_bernoulli.py, which says why.
//
//   VaeJaxThreefryBernoulli(key u32[..., 2], p f32[..., *shape]) -> out f32[..., *shape]
//
// For element i of one row (the row-major index within *shape, as jax.random's partitionable counters):
//   (x0, x1) = threefry2x32(key, (i >> 32, i mod 2³²)),  bits = x0 ^ x1,
//   u = float32 with bits (bits >> 9) | 0x3F800000, minus 1   (uniform in [0, 1): jax.random.uniform's mapping),
//   out = (u < p[i]) ? 1 : 0
// Each key row (a vmapped member) owns one contiguous block of p. The hash is Salmon et al., SC 2011, with
// Random123's rotations and key schedule, the form JAX computes (tests compare every bit with jax.random).
//
// The work is cut into chunks run on the calling thread and XLA's intra-op pool (for_each_piece.h); each element's
// value depends on its index only, so the split never changes the result.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "for_each_piece.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

constexpr int64_t kChunk = 1 << 14;  // elements per task; a multiple of it never straddles 2³² (the counter's hi word)

inline uint32_t Rotl(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

// One chunk: elements [begin, begin + n) of a row with key (k0, k1); hi word constant over the chunk.
void Draw(uint32_t k0, uint32_t k1, uint64_t begin, const float* __restrict p, float* __restrict out, int64_t n) {
  const uint32_t k2 = k0 ^ k1 ^ 0x1BD11BDAu;
  const uint32_t hi = uint32_t(begin >> 32), lo0 = uint32_t(begin);
  for (int64_t i = 0; i < n; ++i) {
    uint32_t x0 = hi + k0, x1 = (lo0 + uint32_t(i)) + k1;
#define VAE_JAX_ROUND(r) x0 += x1; x1 = Rotl(x1, r) ^ x0;
    VAE_JAX_ROUND(13) VAE_JAX_ROUND(15) VAE_JAX_ROUND(26) VAE_JAX_ROUND(6)
    x0 += k1; x1 += k2 + 1u;
    VAE_JAX_ROUND(17) VAE_JAX_ROUND(29) VAE_JAX_ROUND(16) VAE_JAX_ROUND(24)
    x0 += k2; x1 += k0 + 2u;
    VAE_JAX_ROUND(13) VAE_JAX_ROUND(15) VAE_JAX_ROUND(26) VAE_JAX_ROUND(6)
    x0 += k0; x1 += k1 + 3u;
    VAE_JAX_ROUND(17) VAE_JAX_ROUND(29) VAE_JAX_ROUND(16) VAE_JAX_ROUND(24)
    x0 += k1; x1 += k2 + 4u;
    VAE_JAX_ROUND(13) VAE_JAX_ROUND(15) VAE_JAX_ROUND(26) VAE_JAX_ROUND(6)
    x0 += k2; x1 += k0 + 5u;
#undef VAE_JAX_ROUND
    const uint32_t fbits = ((x0 ^ x1) >> 9) | 0x3F800000u;
    float u;
    std::memcpy(&u, &fbits, sizeof u);
    out[i] = (u - 1.0f) < p[i] ? 1.0f : 0.0f;
  }
}

struct Piece {
  int64_t row;
  int64_t begin, end;  // within the row
};

ffi::Error ThreefryBernoulli(ffi::ThreadPool pool, ffi::Buffer<ffi::U32> key, ffi::Buffer<ffi::F32> p,
                             ffi::ResultBuffer<ffi::F32> out) {
  auto kd = key.dimensions();
  if (kd.size() == 0 || kd[kd.size() - 1] != 2) {
    return ffi::Error::InvalidArgument("threefry_bernoulli: the key data must have shape [..., 2]");
  }
  const int64_t rows = key.element_count() / 2, size = p.element_count();
  if (out->element_count() != size || (rows > 0 && size % rows != 0)) {
    return ffi::Error::InvalidArgument("threefry_bernoulli: p and the result must split into one block per key");
  }
  if (rows == 0 || size == 0) return ffi::Error::Success();
  const uint32_t* k = key.typed_data();
  const float* pd = p.typed_data();
  float* od = out->typed_data();
  const int64_t block = size / rows;
  std::vector<Piece> pieces;
  for (int64_t row = 0; row < rows; ++row) {
    for (int64_t b = 0; b < block; b += kChunk) pieces.push_back({row, b, std::min(block, b + kChunk)});
  }
  vae_jax::ForEachPiece(pool, pieces.size(), [&](int64_t j) {
    const Piece& pc = pieces[j];
    const int64_t offset = pc.row * block + pc.begin;
    Draw(k[2 * pc.row], k[2 * pc.row + 1], uint64_t(pc.begin), pd + offset, od + offset, pc.end - pc.begin);
  });
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(VaeJaxThreefryBernoulli, ThreefryBernoulli,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::U32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());
