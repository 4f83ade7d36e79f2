// The sub-commands; each gets its arguments (without the command word) and the loaded plugins,
// and returns the exit status.
#pragma once

#include <string>
#include <vector>

namespace ctq {

class Registry;

int cmd_convert(const std::vector<std::string>& args, Registry& registry);
int cmd_plugins(const std::vector<std::string>& args, Registry& registry);
int cmd_verify(const std::vector<std::string>& args, Registry& registry);
int cmd_inspect(const std::vector<std::string>& args, Registry& registry);
int cmd_demo_model(const std::vector<std::string>& args, Registry& registry);

}  // namespace ctq
