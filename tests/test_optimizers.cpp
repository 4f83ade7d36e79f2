// The optimizer plugin (plugins/optimizers): each rule lowers its loss on a small problem, and
// the first steps match the textbook formulas.
#include "plugins/registry.hpp"

#include "engine_fixtures.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

using namespace ctq;

namespace {

// Owns one optimizer state made through the C descriptor, as the engine uses it.
class Handle {
public:
    Handle(const ctq_optimizer_desc& d, const char* json, int64_t n) : d_(d), n_(n) {
        ctq_error err{};
        status_ = d_.create(d_.user, json, n, &state_, &err);
        message_ = err.message;
    }
    ~Handle() { if (state_) d_.destroy(state_); }
    int32_t status() const { return status_; }
    const std::string& message() const { return message_; }
    void step(std::vector<float>& p, const std::vector<float>& g, double lr) {
        auto pv = make_view(p.data(), CTQ_DTYPE_F32, {n_});
        auto gv = make_view(const_cast<float*>(g.data()), CTQ_DTYPE_F32, {n_});
        ctq_error err{};
        REQUIRE_MESSAGE(d_.step(state_, &pv, &gv, lr, &err) == CTQ_OK, err.message);
    }

private:
    const ctq_optimizer_desc& d_;
    int64_t n_;
    void* state_ = nullptr;
    int32_t status_;
    std::string message_;
};

const Registry* optimizers() {
    static Registry registry;
    static bool loaded = false;
    if (!loaded) {
        loaded = true;
        const auto file = test::plugin_file("ctq_optimizers.so");
        REQUIRE_MESSAGE(registry.load_file(file), "cannot load " << file);
    }
    return &registry;
}

// f(p) = 1/2 sum a_i (p_i - t_i)^2 with curvatures a_i in [0.5, 2].
struct Quadratic {
    std::vector<float> a, t;
    explicit Quadratic(int64_t n) : a(n), t(n) {
        for (int64_t i = 0; i < n; ++i) {
            a[i] = 0.5f + 1.5f * static_cast<float>(i % 7) / 6.0f;
            t[i] = std::sin(0.37f * static_cast<float>(i)) * 0.5f;
        }
    }
    double loss(const std::vector<float>& p) const {
        double s = 0;
        for (size_t i = 0; i < p.size(); ++i) s += 0.5 * a[i] * double(p[i] - t[i]) * double(p[i] - t[i]);
        return s;
    }
    std::vector<float> grad(const std::vector<float>& p) const {
        std::vector<float> g(p.size());
        for (size_t i = 0; i < p.size(); ++i) g[i] = a[i] * (p[i] - t[i]);
        return g;
    }
};

double minimise(const char* name, const char* json, double lr, int steps) {
    const auto* d = optimizers()->optimizer(name);
    REQUIRE(d);
    const int64_t n = 64;
    Quadratic f(n);
    Handle h(*d, json, n);
    REQUIRE(h.status() == CTQ_OK);
    std::vector<float> p(n, 0.0f);
    const double start = f.loss(p);
    for (int s = 0; s < steps; ++s) h.step(p, f.grad(p), lr);
    return f.loss(p) / start;
}

}  // namespace

TEST_CASE("the plugin registers adamw, radam and prodigy") {
    for (const char* name : {"adamw", "radam", "prodigy"}) CHECK(optimizers()->optimizer(name));
}

TEST_CASE("each optimizer lowers its loss on a small quadratic") {
    CHECK(minimise("adamw", "{}", 0.02, 400) < 0.01);
    CHECK(minimise("radam", "{}", 0.02, 400) < 0.01);
    // Prodigy starts from d0 = 1e-6 and must find the step size itself (lr is a multiplier).
    CHECK(minimise("prodigy", "{}", 1.0, 400) < 0.01);
    CHECK(minimise("prodigy", R"({"use_speed": true})", 1.0, 400) < 0.5);
}

TEST_CASE("AdamW's default weight decay 0.01 pulls the parameter toward 0 (defect 24)") {
    const auto* d = optimizers()->optimizer("adamw");
    REQUIRE(d);
    std::vector<float> p{1.0f, -2.0f};
    const std::vector<float> zero{0.0f, 0.0f};
    Handle h(*d, "{}", 2);
    h.step(p, zero, 0.1);  // no gradient: only p *= 1 - lr * wd moves it
    CHECK(p[0] == 1.0f * static_cast<float>(1 - 0.1 * 0.01));
    CHECK(p[1] == -2.0f * static_cast<float>(1 - 0.1 * 0.01));
    Handle off(*d, R"({"weight_decay": 0})", 2);
    std::vector<float> q{1.0f, -2.0f};
    off.step(q, zero, 0.1);
    CHECK(q == std::vector<float>{1.0f, -2.0f});
}

TEST_CASE("RAdam's first steps are plain bias-corrected momentum (rho_t <= 5)") {
    const auto* d = optimizers()->optimizer("radam");
    REQUIRE(d);
    std::vector<float> p{0.5f};
    Handle h(*d, "{}", 1);
    h.step(p, {2.0f}, 0.1);  // m = 0.2, m / (1 - 0.9) = 2: p = 0.5 - 0.1 * 2
    CHECK(p[0] == doctest::Approx(0.3).epsilon(1e-6));
}

TEST_CASE("bad options are refused with the optimizer's name") {
    const auto* d = optimizers()->optimizer("prodigy");
    REQUIRE(d);
    Handle typo(*d, R"({"d_0": 1e-5})", 4);
    CHECK(typo.status() == CTQ_ERR_INVALID_ARGUMENT);
    CHECK(typo.message().find("prodigy: unknown option 'd_0'") != std::string::npos);
    Handle betas(*d, R"({"betas": [0.9, 1.5]})", 4);
    CHECK(betas.status() == CTQ_ERR_INVALID_ARGUMENT);
    Handle json(*d, "{", 4);
    CHECK(json.status() == CTQ_ERR_INVALID_ARGUMENT);
}
