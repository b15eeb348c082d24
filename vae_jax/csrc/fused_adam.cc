// Adam (Kingma & Ba 2015) over every leaf of a parameter tree in one pass per element, as an XLA FFI handler for
// XLA:CPU. Loaded and called by vae_jax/fused_adam.py, which says why.
//
//   VaeJaxFusedAdam(coef, p_0, m_0, v_0, g_0, ..., p_{n-1}, m_{n-1}, v_{n-1}, g_{n-1})
//     -> (p'_0, m'_0, v'_0, ..., p'_{n-1}, m'_{n-1}, v'_{n-1}, sumsq)
//
//   m' = (1-b1)·g + b1·m,  v' = (1-b2)·g² + b2·v,  p' = p + (-lr)·((m'·(1/bc1)) / (sqrt(v'·(1/bc2)) + eps))
//
// the arithmetic of optax.scale_by_adam + scale_by_learning_rate + apply_updates in one of the forms XLA:CPU
// compiles it to (the division by a bias correction as a product with its reciprocal; the sums as FMAs where the
// CPU has them), so results equal optax's to float32 rounding (XLA's own form varies from program to program). The
// coefficients come in as a float32 buffer `coef` of shape [..., 8] — (1-b1, b1, 1-b2, b2, 1/bc1, 1/bc2, eps,
// -lr), computed in JAX as optax computes them — one row per vmapped member: every leaf has the same leading dims
// as `coef`, and its elements fall into contiguous blocks, one per row. Each element is computed by one thread with
// the same arithmetic whatever the split, so results do not depend on scheduling. The caller aliases p, m and v to
// the results, so a donated state is updated in place.
//
// `sumsq` (shape coef's leading dims, one per member) is Σ g² over every leaf: the squared global norm of the
// gradient, read in the same pass as the update instead of in a reduction of its own. Each piece of the work sums
// its elements in 16 float64 lanes in a fixed order, and the pieces' sums are added in their order, so the value
// does not depend on the split either (equal to optax.tree.norm's square to float32 rounding).
//
// The work is cut into chunks run on the calling thread and XLA's intra-op pool (for_each_piece.h).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "for_each_piece.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

constexpr int64_t kChunk = 1 << 15;  // elements per task: 128 KiB of each of the four arrays
constexpr int64_t kCoef = 8;

struct Coef {
  float one_minus_b1, b1, one_minus_b2, b2, rbc1, rbc2, eps, neg_lr;
};

struct Leaf {
  float* p;
  float* m;
  float* v;
  const float* g;
  int64_t block;  // elements per coef row
};

struct Piece {
  int leaf;
  int64_t row;  // the coef row (member) every element of the piece belongs to
  int64_t begin, end;
};

// XLA:CPU emits Adam's three sums as fused multiply-adds where the CPU has them (read from its results), with the
// other product rounded first; the same here, written out, and nothing else contracted (-ffp-contract=off).
inline float MulAdd(float a, float b, float c) {
#ifdef __FMA__
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

void Update(const Coef& c, const float* __restrict g, float* __restrict p, float* __restrict m, float* __restrict v,
            int64_t n) {
  const float a1 = c.one_minus_b1, b1 = c.b1, a2 = c.one_minus_b2, b2 = c.b2, r1 = c.rbc1, r2 = c.rbc2, eps = c.eps,
              neg_lr = c.neg_lr;  // locals: the arrays may not alias them, so the loop vectorizes
#pragma GCC ivdep
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i];
    const float mi = MulAdd(a1, gi, b1 * m[i]);
    const float vi = MulAdd(a2, gi * gi, b2 * v[i]);
    m[i] = mi;
    v[i] = vi;
    const float u = (mi * r1) / (std::sqrt(vi * r2) + eps);
    p[i] = MulAdd(u, neg_lr, p[i]);
  }
}

// Σ g² of a piece (still in cache from Update): 16 float64 lanes, element i into lane i % 16, the lanes added in
// order — the same number however the loop is vectorized. Each square is exact in float64.
double SumOfSquares(const float* __restrict g, int64_t n) {
  constexpr int kLanes = 16;
  double lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) lane[k] += double(g[i + k]) * double(g[i + k]);
  }
  for (int k = 0; i < n; ++i, ++k) lane[k] += double(g[i]) * double(g[i]);
  double total = 0.0;
  for (int k = 0; k < kLanes; ++k) total += lane[k];
  return total;
}

ffi::Error FusedAdam(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> coef, ffi::RemainingArgs args,
                     ffi::RemainingRets rets) {
  if (args.size() % 4 != 0 || rets.size() * 4 != args.size() * 3 + 4) {
    return ffi::Error::InvalidArgument(
        "fused_adam: expects (p, m, v, g) per leaf and returns (p, m, v) per leaf, then the sum of squares");
  }
  auto cd = coef.dimensions();
  if (cd.size() == 0 || cd[cd.size() - 1] != kCoef) {
    return ffi::Error::InvalidArgument("fused_adam: coef must have shape [..., 8]");
  }
  const int64_t rows = coef.element_count() / kCoef;
  if (rows == 0) return ffi::Error::Success();  // no member: every leaf is empty
  const Coef* coefs = reinterpret_cast<const Coef*>(coef.typed_data());
  std::vector<Leaf> leaves;
  std::vector<Piece> pieces;
  const size_t n = args.size() / 4;
  for (size_t j = 0; j < n; ++j) {
    auto p = args.get<ffi::Buffer<ffi::F32>>(4 * j), m = args.get<ffi::Buffer<ffi::F32>>(4 * j + 1),
         v = args.get<ffi::Buffer<ffi::F32>>(4 * j + 2), g = args.get<ffi::Buffer<ffi::F32>>(4 * j + 3);
    auto po = rets.get<ffi::Buffer<ffi::F32>>(3 * j), mo = rets.get<ffi::Buffer<ffi::F32>>(3 * j + 1),
         vo = rets.get<ffi::Buffer<ffi::F32>>(3 * j + 2);
    if (p.has_error() || m.has_error() || v.has_error() || g.has_error() || po.has_error() || mo.has_error() ||
        vo.has_error()) {
      return ffi::Error::InvalidArgument("fused_adam: every operand and result must be a float32 buffer");
    }
    const int64_t size = p->element_count();
    if (m->element_count() != size || v->element_count() != size || g->element_count() != size ||
        (*po)->element_count() != size || size % rows != 0) {
      return ffi::Error::InvalidArgument("fused_adam: a leaf's p, m, v, g differ in size or do not split by coef");
    }
    float* pd = (*po)->typed_data();
    float* md = (*mo)->typed_data();
    float* vd = (*vo)->typed_data();
    // Aliased results are the operands' own buffers; otherwise copy in first (a caller without donation).
    if (pd != p->typed_data()) std::copy_n(p->typed_data(), size, pd);
    if (md != m->typed_data()) std::copy_n(m->typed_data(), size, md);
    if (vd != v->typed_data()) std::copy_n(v->typed_data(), size, vd);
    const int64_t block = size / std::max<int64_t>(rows, 1);
    leaves.push_back({pd, md, vd, g->typed_data(), block});
    for (int64_t row = 0; row < rows; ++row) {  // pieces never cross a row: each member's sum is its own
      for (int64_t b = row * block; b < (row + 1) * block; b += kChunk) {
        pieces.push_back({int(j), row, b, std::min((row + 1) * block, b + kChunk)});
      }
    }
  }
  auto sq = rets.get<ffi::Buffer<ffi::F32>>(rets.size() - 1);
  if (sq.has_error() || (*sq)->element_count() != rows) {
    return ffi::Error::InvalidArgument("fused_adam: the sum of squares must be float32 with one value per coef row");
  }
  const int64_t total = pieces.size();
  std::vector<double> sumsq(total, 0.0);  // per piece
  vae_jax::ForEachPiece(pool, total, [&](int64_t k) {
    const Piece& pc = pieces[k];
    const Leaf& l = leaves[pc.leaf];
    const int64_t n = pc.end - pc.begin;
    Update(coefs[pc.row], l.g + pc.begin, l.p + pc.begin, l.m + pc.begin, l.v + pc.begin, n);
    sumsq[k] = SumOfSquares(l.g + pc.begin, n);
  });
  std::vector<double> per_row(rows, 0.0);
  for (int64_t k = 0; k < total; ++k) per_row[pieces[k].row] += sumsq[k];  // in piece order
  float* out = (*sq)->typed_data();
  for (int64_t r = 0; r < rows; ++r) out[r] = float(per_row[r]);
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(VaeJaxFusedAdam, FusedAdam,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .RemainingArgs()
                                  .RemainingRets());
