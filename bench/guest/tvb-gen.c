/*
 * tvb-gen: deterministic inputs for the tabvisor benchmark workloads.
 *
 *   tvb-gen text BYTES   English-like words (skewed word frequencies, so it
 *                        compresses like text), exactly BYTES bytes
 *   tvb-gen lines N      N lines "<8 hex digits> <word> <number>" in random order
 *
 * The same seed every run: the outputs (and so every checksum derived from
 * them) are identical on the host and in any guest.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng = 2463534242u;

static uint32_t next_random(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}

static const char *const WORDS[] = {
  "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with",
  "be", "by", "on", "not", "this", "are", "or", "from", "at", "which", "but",
  "have", "an", "had", "they", "you", "were", "their", "one", "all", "we", "can",
  "has", "there", "been", "if", "more", "when", "will", "would", "who", "so", "no",
  "kernel", "page", "frame", "guest", "host", "memory", "interrupt", "timer",
  "serial", "console", "emulator", "benchmark", "register", "instruction",
  "translation", "cache", "browser", "worker", "snapshot", "scheduler", "virtual",
};
#define WORD_COUNT (sizeof WORDS / sizeof WORDS[0])

/* Low indexes are much more frequent (product of two uniform draws). */
static const char *skewed_word(void) {
  uint32_t a = next_random() % WORD_COUNT;
  uint32_t b = next_random() % WORD_COUNT;
  return WORDS[a * b / WORD_COUNT];
}

static int text(long bytes) {
  static char line[256];
  long written = 0;
  while (written < bytes) {
    size_t len = 0;
    int words = 6 + (int)(next_random() % 10);
    for (int i = 0; i < words; i++) {
      const char *w = skewed_word();
      size_t n = strlen(w);
      memcpy(line + len, w, n);
      len += n;
      line[len++] = i + 1 < words ? ' ' : '\n';
    }
    if ((long)len > bytes - written) len = (size_t)(bytes - written);
    fwrite(line, 1, len, stdout);
    written += (long)len;
  }
  return 0;
}

static int lines(long count) {
  for (long i = 0; i < count; i++) {
    uint32_t key = next_random();
    printf("%08x %s %u\n", (unsigned)key, skewed_word(), (unsigned)(next_random() % 100000u));
  }
  return 0;
}

int main(int argc, char **argv) {
  static char buffer[1 << 16];
  setvbuf(stdout, buffer, _IOFBF, sizeof buffer);
  if (argc == 3 && strcmp(argv[1], "text") == 0) return text(atol(argv[2]));
  if (argc == 3 && strcmp(argv[1], "lines") == 0) return lines(atol(argv[2]));
  fprintf(stderr, "usage: tvb-gen text BYTES | tvb-gen lines N\n");
  return 2;
}
