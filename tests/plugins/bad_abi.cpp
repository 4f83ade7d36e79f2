// A plugin built against a future ABI: the host must refuse it without calling its entry point.
#include <ctq/ctq_plugin.h>

#include <cstdlib>

extern "C" CTQ_EXPORT uint32_t ctq_plugin_abi_version(void) { return CTQ_ABI_VERSION + 41u; }
extern "C" CTQ_EXPORT int32_t ctq_plugin_entry(const ctq_host_api*, const ctq_registrar*, ctq_error*) {
    std::abort();  // reaching this would be the bug under test
}
