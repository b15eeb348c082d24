// The three products of a strided 2-D convolution (NHWC activations, HWIO kernel, float32), computed by oneDNN
// and exposed to XLA:CPU as FFI handlers. Loaded and called by vae_jax/onednn_conv.py, which says why.
//
//   VaeJaxConvForward        y[n, ho, wo, o] = sum_{i, j, c} x[n, ho*s + i - pt, wo*s + j - pl, c] w[i, j, c, o]
//   VaeJaxConvBackwardData   the adjoint of the forward map in x (a transposed convolution)
//   VaeJaxConvBackwardWeights the adjoint of the forward map in w (the weight gradient)
//
// Padding below the input is (pt, pl); above, whatever makes the output size match the buffers (XLA's "SAME" when
// the caller passes its lower halves). Primitive descriptors are built once per shape and cached; every call
// allocates its own reordered copies and scratchpad, so concurrent calls (XLA:CPU runs independent thunks in
// parallel) never share memory.

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "dnnl.hpp"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

using dnnl::memory;
using Dims = memory::dims;
using Tag = memory::format_tag;

enum class Kind { kForward = 0, kBackwardData = 1, kBackwardWeights = 2 };

struct Geometry {
  int64_t n, h, w, c;     // input (NHWC)
  int64_t k, o;           // kernel k x k x c x o (HWIO)
  int64_t ho, wo;         // output
  int64_t s, pt, pl;      // stride, padding before
  auto key(Kind kind) const { return std::make_tuple(int(kind), n, h, w, c, k, o, ho, wo, s, pt, pl); }
  Dims src() const { return {n, c, h, w}; }
  Dims wei() const { return {o, c, k, k}; }
  Dims dst() const { return {n, o, ho, wo}; }
  Dims strides() const { return {s, s}; }
  Dims pad_l() const { return {pt, pl}; }
  // Negative when the last rows/columns are never read (k < s); oneDNN's output size is floor-divided, so 0 gives
  // the same output.
  Dims pad_r() const {
    return {std::max<int64_t>((ho - 1) * s + k - h - pt, 0), std::max<int64_t>((wo - 1) * s + k - w - pl, 0)};
  }
};

dnnl::engine& Engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

memory::desc Any(const Dims& d) { return memory::desc(d, memory::data_type::f32, Tag::any); }
memory::desc User(const Dims& d, Tag tag) { return memory::desc(d, memory::data_type::f32, tag); }

// A cached primitive and the memory descriptors it wants for its three operands (a, b, c in argument order).
struct Cached {
  dnnl::primitive prim;
  memory::desc a, b, c, scratch;
};

dnnl::primitive_attr Attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

dnnl::convolution_forward::primitive_desc ForwardPd(const Geometry& g) {
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                    Any(g.src()), Any(g.wei()), Any(g.dst()), g.strides(), g.pad_l(), g.pad_r());
  return dnnl::convolution_forward::primitive_desc(d, Attr(), Engine());
}

Cached Build(const Geometry& g, Kind kind) {
  auto fwd = ForwardPd(g);
  if (kind == Kind::kForward) {
    return {dnnl::convolution_forward(fwd), fwd.src_desc(), fwd.weights_desc(), fwd.dst_desc(),
            fwd.scratchpad_desc()};
  }
  if (kind == Kind::kBackwardData) {
    dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, Any(g.src()), Any(g.wei()),
                                            Any(g.dst()), g.strides(), g.pad_l(), g.pad_r());
    dnnl::convolution_backward_data::primitive_desc pd(d, Attr(), Engine(), fwd);
    return {dnnl::convolution_backward_data(pd), pd.diff_dst_desc(), pd.weights_desc(), pd.diff_src_desc(),
            pd.scratchpad_desc()};
  }
  dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, Any(g.src()), Any(g.wei()),
                                             Any(g.dst()), g.strides(), g.pad_l(), g.pad_r());
  dnnl::convolution_backward_weights::primitive_desc pd(d, Attr(), Engine(), fwd);
  return {dnnl::convolution_backward_weights(pd), pd.src_desc(), pd.diff_dst_desc(), pd.diff_weights_desc(),
          pd.scratchpad_desc()};
}

const Cached& Get(const Geometry& g, Kind kind) {
  static std::mutex mu;
  static std::map<decltype(g.key(kind)), std::unique_ptr<Cached>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[g.key(kind)];
  if (!slot) slot = std::make_unique<Cached>(Build(g, kind));
  return *slot;
}

// An operand in the primitive's format: the user's buffer itself, or a reordered copy (`in`: copied from it now;
// otherwise the caller copies back with `Finish`).
struct Operand {
  memory user, mem;
  bool reordered;
  Operand(const memory::desc& want, const memory::desc& user_md, void* data, dnnl::stream& stream, bool in)
      : user(user_md, Engine(), data), reordered(want != user_md) {
    mem = reordered ? memory(want, Engine()) : user;
    if (reordered && in) dnnl::reorder(user, mem).execute(stream, user, mem);
  }
  void Finish(dnnl::stream& stream) {
    if (reordered) dnnl::reorder(mem, user).execute(stream, mem, user);
  }
};

ffi::Error Run(const Geometry& g, Kind kind, void* a, void* b, void* c) {
  if (g.pt < 0 || g.pl < 0) {
    return ffi::Error(ffi::ErrorCode::kInvalidArgument, "vae_jax oneDNN conv: negative padding");
  }
  try {
    const Cached& p = Get(g, kind);
    dnnl::stream stream(Engine());
    const memory::desc x = User(g.src(), Tag::nhwc), w = User(g.wei(), Tag::hwio), y = User(g.dst(), Tag::nhwc);
    const memory::desc ua = kind == Kind::kForward ? x : kind == Kind::kBackwardData ? y : x;
    const memory::desc ub = kind == Kind::kForward ? w : kind == Kind::kBackwardData ? w : y;
    const memory::desc uc = kind == Kind::kForward ? y : kind == Kind::kBackwardData ? x : w;
    Operand oa(p.a, ua, a, stream, true), ob(p.b, ub, b, stream, true), oc(p.c, uc, c, stream, false);
    memory scratch(p.scratch, Engine());
    std::unordered_map<int, memory> args{{DNNL_ARG_SCRATCHPAD, scratch}};
    if (kind == Kind::kForward) {
      args.insert({{DNNL_ARG_SRC, oa.mem}, {DNNL_ARG_WEIGHTS, ob.mem}, {DNNL_ARG_DST, oc.mem}});
    } else if (kind == Kind::kBackwardData) {
      args.insert({{DNNL_ARG_DIFF_DST, oa.mem}, {DNNL_ARG_WEIGHTS, ob.mem}, {DNNL_ARG_DIFF_SRC, oc.mem}});
    } else {
      args.insert({{DNNL_ARG_SRC, oa.mem}, {DNNL_ARG_DIFF_DST, ob.mem}, {DNNL_ARG_DIFF_WEIGHTS, oc.mem}});
    }
    p.prim.execute(stream, args);
    oc.Finish(stream);
    stream.wait();
  } catch (const dnnl::error& e) {
    return ffi::Error(ffi::ErrorCode::kInternal, std::string("vae_jax oneDNN conv: ") + e.what());
  }
  return ffi::Error::Success();
}

using F32 = ffi::Buffer<ffi::F32>;

ffi::Error Forward(F32 x, F32 w, ffi::ResultBuffer<ffi::F32> y, int64_t stride, int64_t pad_top, int64_t pad_left) {
  auto xd = x.dimensions(), wd = w.dimensions(), yd = y->dimensions();
  Geometry g{xd[0], xd[1], xd[2], xd[3], wd[0], wd[3], yd[1], yd[2], stride, pad_top, pad_left};
  return Run(g, Kind::kForward, x.untyped_data(), w.untyped_data(), y->untyped_data());
}

ffi::Error BackwardData(F32 dy, F32 w, ffi::ResultBuffer<ffi::F32> dx, int64_t stride, int64_t pad_top,
                        int64_t pad_left) {
  auto yd = dy.dimensions(), wd = w.dimensions(), xd = dx->dimensions();
  Geometry g{xd[0], xd[1], xd[2], xd[3], wd[0], wd[3], yd[1], yd[2], stride, pad_top, pad_left};
  return Run(g, Kind::kBackwardData, dy.untyped_data(), w.untyped_data(), dx->untyped_data());
}

ffi::Error BackwardWeights(F32 x, F32 dy, ffi::ResultBuffer<ffi::F32> dw, int64_t stride, int64_t pad_top,
                           int64_t pad_left) {
  auto xd = x.dimensions(), yd = dy.dimensions(), wd = dw->dimensions();
  Geometry g{xd[0], xd[1], xd[2], xd[3], wd[0], wd[3], yd[1], yd[2], stride, pad_top, pad_left};
  return Run(g, Kind::kBackwardWeights, x.untyped_data(), dy.untyped_data(), dw->untyped_data());
}

}  // namespace

#define VAE_JAX_BIND \
  ffi::Ffi::Bind().Arg<F32>().Arg<F32>().Ret<F32>().Attr<int64_t>("stride").Attr<int64_t>("pad_top").Attr<int64_t>("pad_left")

XLA_FFI_DEFINE_HANDLER_SYMBOL(VaeJaxConvForward, Forward, VAE_JAX_BIND);
XLA_FFI_DEFINE_HANDLER_SYMBOL(VaeJaxConvBackwardData, BackwardData, VAE_JAX_BIND);
XLA_FFI_DEFINE_HANDLER_SYMBOL(VaeJaxConvBackwardWeights, BackwardWeights, VAE_JAX_BIND);

extern "C" int VaeJaxOnednnVersion() {
  const dnnl_version_t* v = dnnl_version();
  return int(v->major) * 10000 + int(v->minor) * 100 + int(v->patch);
}
