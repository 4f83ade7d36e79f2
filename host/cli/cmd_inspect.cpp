#include "cli/commands.hpp"
#include "core/error.hpp"
#include "inspect/inspect.hpp"

#include <cstdio>

namespace ctq {

int cmd_inspect(const std::vector<std::string>& args, Registry& registry) {
    if (args.size() != 1 || args[0] == "-h" || args[0] == "--help") {
        std::puts("usage: ctq inspect MODEL.safetensors\n"
                  "Lists the tensors by block with dtype, shape and size, names the preset that fits best,\n"
                  "shows what each preset would exclude or drop, and suggests --exclude-layers for unknown models.");
        return args.size() == 1 ? 0 : 1;
    }
    std::fputs(inspect_file(args[0], registry).c_str(), stdout);
    return 0;
}

}  // namespace ctq
