/*
 * x87-native.c — runs x87 instructions on the host FPU for the differential
 * test (x87.diff.test.ts). Built with `gcc -static -O1 -no-pie` as an x86-64
 * binary (or with -m32 as an i386 one): the x87 executes the same in both
 * modes, and x86-64 binaries run on hosts whose kernel refuses i386 code.
 * Only the instruction stub differs: in 64-bit mode the absolute operands use
 * a SIB byte (mod=00 rm=101 would be RIP-relative), PUSHF/POPF move 64 bits,
 * and the FNSAVE image's FIP/FCS (not compared) hold RIP's low half and the
 * 64-bit CS.
 *
 * stdin, one case per line (all numbers hex):
 *   OPC MODRM CW EFLAGS N ST0 .. ST(N-1) MEM
 *     OPC/MODRM  the instruction (D8..DF and its ModRM). For memory forms
 *                (mod != 3) the effective address is always the 32-byte
 *                scratch buffer `mem` (the ModRM is rewritten to an
 *                absolute disp32 = &mem, keeping its reg field).
 *     CW         control word loaded (after FNINIT) with FLDCW.
 *     EFLAGS     EFLAGS value (only CF/PF/ZF matter, for FCMOVcc) popped
 *                right before the instruction.
 *     N          number of values pushed (0..8); ST0 is listed first.
 *     STi        80-bit values as 20 hex digits: sign/exponent (4) then the
 *                64-bit significand (16), most significant digit first.
 *     MEM        32 bytes (64 hex digits, byte 0 first) of the scratch buffer.
 * stdout, one line per case:
 *   SAVE MEM EFLAGS DEFMASK
 *     SAVE    the 108-byte FNSAVE image taken right after the instruction
 *             (32-bit protected-mode layout), byte 0 first.
 *     MEM     the scratch buffer afterwards.
 *     EFLAGS  EFLAGS right after the instruction (pushfd).
 *     DEFMASK the status-word bits the SDM defines for this instruction; the
 *             others (C0..C3 bits it lists as "undefined") must be ignored.
 *
 * The instruction runs from a small RWX stub: push [flags_in]; popfd; insn;
 * pushfd; pop [flags_out]; ret. Everything x87 (FNINIT, FLDCW, the FLDs, the
 * call, FNSAVE) is in one asm statement so the compiler cannot touch the
 * register stack in between. FNSAVE and FNINIT are non-waiting, so an
 * unmasked exception raised by the instruction never turns into SIGFPE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

unsigned char mem[32] __attribute__((aligned(16)));
static unsigned char stk[80];
static unsigned char save[108];
unsigned long flags_in, flags_out; /* PUSHF/POPF width: 32 or 64 bits */

#define C0 0x0100u
#define C1 0x0200u
#define C2 0x0400u
#define C3 0x4000u

/*
 * Status-word bits the SDM (Vol. 2A/2B, "FPU Flags Affected" of each
 * instruction) leaves undefined. Everything else is compared.
 */
static unsigned undefined_bits(unsigned opc, unsigned modrm) {
  unsigned reg = (modrm >> 3) & 7, mod = modrm >> 6;
  int isreg = mod == 3;
  switch (opc) {
  case 0xD8: case 0xDC:
    /* FADD/FMUL/FSUB(R)/FDIV(R): "C0, C2, C3 Undefined".
       FCOM/FCOMP (/2 /3, and the DC D0/D8 aliases): all defined. */
    return (reg == 2 || reg == 3) ? 0 : (C0 | C2 | C3);
  case 0xDA: case 0xDE:
    if (!isreg) return (reg == 2 || reg == 3) ? 0 : (C0 | C2 | C3); /* FIxxx / FICOM(P) */
    if (opc == 0xDA) return modrm == 0xE9 ? 0 : (C0 | C2 | C3);        /* FUCOMPP / FCMOVcc */
    if (reg == 2 || reg == 3) return 0;                                 /* FCOMP5 / FCOMPP */
    return C0 | C2 | C3;                                                /* FxxxP */
  case 0xD9:
    if (!isreg) return C0 | C2 | C3;                 /* FLD/FST(P) m32: "C0, C2, C3 Undefined" */
    if (modrm == 0xE4 || modrm == 0xE5) return 0;    /* FTST, FXAM: all defined */
    if (modrm == 0xF5 || modrm == 0xF8) return 0;    /* FPREM1, FPREM: all defined */
    if (modrm == 0xD0) return C0 | C1 | C2 | C3;     /* FNOP: "C0, C1, C2, C3 undefined" */
    if (modrm == 0xF2 || modrm == 0xFE || modrm == 0xFF || modrm == 0xFB)
      return C0 | C3;                                /* FPTAN/FSIN/FCOS/FSINCOS: "C0, C3 Undefined" (C2 defined) */
    return C0 | C2 | C3;                             /* everything else in D9 reg */
  case 0xDB:
    if (isreg && reg >= 5 && reg <= 6) return 0;     /* FUCOMI/FCOMI: C1 = 0, others not affected */
    return C0 | C2 | C3;                             /* FILD/FIST(P)/FLD/FSTP m80/FCMOVNcc */
  case 0xDD:
    if (isreg && (reg == 4 || reg == 5)) return 0;   /* FUCOM/FUCOMP */
    if (isreg && reg == 0) return C0 | C1 | C2 | C3; /* FFREE: "C0, C1, C2, C3 undefined" */
    return C0 | C2 | C3;
  case 0xDF:
    if (isreg && reg >= 5 && reg <= 6) return 0;     /* FUCOMIP/FCOMIP */
    if (isreg && reg == 0) return C0 | C1 | C2 | C3; /* FFREEP (undocumented; as FFREE) */
    return C0 | C2 | C3;                             /* FILD/FIST(P)/FBLD/FBSTP */
  }
  return 0;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Parses `n` bytes given most-significant first into little-endian dst. */
static const char *parse_be(const char *s, unsigned char *dst, int n) {
  while (*s == ' ') s++;
  for (int i = n - 1; i >= 0; i--) {
    int h = hexval(s[0]), l = hexval(s[1]);
    if (h < 0 || l < 0) { fprintf(stderr, "bad hex\n"); exit(2); }
    dst[i] = (unsigned char)(h * 16 + l);
    s += 2;
  }
  return s;
}

static const char *parse_bytes(const char *s, unsigned char *dst, int n) {
  while (*s == ' ') s++;
  for (int i = 0; i < n; i++) {
    int h = hexval(s[0]), l = hexval(s[1]);
    if (h < 0 || l < 0) { fprintf(stderr, "bad hex\n"); exit(2); }
    dst[i] = (unsigned char)(h * 16 + l);
    s += 2;
  }
  return s;
}

static void put32(unsigned char *p, unsigned v) {
  p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}

/* Emits `opc` with a ModRM (reg field `reg`) addressing [addr] absolutely. */
static unsigned char *absolute(unsigned char *p, unsigned opc, unsigned reg, const void *addr) {
  unsigned long a = (unsigned long)addr;
  if (a > 0x7fffffffu) { fprintf(stderr, "%p is not a 31-bit address (build with -no-pie)\n", addr); exit(2); }
  *p++ = (unsigned char)opc;
#if defined(__x86_64__)
  *p++ = (unsigned char)(reg | 4); *p++ = 0x25;   /* SIB: no base, no index, disp32 */
#else
  *p++ = (unsigned char)(reg | 5);                /* disp32 */
#endif
  put32(p, (unsigned)a);
  return p + 4;
}

int main(void) {
  unsigned char *code = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (code == MAP_FAILED) { perror("mmap"); return 2; }
  static char line[4096];
  static char out[1024];
  while (fgets(line, sizeof line, stdin)) {
    unsigned opc, modrm, cw, fl, n;
    int used = 0;
    if (sscanf(line, "%x %x %x %x %x%n", &opc, &modrm, &cw, &fl, &n, &used) != 5 || n > 8) {
      fprintf(stderr, "bad line: %s", line);
      return 2;
    }
    const char *s = line + used;
    for (unsigned i = 0; i < n; i++) s = parse_be(s, stk + 10 * i, 10);
    s = parse_bytes(s, mem, 32);

    unsigned char *p = code;
    p = absolute(p, 0xFF, 6 << 3, &flags_in);                         /* push [flags_in] */
    *p++ = 0x9D;                                                      /* popf */
    if ((modrm >> 6) == 3) {
      *p++ = (unsigned char)opc;
      *p++ = (unsigned char)modrm;
    } else {
      p = absolute(p, opc, modrm & 0x38, mem);
    }
    *p++ = 0x9C;                                                      /* pushf */
    p = absolute(p, 0x8F, 0, &flags_out);                             /* pop [flags_out] */
    *p++ = 0xC3;
    __builtin___clear_cache((char *)code, (char *)p);

    flags_in = (fl & 0x8D5u) | 0x202u;   /* CF PF AF ZF SF OF, IF and bit 1 */
    unsigned short cwv = (unsigned short)cw;
    unsigned char *last = stk + 10 * (n ? n - 1 : 0);
    /* RED_ZONE: the call's return address must not land on data the compiler keeps below the stack pointer. */
#if defined(__x86_64__)
#define RED_ZONE_ENTER "sub $128, %%rsp\n\t"
#define RED_ZONE_LEAVE "add $128, %%rsp\n\t"
#else
#define RED_ZONE_ENTER ""
#define RED_ZONE_LEAVE ""
#endif
    __asm__ volatile(
      "fninit\n\t"
      "fldcw %[cw]\n\t"
      "test %[n], %[n]\n\t"
      "jz 2f\n"
      "1:\n\t"
      "fldt (%[last])\n\t"
      "sub $10, %[last]\n\t"
      "dec %[n]\n\t"
      "jnz 1b\n"
      "2:\n\t"
      RED_ZONE_ENTER
      "call *%[code]\n\t"
      RED_ZONE_LEAVE
      "fnsave %[save]\n\t"
      : [save] "=m"(save), [last] "+r"(last), [n] "+r"(n)
      : [cw] "m"(cwv), [code] "r"(code)
      : "memory", "cc");

    char *o = out;
    for (int i = 0; i < 108; i++) o += sprintf(o, "%02x", save[i]);
    *o++ = ' ';
    for (int i = 0; i < 32; i++) o += sprintf(o, "%02x", mem[i]);
    o += sprintf(o, " %x %x\n", (unsigned)flags_out, 0xFFFFu & ~undefined_bits(opc, modrm));
    fputs(out, stdout);
  }
  return 0;
}
