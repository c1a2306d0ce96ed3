/* CRC-32C with the CPU's instruction, for the event log and checkpoints: an 8-byte step per
 * instruction instead of eight table lookups. Swift cannot name the instruction, so this thin
 * shim does; the portable table-driven code in CRC32C.swift covers every other CPU. */
#include "crc32c_hardware.h"

#include <string.h>

#if defined(__x86_64__)

/* One instruction has a latency of three cycles and a throughput of one per cycle, so a single
 * chain of them runs at a third of the CPU's pace. Longer inputs are taken in steps of three
 * blocks checksummed side by side, then joined: the CRC register after a block A followed by
 * BLOCK more bytes B is shift(reg_A) ^ crc(0, B), where shift(r) is the register r after BLOCK
 * zero bytes, a linear map applied by four table lookups (one per byte of r). */
#define BLOCK 128

static uint32_t shift_tables[4][256];
static int shift_tables_ready;

__attribute__((target("sse4.2")))
static uint32_t after_zero_block(uint32_t reg) {
    uint64_t r = reg;
    for (int i = 0; i < BLOCK; i += 8) r = __builtin_ia32_crc32di(r, 0);
    return (uint32_t)r;
}

__attribute__((target("sse4.2")))
static void make_shift_tables(void) {
    for (int part = 0; part < 4; part++) {
        for (uint32_t byte = 0; byte < 256; byte++) {
            shift_tables[part][byte] = after_zero_block(byte << (8 * part));
        }
    }
    shift_tables_ready = 1;
}

static inline uint32_t shift_by_block(uint32_t reg) {
    return shift_tables[0][reg & 0xFF] ^ shift_tables[1][(reg >> 8) & 0xFF]
         ^ shift_tables[2][(reg >> 16) & 0xFF] ^ shift_tables[3][reg >> 24];
}

int pz_crc32c_hardware_available(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("sse4.2")) return 0;
    if (!shift_tables_ready) make_shift_tables();
    return 1;
}

static inline uint64_t load64(const unsigned char *p) {
    uint64_t word;
    memcpy(&word, p, 8);
    return word;
}

__attribute__((target("sse4.2")))
uint32_t pz_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t count) {
    const unsigned char *p = bytes;
    uint64_t crc64 = crc;
    if (shift_tables_ready) {
        while (count >= 3 * BLOCK) {
            uint64_t a = crc64, b = 0, c = 0;
            for (int i = 0; i < BLOCK; i += 8) {
                a = __builtin_ia32_crc32di(a, load64(p + i));
                b = __builtin_ia32_crc32di(b, load64(p + BLOCK + i));
                c = __builtin_ia32_crc32di(c, load64(p + 2 * BLOCK + i));
            }
            crc64 = shift_by_block(shift_by_block((uint32_t)a) ^ (uint32_t)b) ^ (uint32_t)c;
            p += 3 * BLOCK;
            count -= 3 * BLOCK;
        }
    }
    while (count >= 8) {
        crc64 = __builtin_ia32_crc32di(crc64, load64(p));
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
