// System-library shim: libspng (Debian: libspng-dev).
#include <spng.h>
