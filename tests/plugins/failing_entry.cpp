// Registers one optimizer, then fails: the host must keep nothing of it.
#include <ctq/plugin.hpp>

namespace {
struct Noop : ctq::OptimizerState {
    void step(float*, const float*, int64_t, double) override {}
};
ctq::OptimizerState* make(const char*, int64_t) { return new Noop; }
}  // namespace

CTQ_PLUGIN("failing", "0.1", "registers, then fails") {
    static ctq::Optimizer opt("half_registered", "must not survive", &make);
    reg.add(opt);
    throw ctq::Error(CTQ_ERR_INTERNAL, "deliberate failure after one registration");
}
