/*
 * tabvisor differential harness: the native side.
 *
 * Runs batches of short x86 snippets directly on the host CPU in 32-bit code
 * (ring 3, flat segments) and records the final architectural state, or the
 * fault and the state at the fault.
 *
 * Two builds of this file, the same cases and results:
 *  - i386 (gcc -m32): a 32-bit Linux process; needs a kernel that runs i386
 *    binaries.
 *  - x86-64 (gcc -m64): a 64-bit process that far-jumps into the kernel's
 *    32-bit user code segment (0x23, the one i386 processes run in) for each
 *    snippet and back to 64-bit code (0x33) at its end; the CPU then runs the
 *    snippet in compatibility mode, which is 32-bit protected mode for
 *    everything a ring-3 snippet can see. This works on kernels that refuse
 *    i386 binaries (IA-32 emulation off) but still have that segment.
 * Both start every snippet with FS = GS = 0 (null); the emulator side does the
 * same (emu-runner.ts).
 *
 *   native-runner IN OUT      (either may be "-" for stdin/stdout)
 *
 * The record layouts are mirrored in format.ts; keep them in sync
 * (FORMAT_VERSION guards against a stale cached binary).
 *
 * Memory map of the process (all MAP_FIXED_NOREPLACE):
 *   0x00200000  code page, PROT_READ|PROT_EXEC, a shared memfd mapping; the
 *               runner writes the snippet through a second, writable alias,
 *               so a snippet that writes its own code faults like the
 *               emulator's read-only user page.
 *   0x00300000  data page, RW; the case supplies its first 256 bytes.
 *   0x00400000  stack page, RW; the case supplies 0x400780..0x40087F,
 *               ESP normally starts at 0x400800.
 * Everything else in both pages must stay zero; stray writes are detected
 * and reported as a hash of the page outside the window.
 *
 * Build (native.ts does it): gcc -m32 -static -O1 -o native-runner native-runner.c
 *   or gcc -m64 -static -no-pie -Wl,-Ttext-segment=0x10000000 -O1 ... (the
 *   runner itself must sit below 4 GiB, where 32-bit code reaches it, and
 *   away from the three pages above).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define FORMAT_VERSION 5u
#define IN_MAGIC 0x42445654u  /* "TVDB" */
#define OUT_MAGIC 0x52445654u /* "TVDR" */

#define CODE_BASE 0x00200000u
#define DATA_BASE 0x00300000u
#define STACK_BASE 0x00400000u
#define PAGE 4096u
#define DATA_WIN_OFF 0x000u
#define DATA_WIN_LEN 256u
#define STACK_WIN_OFF 0x780u
#define STACK_WIN_LEN 256u
#define MAX_CODE 64u

/* Input record, 640 bytes. */
#define IN_SIZE 640u
#define IN_CODELEN 0u
#define IN_CODEOFF 2u /* u16: the snippet starts at CODE_BASE + this */
#define IN_REGS 4u
#define IN_EFLAGS 36u
#define IN_CODE 40u
#define IN_DATA 104u
#define IN_STACK 360u

/* Output record, 608 bytes. */
#define OUT_SIZE 608u
#define OUT_STATUS 0u
#define OUT_SIGNO 4u
#define OUT_TRAPNO 8u
#define OUT_ERR 12u
#define OUT_CR2 16u
#define OUT_EIP 20u
#define OUT_EFLAGS 24u
#define OUT_REGS 28u
#define OUT_DATA_HASH 60u
#define OUT_STACK_HASH 64u
#define OUT_SEGS 68u /* u16 x 6: ES CS SS DS FS GS */
#define OUT_DATA 96u
#define OUT_STACK 352u

#define STATUS_DONE 0u
#define STATUS_FAULT 1u

/* Shared with the assembly below. */
uint32_t tv_in[9];   /* EAX ECX EDX EBX ESP EBP ESI EDI EFLAGS */
uint32_t tv_out[9];
uint16_t tv_out_seg[6];
uint32_t tv_entry = CODE_BASE;

void tv_enter(void);
void tv_snippet_done(void);

/*
 * 32-bit code shared by both builds: load the case's EFLAGS and registers,
 * jump to the snippet; at tv_snippet_done (the snippet's final jump), save
 * every GPR and selector with plain SS-relative moves (no flag changes, no
 * stack use: the case's stack window is part of the result; SS, because the
 * snippet may have loaded DS with a null or read-only selector).
 */
#define TV_RUN_SNIPPET \
  "  pushl tv_in+32\n" \
  "  popfl\n" \
  "  movl tv_in+0, %eax\n" \
  "  movl tv_in+4, %ecx\n" \
  "  movl tv_in+8, %edx\n" \
  "  movl tv_in+12, %ebx\n" \
  "  movl tv_in+20, %ebp\n" \
  "  movl tv_in+24, %esi\n" \
  "  movl tv_in+28, %edi\n" \
  "  movl tv_in+16, %esp\n" \
  "  jmp *tv_entry\n" \
  ".globl tv_snippet_done\n" \
  ".type tv_snippet_done, @function\n" \
  "tv_snippet_done:\n" \
  "  movl %eax, %ss:tv_out+0\n" \
  "  movl %ecx, %ss:tv_out+4\n" \
  "  movl %edx, %ss:tv_out+8\n" \
  "  movl %ebx, %ss:tv_out+12\n" \
  "  movl %esp, %ss:tv_out+16\n" \
  "  movl %ebp, %ss:tv_out+20\n" \
  "  movl %esi, %ss:tv_out+24\n" \
  "  movl %edi, %ss:tv_out+28\n" \
  "  movw %es, %ss:tv_out_seg+0\n" \
  "  movw %cs, %ss:tv_out_seg+2\n" \
  "  movw %ss, %ss:tv_out_seg+4\n" \
  "  movw %ds, %ss:tv_out_seg+6\n" \
  "  movw %fs, %ss:tv_out_seg+8\n" \
  "  movw %gs, %ss:tv_out_seg+10\n"

static sigjmp_buf tv_jb;
static volatile uint32_t f_signo, f_trapno, f_err, f_cr2, f_eip, f_eflags;
static volatile uint32_t f_regs[8];
static volatile uint16_t f_segs[6];
static volatile uint32_t current_case;

/* The signal frame's general registers in encoding order (EAX..EDI), and EIP. */
#if defined(__x86_64__)
static const int GREG_OF[8] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI};
#define GREG_EIP REG_RIP
#else
static const int GREG_OF[8] = {REG_EAX, REG_ECX, REG_EDX, REG_EBX, REG_UESP, REG_EBP, REG_ESI, REG_EDI};
#define GREG_EIP REG_EIP
#endif

/* The fault and the state at it, from the signal frame (selectors: by the caller). */
static void record_fault(int sig, const greg_t *g, uint32_t cr2) {
  f_signo = (uint32_t)sig;
  f_trapno = (uint32_t)g[REG_TRAPNO];
  f_err = (uint32_t)g[REG_ERR];
  f_cr2 = cr2;
  f_eip = (uint32_t)g[GREG_EIP];
  f_eflags = (uint32_t)g[REG_EFL];
  for (int r = 0; r < 8; r++) f_regs[r] = (uint32_t)g[GREG_OF[r]];
}

#if defined(__x86_64__)
/*
 * tv_enter (64-bit): save the runner, far-jump to 32-bit code (CS 0x23), load
 * the case state there, jump to the snippet. Until the case ESP is loaded it
 * runs on a small stack below 4 GiB (tv_stack32), so the case's stack window
 * is untouched.
 * After tv_snippet_done (TV_RUN_SNIPPET): capture EFLAGS on tv_stack32 and
 * far-jump back to 64-bit code (CS 0x33), which restores FS's base (glibc's
 * thread pointer: loading a selector into FS replaced it) and the runner.
 */
uint64_t tv_runner_rsp;
uint64_t tv_fs_base;

__asm__(
    ".data\n"
    ".balign 8\n" /* aligned: the return jump runs with the snippet's EFLAGS.AC */
    "tv_far_in: .long tv_compat_entry\n"
    "  .word 0x23\n"
    ".balign 8\n"
    "tv_far_out: .long tv_back64\n"
    "  .word 0x33\n"
    ".bss\n"
    ".balign 16\n"
    "tv_stack32: .space 256\n"
    "tv_stack32_top:\n"
    ".text\n"
    ".code64\n"
    ".globl tv_enter\n"
    ".type tv_enter, @function\n"
    "tv_enter:\n"
    "  pushq %rbx\n"
    "  pushq %rbp\n"
    "  pushq %r12\n"
    "  pushq %r13\n"
    "  pushq %r14\n"
    "  pushq %r15\n"
    "  pushfq\n"
    "  movq %rsp, tv_runner_rsp(%rip)\n"
    "  ljmpl *tv_far_in(%rip)\n"
    ".code32\n"
    "tv_compat_entry:\n"
    "  movl $tv_stack32_top, %esp\n"
    "  movl $0x2b, %eax\n"
    "  movw %ax, %ds\n"
    "  movw %ax, %es\n"
    "  xorl %eax, %eax\n"
    "  movw %ax, %fs\n"
    "  movw %ax, %gs\n"
    TV_RUN_SNIPPET
    "  movl $0x2b, %eax\n"
    "  movw %ax, %ds\n"
    "  movl $tv_stack32_top, %esp\n"
    "  pushfl\n"
    "  popl tv_out+32\n"
    "  ljmpl *tv_far_out\n"
    ".code64\n"
    "tv_back64:\n"
    "  xorl %eax, %eax\n"
    "  movw %ax, %fs\n"
    "  movw %ax, %gs\n"
    "  movl $158, %eax\n" /* arch_prctl(ARCH_SET_FS, tv_fs_base) */
    "  movl $0x1002, %edi\n"
    "  movq tv_fs_base(%rip), %rsi\n"
    "  syscall\n"
    "  movq tv_runner_rsp(%rip), %rsp\n"
    "  popfq\n"
    "  popq %r15\n"
    "  popq %r14\n"
    "  popq %r13\n"
    "  popq %r12\n"
    "  popq %rbp\n"
    "  popq %rbx\n"
    "  ret\n");

static void fault_handler(int sig, siginfo_t *info, void *ctx_) {
  /* The kernel enters a 64-bit handler with the snippet's data selectors
     still loaded (it saves none of them in the frame): read them first. Then
     clear EFLAGS.AC (Linux runs with CR0.AM = 1; the snippet may have set it)
     and give FS back its base before anything uses thread-local storage
     (siglongjmp does). DF is cleared by the kernel on signal delivery. */
  uint16_t es, ds, fs, gs;
  __asm__ volatile("movw %%es, %0\n movw %%ds, %1\n movw %%fs, %2\n movw %%gs, %3"
                   : "=m"(es), "=m"(ds), "=m"(fs), "=m"(gs));
  __asm__ volatile("pushfq\n andl $0xfffbffff, (%%rsp)\n popfq\n"
                   "xorl %%eax, %%eax\n movw %%ax, %%fs\n movw %%ax, %%gs" ::: "rax", "cc", "memory");
  long rc;
  __asm__ volatile("syscall" : "=a"(rc) : "a"(158L), "D"(0x1002L), "S"(tv_fs_base) : "rcx", "r11", "memory");
  (void)rc;
  (void)info;
  ucontext_t *uc = (ucontext_t *)ctx_;
  greg_t *g = uc->uc_mcontext.gregs;
  record_fault(sig, g, (uint32_t)g[REG_CR2]);
  /* REG_CSGSFS: CS in bits 0-15, SS in bits 48-63 (UC_SIGCONTEXT_SS). */
  uint64_t csgsfs = (uint64_t)g[REG_CSGSFS];
  f_segs[0] = es;
  f_segs[1] = (uint16_t)csgsfs;
  f_segs[2] = (uc->uc_flags & 2) != 0 ? (uint16_t)(csgsfs >> 48) : 0x2b;
  f_segs[3] = ds;
  f_segs[4] = fs;
  f_segs[5] = gs;
  siglongjmp(tv_jb, 1);
}

#else
uint32_t tv_runner_esp;
uint16_t tv_seg_save[6]; /* the runner's ES CS SS DS FS GS */

/*
 * tv_enter: save the runner, load the case state, jump to the snippet.
 * tv_snippet_done: the snippet's final `jmp rel32` lands here; save every GPR
 * and segment selector with plain moves (no flag changes, no stack use, since
 * the case stack window is part of the result; SS-relative, because the
 * snippet may have loaded DS with a null or read-only selector), restore the
 * runner's data segments, switch back to the runner stack, capture EFLAGS with
 * pushfl, restore the runner's flags and registers.
 */
__asm__(
    ".text\n"
    ".globl tv_enter\n"
    ".type tv_enter, @function\n"
    "tv_enter:\n"
    "  pushal\n"
    "  pushfl\n"
    "  movl %esp, tv_runner_esp\n"
    "  movw %es, tv_seg_save+0\n"
    "  movw %cs, tv_seg_save+2\n"
    "  movw %ss, tv_seg_save+4\n"
    "  movw %ds, tv_seg_save+6\n"
    "  movw %fs, tv_seg_save+8\n"
    "  movw %gs, tv_seg_save+10\n"
    "  xorl %eax, %eax\n"
    "  movw %ax, %gs\n"
    TV_RUN_SNIPPET
    "  movw %ss:tv_seg_save+6, %ds\n"
    "  movw tv_seg_save+0, %es\n"
    "  movw tv_seg_save+8, %fs\n"
    "  movw tv_seg_save+10, %gs\n"
    "  movl tv_runner_esp, %esp\n"
    "  pushfl\n"
    "  popl tv_out+32\n"
    "  popfl\n"
    "  popal\n"
    "  ret\n");

static void fault_handler(int sig, siginfo_t *info, void *ctx_) {
  /* The snippet may have set EFLAGS.AC (Linux runs with CR0.AM = 1): clear it
     before touching anything that might be unaligned. DF is cleared by the
     kernel on signal delivery. The snippet may also have loaded DS/ES/FS/GS
     (GS is glibc's TLS: siglongjmp needs it): restore the runner's. */
  __asm__ volatile("pushfl\n andl $0xfffbffff, (%%esp)\n popfl\n"
                   "movw %%ss:tv_seg_save+6, %%ds\n"
                   "movw %%ss:tv_seg_save+0, %%es\n"
                   "movw %%ss:tv_seg_save+8, %%fs\n"
                   "movw %%ss:tv_seg_save+10, %%gs" ::: "cc", "memory");
  (void)info;
  ucontext_t *uc = (ucontext_t *)ctx_;
  greg_t *g = uc->uc_mcontext.gregs;
  record_fault(sig, g, (uint32_t)uc->uc_mcontext.cr2);
  f_segs[0] = (uint16_t)g[REG_ES];
  f_segs[1] = (uint16_t)g[REG_CS];
  f_segs[2] = (uint16_t)g[REG_SS];
  f_segs[3] = (uint16_t)g[REG_DS];
  f_segs[4] = (uint16_t)g[REG_FS];
  f_segs[5] = (uint16_t)g[REG_GS];
  siglongjmp(tv_jb, 1);
}

#endif

static void alarm_handler(int sig) {
  (void)sig;
  char msg[96];
  int n = snprintf(msg, sizeof msg, "native-runner: watchdog: case %u did not finish\n", current_case);
  if (n > 0) {
    ssize_t w = write(2, msg, (size_t)n);
    (void)w;
  }
  _exit(3);
}

static void die(const char *what) {
  fprintf(stderr, "native-runner: %s: %s\n", what, strerror(errno));
  exit(2);
}

__attribute__((noinline)) static uint8_t *read_all(const char *path, size_t *len) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f) die("open input");
  size_t cap = 1u << 20, n = 0;
  uint8_t *buf = malloc(cap);
  if (!buf) die("malloc");
  for (;;) {
    if (n == cap) {
      cap *= 2;
      buf = realloc(buf, cap);
      if (!buf) die("realloc");
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    if (r == 0) break;
    n += r;
  }
  if (ferror(f)) die("read input");
  if (f != stdin) fclose(f);
  *len = n;
  return buf;
}

__attribute__((noinline)) static void write_all(const char *path, const uint8_t *buf, size_t len) {
  FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
  if (!f) die("open output");
  if (fwrite(buf, 1, len, f) != len) die("write output");
  if (fflush(f) != 0) die("flush output");
  if (f != stdout) fclose(f);
}

static void *map_fixed(uint32_t addr, int prot, int flags, int fd) {
  void *p = mmap((void *)(uintptr_t)addr, PAGE, prot, flags | MAP_FIXED_NOREPLACE, fd, 0);
  if (p == MAP_FAILED) die("mmap fixed");
  if ((uint32_t)(uintptr_t)p != addr) {
    fprintf(stderr, "native-runner: mmap at %#x landed at %p (kernel without MAP_FIXED_NOREPLACE?)\n", addr, p);
    exit(2);
  }
  return p;
}

static inline uint32_t rd32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static inline void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

/* Hash of a page's words outside [woff, woff + wlen): 0 when they are all
   zero, otherwise FNV-1a over 32-bit words, forced odd. Mirrored in format.ts. */
static uint32_t outside_hash(const uint32_t *page, uint32_t woff, uint32_t wlen) {
  uint32_t lo = woff / 4, hi = (woff + wlen) / 4, any = 0;
  for (uint32_t i = 0; i < PAGE / 4; i++) {
    if (i >= lo && i < hi) continue;
    any |= page[i];
  }
  if (!any) return 0;
  uint32_t h = 2166136261u;
  for (uint32_t i = 0; i < PAGE / 4; i++) {
    if (i >= lo && i < hi) continue;
    h = (h ^ page[i]) * 16777619u;
  }
  return h | 1u;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s IN|- OUT|-\n", argv[0]);
    return 2;
  }

#if defined(__x86_64__)
  if (syscall(SYS_arch_prctl, 0x1003 /* ARCH_GET_FS */, &tv_fs_base) != 0) die("arch_prctl");
#endif
  int mfd = (int)syscall(SYS_memfd_create, "tv-code", 0u);
  if (mfd < 0) die("memfd_create");
  if (ftruncate(mfd, PAGE) != 0) die("ftruncate");
  uint8_t *code_rw = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
  if (code_rw == MAP_FAILED) die("mmap code alias");
  map_fixed(CODE_BASE, PROT_READ | PROT_EXEC, MAP_SHARED, mfd);
  uint8_t *data = map_fixed(DATA_BASE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  uint8_t *stack = map_fixed(STACK_BASE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);

  static uint8_t altstack[65536] __attribute__((aligned(64)));
  stack_t ss;
  ss.ss_sp = altstack;
  ss.ss_size = sizeof altstack;
  ss.ss_flags = 0;
  if (sigaltstack(&ss, NULL) != 0) die("sigaltstack");

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = fault_handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP};
  for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    if (sigaction(sigs[i], &sa, NULL) != 0) die("sigaction");
  struct sigaction al;
  memset(&al, 0, sizeof al);
  al.sa_handler = alarm_handler;
  if (sigaction(SIGALRM, &al, NULL) != 0) die("sigaction alarm");

  size_t in_len;
  uint8_t *in = read_all(argv[1], &in_len);
  if (in_len < 12 || rd32(in) != IN_MAGIC || rd32(in + 4) != FORMAT_VERSION) {
    fprintf(stderr, "native-runner: bad batch header (format version %u expected)\n", FORMAT_VERSION);
    return 2;
  }
  uint32_t count = rd32(in + 8);
  if (in_len != 12 + (size_t)count * IN_SIZE) {
    fprintf(stderr, "native-runner: batch length %zu does not match %u cases\n", in_len, count);
    return 2;
  }
  size_t out_len = 12 + (size_t)count * OUT_SIZE;
  uint8_t *out = calloc(1, out_len);
  if (!out) die("calloc");
  wr32(out, OUT_MAGIC);
  wr32(out + 4, FORMAT_VERSION);
  wr32(out + 8, count);

  uint32_t prev_code_start = 0, prev_code_end = 0;
  for (uint32_t c = 0; c < count; c++) {
    current_case = c;
    if ((c & 4095u) == 0) alarm(20);
    const uint8_t *rec = in + 12 + (size_t)c * IN_SIZE;
    uint8_t *res = out + 12 + (size_t)c * OUT_SIZE;
    uint32_t len = rec[IN_CODELEN];
    uint32_t off = (uint32_t)rec[IN_CODEOFF] | ((uint32_t)rec[IN_CODEOFF + 1] << 8);
    if (len > MAX_CODE || off + len > PAGE) {
      fprintf(stderr, "native-runner: case %u: code length %u at offset %u\n", c, len, off);
      return 2;
    }

    /* Code: snippet, then `jmp tv_snippet_done` (when it fits in the page;
       a snippet at the very end of the page must fault before getting there).
       Everything else in the page is zero. */
    memset(code_rw + prev_code_start, 0, prev_code_end - prev_code_start);
    memcpy(code_rw + off, rec + IN_CODE, len);
    uint32_t end = off + len;
    for (uint32_t i = 0; i < 5 && end + i < PAGE; i++) {
      uint8_t jmp[5];
      jmp[0] = 0xE9;
      wr32(jmp + 1, (uint32_t)(uintptr_t)tv_snippet_done - (CODE_BASE + end + 5));
      code_rw[end + i] = jmp[i];
    }
    prev_code_start = off;
    prev_code_end = end + 5 < PAGE ? end + 5 : PAGE;
    tv_entry = CODE_BASE + off;

    memcpy(data + DATA_WIN_OFF, rec + IN_DATA, DATA_WIN_LEN);
    memcpy(stack + STACK_WIN_OFF, rec + IN_STACK, STACK_WIN_LEN);
    for (int r = 0; r < 8; r++) tv_in[r] = rd32(rec + IN_REGS + 4 * r);
    tv_in[8] = rd32(rec + IN_EFLAGS);

    if (sigsetjmp(tv_jb, 0) == 0) {
      tv_enter();
      wr32(res + OUT_STATUS, STATUS_DONE);
      wr32(res + OUT_EIP, CODE_BASE + end);
      wr32(res + OUT_EFLAGS, tv_out[8]);
      for (int r = 0; r < 8; r++) wr32(res + OUT_REGS + 4 * r, tv_out[r]);
      memcpy(res + OUT_SEGS, tv_out_seg, 12);
    } else {
      __asm__ volatile("cld" ::: "cc");
      wr32(res + OUT_STATUS, STATUS_FAULT);
      wr32(res + OUT_SIGNO, f_signo);
      wr32(res + OUT_TRAPNO, f_trapno);
      wr32(res + OUT_ERR, f_err);
      wr32(res + OUT_CR2, f_cr2);
      wr32(res + OUT_EIP, f_eip);
      wr32(res + OUT_EFLAGS, f_eflags);
      for (int r = 0; r < 8; r++) wr32(res + OUT_REGS + 4 * r, f_regs[r]);
      for (int s = 0; s < 6; s++) {
        uint16_t v = f_segs[s];
        memcpy(res + OUT_SEGS + 2 * s, &v, 2);
      }
    }

    memcpy(res + OUT_DATA, data + DATA_WIN_OFF, DATA_WIN_LEN);
    memcpy(res + OUT_STACK, stack + STACK_WIN_OFF, STACK_WIN_LEN);
    uint32_t dh = outside_hash((const uint32_t *)data, DATA_WIN_OFF, DATA_WIN_LEN);
    uint32_t sh = outside_hash((const uint32_t *)stack, STACK_WIN_OFF, STACK_WIN_LEN);
    wr32(res + OUT_DATA_HASH, dh);
    wr32(res + OUT_STACK_HASH, sh);
    if (dh) memset(data, 0, PAGE);
    if (sh) memset(stack, 0, PAGE);
  }
  alarm(0);
  write_all(argv[2], out, out_len);
  return 0;
}
