#include "cli/app.hpp"

#include <cstdio>

namespace ctq {
int run_app(int, char**) {
    std::puts("ctq: under construction");
    return 0;
}
}  // namespace ctq
