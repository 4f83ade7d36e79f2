// Finds and loads libctq_engine.so (beside the executable) the first time learned rounding,
// bias correction or a subspace measure is needed.
#pragma once

#include "engine/engine_api.hpp"

namespace ctq {

// Throws CtqError saying what is missing and that --simple needs no engine.
const EngineApi& engine();

}  // namespace ctq
