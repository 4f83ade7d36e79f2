// Shared by the planner, preset and inspect tests: a registry holding the model presets and the
// fake fp8/int8 layouts of tests/plugins, and small builders.
#pragma once

#include "io/tensor_info.hpp"
#include "plan/plan_options.hpp"
#include "plugins/registry.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace plan_test {

inline const char* kModelsPlugin = CTQ_BINARY_DIR "/bin/plugins/ctq_models.so";
inline const char* kFakeLayouts = CTQ_BINARY_DIR "/test_plugins/ctq_test_layouts.so";
inline const char* kTestPreset = CTQ_BINARY_DIR "/test_plugins/ctq_test_preset.so";

inline void load_models_and_fake_layouts(ctq::Registry& reg) {
    REQUIRE(reg.load_file(kModelsPlugin));
    REQUIRE(reg.load_file(kFakeLayouts));
}

inline ctq::TensorInfo tensor(const std::string& name, std::vector<int64_t> shape,
                              ctq_dtype dtype = CTQ_DTYPE_BF16) {
    ctq::TensorInfo t;
    t.name = name;
    t.dtype = dtype;
    t.shape = std::move(shape);
    return t;
}

inline ctq::PlanOptions fp8_tensor_simple() {
    ctq::PlanOptions o;
    o.primary.family = "fp8";
    o.primary.scaling_mode = "tensor";
    o.primary.simple = true;
    return o;
}

}  // namespace plan_test
