#ifndef PERSONALIZER_CRC32C_HARDWARE_H
#define PERSONALIZER_CRC32C_HARDWARE_H

#include <stddef.h>
#include <stdint.h>

/* Whether this CPU has a CRC-32C instruction (x86-64 SSE 4.2); when it has, also prepares the
 * tables that join blocks checksummed side by side (call once, before any update). */
int pz_crc32c_hardware_available(void);

/* Continues the CRC-32C register `crc` (already inverted by the caller) over `count` bytes with
 * the CPU's instruction. Call only when pz_crc32c_hardware_available() says so. */
uint32_t pz_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t count);

#endif
