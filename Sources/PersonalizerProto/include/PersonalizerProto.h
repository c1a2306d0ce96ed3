// The message code protoc-c generates from proto/personalizer/v1/personalizer.proto
// (committed; `make proto` regenerates it).
#ifndef PERSONALIZER_PROTO_H
#define PERSONALIZER_PROTO_H
#include "personalizer.pb-c.h"
#endif
