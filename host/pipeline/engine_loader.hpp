// Finds and loads libctq_engine.so (beside the executable) the first time learned rounding,
// bias correction or a subspace measure is needed.
#pragma once

#include "engine/engine_api.hpp"

namespace ctq {

// Throws CtqError saying what is missing and that --simple needs no engine.
const EngineApi& engine();

// Loads the engine on a thread of its own (LibTorch's libraries take ~0.5 s to load), alongside
// the CUDA context's start and the input's planning; engine() then waits for it. Errors surface
// from engine(). finish_engine_load() waits for a load still running (before exit).
void start_engine_load();
void finish_engine_load() noexcept;

}  // namespace ctq
