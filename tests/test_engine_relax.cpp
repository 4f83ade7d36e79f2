// The reference's relaxation loop (methods original / adamw / radam / prodigy): LR schedules,
// early stopping, and the guarantee that what is written never loses to RTN.
#include "engine/learned_rounding.hpp"
#include "engine/lr_schedule.hpp"
#include "engine/quality.hpp"

#include "engine_fixtures.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace ctq;

TEST_CASE("plateau: every non-improving step multiplies lr by the shape-aware factor") {
    LearnedOptions o;  // lr 1, factor 0.95, patience 1, cooldown 0, influence 1
    engine::LrSchedule s(o, 1024, 4096, false);
    CHECK(s.plateau_factor() == doctest::Approx(std::pow(0.95, 2.0)));  // AR 4: 0.95^sqrt(4)
    CHECK(s.observe(0, 1.0));
    CHECK(s.lr() == 1.0);
    CHECK_FALSE(s.observe(1, 2.0));
    CHECK(s.lr() == doctest::Approx(0.9025));
    CHECK_FALSE(s.observe(2, 1.0));  // equal is not better
    CHECK(s.lr() == doctest::Approx(0.9025 * 0.9025));
    CHECK(s.observe(3, 0.5));
    CHECK(s.lr() == doctest::Approx(0.9025 * 0.9025));
    CHECK(s.best() == 0.5);
    o.lr_shape_influence = 0;
    CHECK(engine::LrSchedule(o, 1024, 4096, false).plateau_factor() == doctest::Approx(0.95));
}

TEST_CASE("exponential decays every step except during Prodigy's warm-up; lr floor stops") {
    LearnedOptions o;
    o.lr_schedule = "exponential";
    engine::LrSchedule plain(o, 64, 64, false), prodigy(o, 64, 64, true);
    for (int i = 0; i < 10; ++i) {
        plain.observe(i, 1.0 / (i + 1));
        prodigy.observe(i, 1.0 / (i + 1));
    }
    CHECK(plain.lr() == doctest::Approx(std::pow(0.99, 10)));
    CHECK(prodigy.lr() == 1.0);
    o.lr = 1e-8;
    engine::LrSchedule floor(o, 64, 64, false);
    floor.observe(0, 1.0);
    CHECK(floor.should_stop(1.0));  // lr 1e-8 <= early_stop_lr 1.01e-8
}

TEST_CASE("early stop on stall counts non-improving steps; thresholds rel and abs") {
    LearnedOptions o;
    o.early_stop_stall = 3;
    o.lr_schedule = "exponential";
    o.lr_gamma = 1.0;
    engine::LrSchedule s(o, 8, 8, false);
    s.observe(0, 1.0);
    for (int i = 1; i <= 3; ++i) {
        s.observe(i, 2.0);
        CHECK_FALSE(s.should_stop(s.best()));
    }
    s.observe(4, 2.0);
    CHECK(s.should_stop(s.best()));

    o.lr_threshold = 0.1;
    engine::LrSchedule rel(o, 8, 8, false);
    rel.observe(0, 1.0);
    CHECK_FALSE(rel.observe(1, 0.95));  // needs < 0.9
    CHECK(rel.observe(2, 0.85));
    o.lr_threshold_mode = "abs";
    engine::LrSchedule abs(o, 8, 8, false);
    abs.observe(0, 1.0);
    CHECK_FALSE(abs.observe(1, 0.95));
    CHECK(abs.observe(2, 0.85));
}

TEST_CASE("adaptive: a decay right after progress is gentle, a boost needs a long drought") {
    LearnedOptions o;
    o.lr_schedule = "adaptive";
    engine::LrSchedule s(o, 64, 64, false);  // square: shape ratio 0
    s.observe(0, 1.0);
    CHECK(s.lr() == 1.0);  // improved with counter 0: u = 1, boost 1
    s.observe(1, 2.0);     // counter 1 of 2000: decay = 0.95 + 0.045 u
    const double u = (1 + std::cos(2 * 3.14159265358979323846 / 2000)) / 2;
    CHECK(s.lr() == doctest::Approx(0.95 + (0.995 - 0.95) * u));
}

namespace {

constexpr int64_t kRows = 64, kCols = 96;

struct RelaxRun {
    LearnedStats stats;
    std::vector<double> losses;
    double sub_rtn, sub, full_rtn, full;
};

RelaxRun relax_with(const char* method, const Registry& registry) {
    const LayoutOps ops = test::row_int8_ops("relax.weight");
    const auto w = test::structured_weight(kRows, kCols, 31);
    auto rtn = ops.allocate(kRows, kCols);
    ops.quantize(w.data(), rtn);
    auto q = rtn;
    LearnedOptions o;
    o.method = method;
    o.num_iter = 150;
    o.min_k = 8;
    o.top_p = 0.01;
    o.lr = std::string(method) == "prodigy" ? 1.0 : 0.05;
    o.seed = 3;
    RelaxRun r;
    r.stats = learn_rounding(ops, w.data(), q, o, registry, [&](int64_t, double loss) { r.losses.push_back(loss); });
    std::vector<float> a(kRows * kCols), b(kRows * kCols);
    ops.dequantize(rtn, a.data());
    ops.dequantize(q, b.data());
    r.sub_rtn = subspace_error(w.data(), a.data(), kRows, kCols, 8, o.seed, o.full_matrix);
    r.sub = subspace_error(w.data(), b.data(), kRows, kCols, 8, o.seed, o.full_matrix);
    r.full_rtn = relative_full_error(w.data(), a.data(), kRows, kCols);
    r.full = relative_full_error(w.data(), b.data(), kRows, kCols);
    if (r.stats.kept_rtn) CHECK(q.buffers == rtn.buffers);
    return r;
}

}  // namespace

TEST_CASE("each relaxation method lowers its continuous loss and never writes worse than RTN") {
    Registry registry;
    const auto plugin = test::plugin_file("ctq_optimizers.so");
    const bool have_plugin = std::filesystem::exists(plugin) && registry.load_file(plugin);
    if (!have_plugin) MESSAGE("optimizer plugin not built: only `original` runs");
    for (const char* method : {"original", "adamw", "radam", "prodigy"}) {
        if (std::string(method) != "original" && !have_plugin) continue;
        const auto r = relax_with(method, registry);
        INFO(method << ": subspace " << r.sub / r.sub_rtn << "x full " << r.full / r.full_rtn << "x");
        REQUIRE(r.losses.size() >= 2);
        CHECK(r.stats.iterations == static_cast<int64_t>(r.losses.size()));
        CHECK(*std::min_element(r.losses.begin(), r.losses.end()) < r.losses.front());
        CHECK(r.losses.front() == doctest::Approx(r.sub_rtn).epsilon(1e-4));  // starts at RTN
        CHECK(r.sub <= r.sub_rtn);
        CHECK(r.full <= 1.005 * r.full_rtn);
        if (!r.stats.kept_rtn) CHECK(r.sub < r.sub_rtn);
    }
}
