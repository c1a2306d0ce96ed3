// libuv, seen from Swift. Only the headers: Swift calls libuv directly; this target exists
// so that SwiftPM finds the library through pkg-config.
#ifndef PERSONALIZER_CLIBUV_SHIM_H
#define PERSONALIZER_CLIBUV_SHIM_H
#include <uv.h>
#endif
