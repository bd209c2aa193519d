/*
 * tvb-mem: memory-bound kernel for the tabvisor benchmark suite.
 *   chase   a pointer chase through a random single cycle of 1 Mi nodes
 *           (8 MiB, Sattolo's shuffle), 3 Mi dependent loads
 *   qsort   libc qsort() of 200,000 random 32-bit keys, then checked sorted
 * Prints one checksum line covering both.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define NODES (1u << 20)
#define STEPS (3u << 20)
#define SORT_KEYS 200000u

struct node {
  uint32_t next;
  uint32_t value;
};

static uint32_t rng = 88172645u;

static uint32_t next_random(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}

static uint32_t chase(void) {
  uint32_t *order = malloc(NODES * sizeof *order);
  struct node *nodes = malloc(NODES * sizeof *nodes);
  if (!order || !nodes) exit(1);
  for (uint32_t i = 0; i < NODES; i++) order[i] = i;
  for (uint32_t i = NODES - 1; i > 0; i--) { /* Sattolo: one cycle through all nodes */
    uint32_t j = next_random() % i;
    uint32_t t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  for (uint32_t i = 0; i < NODES; i++) {
    nodes[order[i]].next = order[(i + 1) % NODES];
    nodes[order[i]].value = next_random();
  }
  free(order);
  uint32_t at = 0, sum = 0;
  for (uint32_t s = 0; s < STEPS; s++) {
    sum = (sum ^ nodes[at].value) * 0x01000193u; /* FNV-1a step */
    at = nodes[at].next;
  }
  free(nodes);
  return sum ^ at;
}

static int compare_keys(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

static uint32_t sorted_checksum(void) {
  uint32_t *keys = malloc(SORT_KEYS * sizeof *keys);
  if (!keys) exit(1);
  for (uint32_t i = 0; i < SORT_KEYS; i++) keys[i] = next_random();
  qsort(keys, SORT_KEYS, sizeof *keys, compare_keys);
  uint32_t sum = 0;
  for (uint32_t i = 0; i < SORT_KEYS; i++) {
    if (i && keys[i - 1] > keys[i]) {
      printf("tvb-mem: qsort output is not sorted at %u\n", (unsigned)i);
      exit(1);
    }
    sum = sum * 31 + keys[i];
  }
  free(keys);
  return sum;
}

int main(void) {
  uint32_t c = chase();
  uint32_t q = sorted_checksum();
  printf("tvb-mem chase=%08x qsort=%08x\n", (unsigned)c, (unsigned)q);
  return 0;
}
