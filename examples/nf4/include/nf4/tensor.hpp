// SPDX-License-Identifier: MIT
// nf4/tensor.hpp: `Nf4Tensor`, a tensor quantized to NF4: packed 4-bit codes, one float32 absmax
// per block, and the original shape and dtype.
//
// The layout is bitsandbytes': codes[j] holds element 2j in its high nibble and element 2j + 1 in
// its low nibble (an odd count pads the last low nibble with `kZeroCode`); absmax[b] is the largest
// |x| of elements [b * block_size, (b + 1) * block_size), the last block possibly shorter. Element
// e dequantizes to `kCodeValues[code(e)] * absmax[e / block_size]`.
//
// An Nf4Tensor is only made through `create` (or by the quantizer), which checks that the parts
// agree; it then always holds consistent parts. It shares its tensors (copying one copies two
// at::Tensor handles, not the data).
#pragma once

#include <nf4/error.hpp>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <span>
#include <vector>

namespace nf4 {

/// A tensor quantized to NF4 (see the file comment for the layout).
class Nf4Tensor {
 public:
  /// Returns an Nf4Tensor over `codes` and `absmax`, after checking that they fit together:
  /// `block_size` valid (`invalid_block_size`), `dtype` f32/f16/bf16 (`unsupported_dtype`),
  /// `shape` with non-negative extents whose product fits in int64, `codes` a defined, contiguous,
  /// 1-D uint8 tensor of ceil(numel / 2) elements and `absmax` a contiguous 1-D float32 tensor of
  /// ceil(numel / block_size) elements (`size_mismatch` naming which and both sizes), both on the
  /// same device (`device_mismatch`). No data is read or copied: absmax values are not checked.
  [[nodiscard]] static Nf4Result<Nf4Tensor> create(at::Tensor codes, at::Tensor absmax,
                                                   std::vector<std::int64_t> shape,
                                                   c10::ScalarType dtype, std::int64_t block_size);

  /// Returns the packed codes: uint8, 1-D, ceil(numel() / 2) elements.
  [[nodiscard]] const at::Tensor& codes() const noexcept { return codes_; }
  /// Returns the per-block absmax: float32, 1-D, num_blocks() elements.
  [[nodiscard]] const at::Tensor& absmax() const noexcept { return absmax_; }
  /// Returns the shape of the tensor that was quantized.
  [[nodiscard]] std::span<const std::int64_t> shape() const noexcept { return shape_; }
  /// Returns the dtype of the tensor that was quantized.
  [[nodiscard]] c10::ScalarType dtype() const noexcept { return dtype_; }
  /// Returns the number of elements per absmax block.
  [[nodiscard]] std::int64_t block_size() const noexcept { return block_size_; }
  /// Returns the number of quantized elements (the product of `shape()`).
  [[nodiscard]] std::int64_t numel() const noexcept { return numel_; }
  /// Returns the number of absmax blocks, ceil(numel() / block_size()).
  [[nodiscard]] std::int64_t num_blocks() const noexcept { return absmax_.numel(); }
  /// Returns the device the codes and absmax live on.
  [[nodiscard]] c10::Device device() const { return codes_.device(); }
  /// Returns the bytes the quantized form occupies (codes plus absmax).
  [[nodiscard]] std::int64_t nbytes() const noexcept {
    return codes_.numel() + 4 * absmax_.numel();
  }

 private:
  Nf4Tensor(at::Tensor codes, at::Tensor absmax, std::vector<std::int64_t> shape,
            c10::ScalarType dtype, std::int64_t block_size, std::int64_t numel)
      : codes_(std::move(codes)),
        absmax_(std::move(absmax)),
        shape_(std::move(shape)),
        dtype_(dtype),
        block_size_(block_size),
        numel_(numel) {}

  at::Tensor codes_;
  at::Tensor absmax_;
  std::vector<std::int64_t> shape_;
  c10::ScalarType dtype_;
  std::int64_t block_size_;
  std::int64_t numel_;
};

}  // namespace nf4
