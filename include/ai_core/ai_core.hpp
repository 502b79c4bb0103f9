// SPDX-License-Identifier: MIT
// ai_core/ai_core.hpp: the umbrella header, for convenience. It includes every public module
// header; the library's own code includes the specific headers it needs.
#pragma once

#include <ai_core/concepts.hpp>
#include <ai_core/device.hpp>
#include <ai_core/device_report.hpp>
#include <ai_core/device_selection.hpp>
#include <ai_core/dispatch.hpp>
#include <ai_core/dlpack.hpp>
#include <ai_core/dtype.hpp>
#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/interop.hpp>
#include <ai_core/log.hpp>
#include <ai_core/make_tensor_view.hpp>
#include <ai_core/memory.hpp>
#include <ai_core/metrics.hpp>
#include <ai_core/precision.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/run_metadata.hpp>
#include <ai_core/seed.hpp>
#include <ai_core/str_cat.hpp>
#include <ai_core/streams.hpp>
#include <ai_core/tensor_buffer.hpp>
#include <ai_core/tensor_view.hpp>
#include <ai_core/torch_error.hpp>
#include <ai_core/trace.hpp>
#include <ai_core/version.hpp>
