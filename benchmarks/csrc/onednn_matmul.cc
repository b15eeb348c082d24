// One float32 matrix product computed by oneDNN's matmul primitive, as an XLA FFI handler: a contender the MLP step
// bound charges beside XLA's own products (benchmarks/onednn_matmul.py says why). Not part of the library.
//
//   VaeJaxBenchOnednnMatmul   c[m, n] = sum_k op(a)[m, k] op(b)[k, n],  op(a) = a or aᵀ (trans_a), likewise b,
//                             row-major buffers as XLA:CPU passes them (a [m, k] or [k, m]; b [k, n] or [n, k]).
//
// The primitive is built once per shape and cached, the stream once per thread; a call allocates only its scratchpad,
// so XLA:CPU may run calls concurrently.

#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "dnnl.hpp"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

using dnnl::memory;
using Tag = memory::format_tag;

dnnl::engine& Engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

struct Cached {
  dnnl::matmul prim;
  memory::desc a, b, c, scratch;
};

using Key = std::tuple<int64_t, int64_t, int64_t, bool, bool>;

Cached Build(int64_t m, int64_t k, int64_t n, bool ta, bool tb) {
  // Logical dims [m, k] · [k, n]; a transposed operand is the same logical matrix with swapped strides ("ba").
  memory::desc a({m, k}, memory::data_type::f32, ta ? Tag::ba : Tag::ab);
  memory::desc b({k, n}, memory::data_type::f32, tb ? Tag::ba : Tag::ab);
  memory::desc c({m, n}, memory::data_type::f32, Tag::ab);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr, Engine());
  return {dnnl::matmul(pd), a, b, c, pd.scratchpad_desc()};
}

const Cached& Get(int64_t m, int64_t k, int64_t n, bool ta, bool tb) {
  static std::mutex mu;
  static std::map<Key, std::unique_ptr<Cached>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[Key(m, k, n, ta, tb)];
  if (!slot) slot = std::make_unique<Cached>(Build(m, k, n, ta, tb));
  return *slot;
}

using F32 = ffi::Buffer<ffi::F32>;

ffi::Error Matmul(F32 a, F32 b, ffi::ResultBuffer<ffi::F32> c, bool trans_a, bool trans_b) {
  auto ad = a.dimensions(), bd = b.dimensions(), cd = c->dimensions();
  if (ad.size() != 2 || bd.size() != 2 || cd.size() != 2) {
    return ffi::Error(ffi::ErrorCode::kInvalidArgument, "onednn_matmul: operands must be matrices");
  }
  const int64_t m = trans_a ? ad[1] : ad[0], k = trans_a ? ad[0] : ad[1];
  const int64_t kb = trans_b ? bd[1] : bd[0], n = trans_b ? bd[0] : bd[1];
  if (k != kb || cd[0] != m || cd[1] != n) {
    return ffi::Error(ffi::ErrorCode::kInvalidArgument, "onednn_matmul: operand shapes do not match");
  }
  try {
    const Cached& p = Get(m, k, n, trans_a, trans_b);
    thread_local dnnl::stream stream(Engine());  // one per thread, as a hand-written step would keep it
    memory am(p.a, Engine(), a.untyped_data()), bm(p.b, Engine(), b.untyped_data());
    memory cm(p.c, Engine(), c->untyped_data()), scratch(p.scratch, Engine());
    p.prim.execute(stream, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm},
                            {DNNL_ARG_SCRATCHPAD, scratch}});
    stream.wait();
  } catch (const std::exception& e) {  // oneDNN's errors and allocation failures: never across the FFI boundary
    return ffi::Error(ffi::ErrorCode::kInternal, std::string("onednn_matmul: ") + e.what());
  }
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(VaeJaxBenchOnednnMatmul, Matmul,
                              ffi::Ffi::Bind().Arg<F32>().Arg<F32>().Ret<F32>().Attr<bool>("trans_a").Attr<bool>(
                                  "trans_b"));
