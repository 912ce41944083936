// The parts of the C API that need no Swift: the version, status names and default options.
#include "convnextkit.h"

#include <string.h>

const char *convnextkit_version(void) { return CONVNEXTKIT_VERSION; }

const char *convnextkit_status_string(convnextkit_status status) {
    switch (status) {
    case CONVNEXTKIT_OK: return "ok";
    case CONVNEXTKIT_ERROR_INVALID_ARGUMENT: return "invalid argument";
    case CONVNEXTKIT_ERROR_IO: return "i/o error";
    case CONVNEXTKIT_ERROR_INVALID_MODEL: return "invalid model";
    case CONVNEXTKIT_ERROR_UNSUPPORTED_MODEL: return "unsupported model";
    case CONVNEXTKIT_ERROR_INVALID_INPUT: return "invalid input";
    case CONVNEXTKIT_ERROR_INVALID_CONFIG: return "invalid configuration";
    case CONVNEXTKIT_ERROR_INTERNAL: return "internal error";
    default: return "unknown status";
    }
}

void convnextkit_options_init(convnextkit_options *options) {
    if (!options) return;
    memset(options, 0, sizeof *options);
    options->struct_size = (uint32_t)sizeof *options;
}
