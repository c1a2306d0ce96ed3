/* Error values: filling pz_error and naming kinds and codes. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static uint32_t code_for_kind(pz_err kind) {
    switch (kind) {
    case PZ_OK: return PZ_CODE_OK;
    case PZ_ECONNECT:
    case PZ_ECLOSED: return PZ_CODE_UNAVAILABLE;
    case PZ_ETIMEDOUT: return PZ_CODE_DEADLINE_EXCEEDED;
    case PZ_EPROTO: return PZ_CODE_INTERNAL;
    case PZ_EINVAL: return PZ_CODE_INVALID_ARGUMENT;
    case PZ_ENOMEM: return PZ_CODE_RESOURCE_EXHAUSTED;
    case PZ_ESERVER:
    case PZ_EIO: break;
    }
    return PZ_CODE_UNKNOWN;
}

pz_err pz_fail(pz_error *err, pz_err kind, uint32_t code, int sys_errno, const char *fmt, ...) {
    if (err == NULL) return kind;
    err->kind = kind;
    err->code = kind == PZ_ESERVER ? code : code_for_kind(kind);
    err->sys_errno = sys_errno;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return kind;
}

pz_err pz_ok(pz_error *err) {
    if (err != NULL) {
        err->kind = PZ_OK;
        err->code = PZ_CODE_OK;
        err->sys_errno = 0;
        err->message[0] = '\0';
    }
    return PZ_OK;
}

void pz_error_copy(pz_error *dst, const pz_error *src) {
    if (dst != NULL && dst != src) memcpy(dst, src, sizeof *dst);
}

const char *pz_err_name(pz_err kind) {
    switch (kind) {
    case PZ_OK: return "PZ_OK";
    case PZ_ESERVER: return "PZ_ESERVER";
    case PZ_ECONNECT: return "PZ_ECONNECT";
    case PZ_ECLOSED: return "PZ_ECLOSED";
    case PZ_ETIMEDOUT: return "PZ_ETIMEDOUT";
    case PZ_EPROTO: return "PZ_EPROTO";
    case PZ_EINVAL: return "PZ_EINVAL";
    case PZ_ENOMEM: return "PZ_ENOMEM";
    case PZ_EIO: return "PZ_EIO";
    }
    return "?";
}

const char *pz_code_name(uint32_t code) {
    static const char *const names[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    return code < sizeof names / sizeof names[0] ? names[code] : "?";
}
