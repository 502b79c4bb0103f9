// SPDX-License-Identifier: MIT
#include <peft/adapter.hpp>

#include <ai_core/result_macros.hpp>
#include <ai_core/str_cat.hpp>
#include <ai_core/torch_error.hpp>

#include <ATen/ops/matmul.h>

#include <utility>
#include <vector>

namespace peft {
namespace {

// An ai_core-only helper: checks that a tensor is a 2-d matrix. Returns ai_core::Result, which
// the PEFT functions below consume with AI_CORE_TRY (CoreError -> PeftError).
ai_core::Result<void> check_matrix(const at::Tensor& t, std::string_view what) {
  AI_CORE_CHECK(t.defined(), ai_core::ErrorCode::invalid_config, what,
                " is an undefined tensor: expected a 2-d tensor");
  if (t.dim() != 2) {
    return ai_core::CoreError::dimension_mismatch(
        ai_core::str_cat(what, " has ", t.dim(), " dimensions ", t.sizes(), ": expected 2"));
  }
  return {};
}

}  // namespace

Result<void> AdapterRegistry::add(std::string name, at::Tensor a, at::Tensor b, double alpha) {
  AI_CORE_CHECK(!name.empty(), ai_core::ErrorCode::invalid_config,
                "adapter name is empty: expected a module name such as 'q_proj'");
  AI_CORE_CHECK(alpha > 0, ai_core::ErrorCode::invalid_config, "alpha is ", alpha,
                ": expected a positive value (adapter '", name, "')");
  AI_CORE_TRY(check_matrix(a, "a"), "registering adapter '", name, "'");
  AI_CORE_TRY(check_matrix(b, "b"), "registering adapter '", name, "'");
  const std::int64_t rank = a.size(0);
  if (rank > max_rank_) {
    return PeftError::rank_too_large(rank, max_rank_)
        .with_context(ai_core::str_cat("registering adapter '", name, "'"));
  }
  if (b.size(1) != rank) {
    return ai_core::CoreError::shape_mismatch({b.size(0), rank}, b.sizes().vec(),
                                              ai_core::str_cat("b of adapter '", name, "'"));
  }
  if (a.device() != b.device()) {
    return ai_core::CoreError::device_mismatch(a.device(), b.device(),
                                               ai_core::str_cat("b of adapter '", name, "'"));
  }
  LoraAdapter adapter{name, std::move(a), std::move(b), alpha};
  adapters_.insert_or_assign(std::move(name), std::move(adapter));
  return {};
}

Result<const LoraAdapter*> AdapterRegistry::find(std::string_view name) const {
  const auto it = adapters_.find(name);
  if (it == adapters_.end()) return PeftError::adapter_not_found(std::string(name));
  return &it->second;
}

Result<at::Tensor> AdapterRegistry::delta(std::string_view name, const at::Tensor& x) const {
  AI_CORE_ASSIGN_OR_RETURN(const LoraAdapter* adapter, find(name));
  const std::string context = ai_core::str_cat("applying adapter '", name, "'");
  AI_CORE_CHECK(x.defined(), ai_core::ErrorCode::invalid_config,
                "x is an undefined tensor (adapter '", name, "')");
  if (x.dim() < 1 || x.size(-1) != adapter->a.size(1)) {
    std::vector<std::int64_t> expected = x.sizes().vec();
    if (expected.empty()) expected.push_back(0);
    expected.back() = adapter->a.size(1);
    return ai_core::CoreError::shape_mismatch(std::move(expected), x.sizes().vec(), "x")
        .with_context(context);
  }
  if (x.device() != adapter->a.device()) {
    return ai_core::CoreError::device_mismatch(adapter->a.device(), x.device(), "x");
  }
  const double scale = adapter->alpha / static_cast<double>(adapter->rank());
  AI_CORE_ASSIGN_OR_RETURN(at::Tensor y, ai_core::capture([&] {
                             return at::matmul(at::matmul(x, adapter->a.t()), adapter->b.t());
                           }),
                           context);
  return y.mul_(scale);
}

ai_core::Result<at::Tensor> apply_adapter(const AdapterRegistry& registry, std::string_view name,
                                          const at::Tensor& x) {
  // peft::Result -> ai_core::Result: the PeftError converts to its CoreError.
  AI_CORE_ASSIGN_OR_RETURN(at::Tensor y, registry.delta(name, x), "in apply_adapter");
  return y;
}

}  // namespace peft
