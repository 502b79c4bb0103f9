// SPDX-License-Identifier: MIT
// ai_core/device.hpp: the device module: CUDA-first device selection and the one device-index
// rule (<ai_core/device_selection.hpp>) and the report `ai-core doctor` prints
// (<ai_core/device_report.hpp>). Tests install probes with <ai_core/testing/cuda_probe.hpp>.
//
// Example:
//   AI_CORE_ASSIGN_OR_RETURN(auto config, ai_core::DeviceConfig::from_env());
//   AI_CORE_ASSIGN_OR_RETURN(c10::Device device,
//                            ai_core::get_device(config.with_component("nf4")));
//   ai_core::warn_if_cpu(input.device(), "nf4");  // in a kernel's CPU branch
#pragma once

#include <ai_core/device_report.hpp>
#include <ai_core/device_selection.hpp>
