// Hyper-parameters arrive as a JSON object; unknown keys are an error so a typo is not ignored.
#pragma once

#include <ctq/plugin.hpp>
#include <nlohmann/json.hpp>

#include <initializer_list>
#include <string>
#include <utility>

namespace ctq::optimizers {

class Options {
public:
    Options(const char* optimizer, const char* json,
            std::initializer_list<const char*> known) : name_(optimizer) {
        try {
            j_ = nlohmann::json::parse(json);
        } catch (const std::exception& e) {
            throw Error(CTQ_ERR_INVALID_ARGUMENT, name_ + ": options are not JSON: " + e.what());
        }
        if (!j_.is_object()) throw Error(CTQ_ERR_INVALID_ARGUMENT, name_ + ": options must be a JSON object");
        for (const auto& item : j_.items()) {
            bool ok = false;
            for (const char* k : known) ok = ok || item.key() == k;
            if (!ok) throw Error(CTQ_ERR_INVALID_ARGUMENT, name_ + ": unknown option '" + item.key() + "'");
        }
    }
    double number(const char* key, double fallback) const {
        if (!j_.contains(key)) return fallback;
        if (!j_[key].is_number()) throw Error(CTQ_ERR_INVALID_ARGUMENT, name_ + ": '" + key + "' must be a number");
        return j_[key].get<double>();
    }
    bool flag(const char* key, bool fallback) const {
        if (!j_.contains(key)) return fallback;
        if (!j_[key].is_boolean()) throw Error(CTQ_ERR_INVALID_ARGUMENT, name_ + ": '" + key + "' must be true or false");
        return j_[key].get<bool>();
    }
    // betas as [b1, b2]; each in [0, 1).
    std::pair<double, double> betas(double b1, double b2) const {
        if (j_.contains("betas")) {
            const auto& b = j_["betas"];
            if (!b.is_array() || b.size() != 2 || !b[0].is_number() || !b[1].is_number())
                throw Error(CTQ_ERR_INVALID_ARGUMENT, name_ + ": 'betas' must be [beta1, beta2]");
            b1 = b[0].get<double>();
            b2 = b[1].get<double>();
        }
        if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1))
            throw Error(CTQ_ERR_INVALID_ARGUMENT, name_ + ": betas must lie in [0, 1)");
        return {b1, b2};
    }

private:
    std::string name_;
    nlohmann::json j_;
};

}  // namespace ctq::optimizers
