// protobuf-c's runtime, seen from Swift and from the generated message code.
#ifndef PERSONALIZER_CPROTOBUFC_SHIM_H
#define PERSONALIZER_CPROTOBUFC_SHIM_H
#include <protobuf-c/protobuf-c.h>
#endif
