// SPDX-License-Identifier: MIT
// Tests of <ai_core/torch_library.hpp>: the registration-time checks of `check_op` (each mistake
// gets its own message), the error translation (prefix, code identifier, context lines, OOM kind),
// and operators registered with `define_op`/`define_function` called through the dispatcher.
#include <ai_core/testing/matchers.hpp>
#include <ai_core/torch_library.hpp>

#include <ATen/ops/empty.h>
#include <ATen/ops/mul.h>
#include <ATen/ops/ones.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>

namespace ai_core {
namespace {

using ::ai_core::testing::HasErrorCode;
using ::ai_core::testing::HasMessage;
using ::ai_core::testing::IsOk;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// --- kernels, right and wrong
// ---------------------------------------------------------------------

Result<at::Tensor> scale(const at::Tensor& x, double factor) {
  if (factor == 0.0) {
    return CoreError::invalid_config("scale: factor 0 erases the input; expected a non-zero factor")
        .with_context("in torch_library_test::scale");
  }
  return at::mul(x, factor);
}
Result<at::Tensor> scale_meta(const at::Tensor& x, double) {
  return at::empty_symint(x.sym_sizes(), x.options());
}
Result<at::Tensor> reshape_sym(const at::Tensor& x, c10::SymIntArrayRef shape) {
  return at::empty_symint(shape, x.options());
}
Result<at::Tensor> reshape_int(const at::Tensor& x, c10::IntArrayRef shape) {
  return at::empty(shape, x.options());
}
Result<at::Tensor> take_int(const at::Tensor& x, std::int64_t) { return x; }
Result<void> fill_out(const at::Tensor&, at::Tensor& out) {
  out.fill_(1.0);
  return {};
}
Result<void> fill_out_const(const at::Tensor&, const at::Tensor&) { return {}; }
Result<std::tuple<at::Tensor, at::Tensor>> split(const at::Tensor& x) { return std::tuple{x, x}; }
Result<at::Tensor> pair(const at::Tensor& a, const at::Tensor& b) { return at::mul(a, b); }
Result<at::Tensor> pair_meta(const at::Tensor& a, const at::Tensor&) {
  return at::empty_symint(a.sym_sizes(), a.options());
}

TEST(TorchLibraryCheckTest, AMatchingKernelAndMetaKernelPass) {
  EXPECT_THAT((check_op<&scale, &scale_meta>("scale(Tensor x, float factor) -> Tensor")), IsOk());
  EXPECT_THAT((check_op<&reshape_int, &reshape_sym>("r(Tensor x, SymInt[] shape) -> Tensor")),
              IsOk());
  EXPECT_THAT((check_op<&fill_out>("f(Tensor x, *, Tensor(a!) out) -> ()")), IsOk());
  EXPECT_THAT((check_op<&split>("s(Tensor x) -> (Tensor a, Tensor b)")), IsOk());
}

TEST(TorchLibraryCheckTest, EachMistakeHasItsOwnMessage) {
  struct Case {
    std::string_view name;
    Result<c10::FunctionSchema> result;
    std::string_view needle;
  };
  const Case cases[] = {
      {"syntax", check_op<&scale>("scale(Tensor x, float factor -> Tensor"), "does not parse"},
      {"count", check_op<&scale>("scale(Tensor x) -> Tensor"),
       "the schema has 1 arguments, the C++ kernel takes 2 parameters"},
      {"type", check_op<&scale>("scale(Tensor x, int factor) -> Tensor"),
       "argument 1 'factor' is int in the schema but the C++ kernel takes a parameter torch reads "
       "as float"},
      {"meta symint", check_op<&reshape_int, &reshape_int>("r(Tensor x, SymInt[] shape) -> Tensor"),
       "argument 1 'shape' is SymInt[] in the schema but the Meta kernel takes int[]"},
      {"int is not SymInt", check_op<&reshape_sym>("r(Tensor x, int[] shape) -> Tensor"),
       "is int[] in the schema"},
      {"written but const", check_op<&fill_out_const>("f(Tensor x, *, Tensor(a!) out) -> ()"),
       "argument 1 'out' is written in place (Tensor(a!)) in the schema but the C++ kernel takes "
       "it as a const reference"},
      {"mutable but not annotated", check_op<&fill_out>("f(Tensor x, *, Tensor out) -> ()"),
       "write `Tensor(a!) out`"},
      {"aliased return", check_op<&fill_out>("f(Tensor x, *, Tensor(a!) out) -> Tensor(a!)"),
       "torch.compile cannot functionalize a custom operator whose output aliases an input"},
      {"view", check_op<&take_int>("t(Tensor(a) x, int n) -> Tensor"), "views are not supported"},
      {"return count", check_op<&split>("s(Tensor x) -> Tensor"),
       "the schema returns 1 values, the C++ kernel 2"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_THAT(c.result, HasErrorCode(ErrorCode::invalid_config));
    EXPECT_THAT(c.result, HasMessage(std::string(c.needle)));
  }
}

TEST(TorchLibraryCheckTest, MessagesNameTheOperatorAndTheKernel) {
  EXPECT_THAT((check_op<&reshape_int, &reshape_int>("r.out(Tensor x, SymInt[] shape) -> Tensor")),
              HasMessage("invalid config: operator 'r.out', the Meta kernel: "));
}

// --- error translation
// ----------------------------------------------------------------------------

TEST(TorchErrorMessageTest, PrefixCodeIdentifierMessageAndContext) {
  const CoreError error =
      CoreError::invalid_config("bad value 3; expected 4").with_context("loading 'q_proj'");
  EXPECT_EQ(torch_error_message(error),
            "ai_core::CoreError[invalid_config]: invalid config: bad value 3; expected 4\n"
            "  loading 'q_proj'");
  for (const ErrorCode code : kErrorCodes) {
    EXPECT_NE(error_code_identifier(code), "unrecognized") << static_cast<int>(code);
  }
  EXPECT_EQ(error_code_identifier(static_cast<ErrorCode>(0)), "unrecognized");
  EXPECT_EQ(error_code_identifier(ErrorCode::out_of_memory), "out_of_memory");
}

TEST(TorchErrorMessageTest, OutOfMemoryStaysAnOutOfMemoryError) {
  EXPECT_THROW(throw_as_torch_error(CoreError::out_of_memory("20 GiB")), c10::OutOfMemoryError);
  try {
    throw_as_torch_error(CoreError::not_implemented("fp8"));
  } catch (const c10::Error& e) {
    EXPECT_THAT(e.what_without_backtrace(), StartsWith("ai_core::CoreError[not_implemented]: "));
  }
}

// --- registered operators through the dispatcher
// ----------------------------------------------------

Result<std::string> greet(std::string_view name) { return "hello " + std::string(name); }

}  // namespace
}  // namespace ai_core

TORCH_LIBRARY_FRAGMENT(ai_core_test, m) {
  ai_core::define_op<&ai_core::scale, &ai_core::scale_meta>(
      m, "scale(Tensor x, float factor) -> Tensor");
  ai_core::define_op<&ai_core::fill_out>(m, "fill.out(Tensor x, *, Tensor(a!) out) -> ()");
  ai_core::define_op<&ai_core::pair, &ai_core::pair_meta>(m, "pair(Tensor a, Tensor b) -> Tensor");
  ai_core::define_function<&ai_core::greet>(m, "greet(str name) -> str");
}

namespace ai_core {
namespace {

auto scale_op() {
  return c10::Dispatcher::singleton()
      .findSchemaOrThrow("ai_core_test::scale", "")
      .typed<at::Tensor(const at::Tensor&, double)>();
}

TEST(DefineOpTest, RunsTheKernelOnTheCpuAndTheMetaKernelOnMeta) {
  const at::Tensor y = scale_op().call(at::ones({2, 3}), 3.0);
  EXPECT_EQ(y.sum().item<double>(), 18.0);
  const at::Tensor m = scale_op().call(at::ones({2, 3}, at::TensorOptions().device("meta")), 3.0);
  EXPECT_TRUE(m.is_meta());
  EXPECT_EQ(m.sizes(), (std::vector<std::int64_t>{2, 3}));
  const auto& schema = c10::Dispatcher::singleton().findSchemaOrThrow("ai_core_test::scale", "");
  EXPECT_TRUE(schema.hasKernelForDispatchKey(c10::DispatchKey::CUDA));
  EXPECT_TRUE(schema.hasTag(at::Tag::pt2_compliant_tag));
}

TEST(DefineOpTest, AnErrorCrossesTheDispatcherWithItsCodeAndContext) {
  try {
    (void)scale_op().call(at::ones({2}), 0.0);
    ADD_FAILURE() << "no exception";
  } catch (const c10::Error& e) {
    EXPECT_EQ(std::string(e.what_without_backtrace()),
              "ai_core::CoreError[invalid_config]: invalid config: scale: factor 0 erases the "
              "input; expected a non-zero factor\n  in torch_library_test::scale");
  }
}

TEST(DefineOpTest, TheOutVariantWritesItsArgumentAndReturnsNothing) {
  at::Tensor out = at::empty({4});
  c10::Dispatcher::singleton()
      .findSchemaOrThrow("ai_core_test::fill", "out")
      .typed<void(const at::Tensor&, at::Tensor&)>()
      .call(at::ones({4}), out);
  EXPECT_EQ(out.sum().item<double>(), 4.0);
}

TEST(DefineOpTest, AMetaKernelRejectsARealTensorMixedIn) {
  const auto pair = c10::Dispatcher::singleton()
                        .findSchemaOrThrow("ai_core_test::pair", "")
                        .typed<at::Tensor(const at::Tensor&, const at::Tensor&)>();
  const at::Tensor meta = at::ones({2}, at::TensorOptions().device("meta"));
  EXPECT_TRUE(pair.call(meta, meta).is_meta());
  try {
    (void)pair.call(meta, at::ones({2}));
    ADD_FAILURE() << "no exception";
  } catch (const c10::Error& e) {
    EXPECT_THAT(e.what_without_backtrace(),
                StartsWith("ai_core::CoreError[device_mismatch]: device mismatch: expected meta, "
                           "got cpu (argument 1 is on cpu while others are on meta"));
  }
}

TEST(DefineFunctionTest, AnOperatorWithoutTensorsRunsEverywhere) {
  const auto greet_op = c10::Dispatcher::singleton()
                            .findSchemaOrThrow("ai_core_test::greet", "")
                            .typed<std::string(c10::string_view)>();
  EXPECT_EQ(greet_op.call("nf4"), "hello nf4");
}

}  // namespace
}  // namespace ai_core
