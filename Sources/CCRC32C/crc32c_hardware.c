/* CRC-32C with the CPU's instruction, for the event log and checkpoints: an 8-byte step per
 * instruction instead of eight table lookups. Swift cannot name the instruction, so this thin
 * shim does; the portable table-driven code in CRC32C.swift covers every other CPU. */
#include "crc32c_hardware.h"

#include <string.h>

#if defined(__x86_64__)

int pz_crc32c_hardware_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2");
}

__attribute__((target("sse4.2")))
uint32_t pz_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t count) {
    const unsigned char *p = bytes;
    uint64_t crc64 = crc;
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        crc64 = __builtin_ia32_crc32di(crc64, word);
        p += 8;
        count -= 8;
    }
    uint32_t crc32 = (uint32_t)crc64;
    while (count > 0) {
        crc32 = __builtin_ia32_crc32qi(crc32, *p);
        p++;
        count--;
    }
    return crc32;
}

#else

int pz_crc32c_hardware_available(void) { return 0; }

uint32_t pz_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t count) {
    (void)bytes;
    (void)count;
    return crc;
}

#endif
