// A shared library that is not a ctq plugin (no entry point).
#include <ctq/ctq_plugin.h>

extern "C" CTQ_EXPORT uint32_t ctq_plugin_abi_version(void) { return CTQ_ABI_VERSION; }
extern "C" CTQ_EXPORT int some_other_function(void) { return 1; }
