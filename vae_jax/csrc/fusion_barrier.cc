// The identity as an XLA FFI handler for XLA:CPU: a custom call that XLA cannot fuse into or through, so its operand
// is computed once into a buffer and every consumer reads that buffer. Loaded and called by
// vae_jax/fusion_barrier.py, which says why.
//
//   VaeJaxFusionBarrier(x any[...]) -> y any[...]    (y aliases x: the call copies nothing)

#include <cstring>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

ffi::Error FusionBarrier(ffi::AnyBuffer x, ffi::Result<ffi::AnyBuffer> y) {
  if (x.size_bytes() != y->size_bytes()) {
    return ffi::Error::InvalidArgument("fusion_barrier: the result must have the operand's shape and type");
  }
  if (x.untyped_data() != y->untyped_data() && x.size_bytes() > 0) {  // not aliased (XLA may decline): copy
    std::memcpy(y->untyped_data(), x.untyped_data(), x.size_bytes());
  }
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(VaeJaxFusionBarrier, FusionBarrier,
                              ffi::Ffi::Bind().Arg<ffi::AnyBuffer>().Ret<ffi::AnyBuffer>());
