/*
 * tvb-int: integer compute kernel for the tabvisor benchmark suite.
 * Three phases, each folded into the printed checksum line:
 *   sieve   primes below 4,000,000 (byte array, count and sum)
 *   crc32   table-driven CRC-32 (IEEE, reflected) of 8 MiB of xorshift data
 *   mix     20 M rounds of a multiply/rotate hash mix (murmur3-style steps)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SIEVE_LIMIT 4000000u
#define CRC_WORDS (2u << 20) /* 8 MiB */
#define MIX_ROUNDS 20000000u

static uint32_t rotl(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

static void sieve(uint32_t *count, uint64_t *sum) {
  unsigned char *composite = calloc(SIEVE_LIMIT, 1);
  if (!composite) exit(1);
  *count = 0;
  *sum = 0;
  for (uint32_t i = 2; i < SIEVE_LIMIT; i++) {
    if (composite[i]) continue;
    ++*count;
    *sum += i;
    for (uint64_t j = (uint64_t)i * i; j < SIEVE_LIMIT; j += i) composite[j] = 1;
  }
  free(composite);
}

static uint32_t crc32_of_stream(void) {
  uint32_t table[256];
  for (uint32_t n = 0; n < 256; n++) {
    uint32_t c = n;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
  uint32_t crc = 0xffffffffu;
  uint32_t x = 1;
  for (uint32_t w = 0; w < CRC_WORDS; w++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    for (int b = 0; b < 4; b++) crc = table[(crc ^ (x >> (8 * b))) & 0xff] ^ (crc >> 8);
  }
  return ~crc;
}

static uint32_t mix(void) {
  uint32_t h = 0x9747b28cu;
  for (uint32_t i = 0; i < MIX_ROUNDS; i++) {
    uint32_t k = rotl(i * 0xcc9e2d51u, 15) * 0x1b873593u;
    h = rotl(h ^ k, 13) * 5 + 0xe6546b64u;
  }
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  return h;
}

int main(void) {
  uint32_t primes;
  uint64_t sum;
  sieve(&primes, &sum);
  uint32_t crc = crc32_of_stream();
  uint32_t h = mix();
  printf("tvb-int primes=%u sum=%llu crc32=%08x mix=%08x\n", (unsigned)primes, (unsigned long long)sum, (unsigned)crc, (unsigned)h);
  return 0;
}
