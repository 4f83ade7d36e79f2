#include "plan/layer_plan.hpp"

namespace ctq {

const char* to_string(PlanAction a) {
    switch (a) {
        case PlanAction::Copy: return "keep";
        case PlanAction::Drop: return "drop";
        case PlanAction::Quantize: return "quantize";
    }
    return "?";
}

}  // namespace ctq
