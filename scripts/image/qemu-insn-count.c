/*
 * Tiny QEMU TCG plugin used by scripts/image/check-qemu.sh to count guest
 * instructions: every translated block adds its instruction count to a
 * 64-bit counter each time it executes (an inline add, so it is cheap).
 *
 * Arguments entry=ADDR (e.g. entry=0x100000, the bzImage code32_start; may
 * be given up to 16 times, e.g. with addresses from System.map): the counter
 * value is recorded each time (up to 8 times) a block starting at that guest
 * address executes, so the firmware (SeaBIOS, option ROMs, the kernel's
 * 16-bit setup) can be subtracted and a boot split into phases.  For a
 * non-relocatable bzImage the first hit at code32_start is the
 * decompressor's startup_32 and the second the decompressed kernel's.
 *
 * At exit it prints to stderr:
 *   tabvisor-insns: <total>
 *   tabvisor-insns-entry: <addr> <count at 1st hit> <count at 2nd hit> ...
 *   (one line per entry= argument)
 *   tabvisor-insns-time: <addr> <host CLOCK_MONOTONIC ns at each hit> ...
 *
 * Counting is per executed translation block, so this is an estimate: a
 * block cut short by a fault is still counted whole, and since QEMU runs a
 * REP string instruction one iteration per block execution, each iteration
 * counts as one instruction.
 *
 * QEMU's plugin header is not packaged by Debian, so the few entry points
 * used (QEMU plugin API version 1, QEMU 7.x) are declared here.
 * Build: gcc -shared -fPIC -O2 -o libqemu-insn-count.so qemu-insn-count.c
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_info_t;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 = 0 };
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS = 0 };
typedef void (*tb_trans_cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*udata_cb)(qemu_plugin_id_t id, void *userdata);
typedef void (*vcpu_udata_cb)(unsigned int vcpu_index, void *userdata);

extern void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, tb_trans_cb cb);
extern size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
extern uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
extern void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb,
                                                     enum qemu_plugin_op op,
                                                     void *ptr, uint64_t imm);
extern void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb,
                                                 vcpu_udata_cb cb,
                                                 enum qemu_plugin_cb_flags flags,
                                                 void *userdata);
extern void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, udata_cb cb,
                                           void *userdata);

#define EXPORT __attribute__((visibility("default")))

EXPORT int qemu_plugin_version = 1;

#define MAX_HITS 8
#define MAX_ENTRIES 16
static uint64_t insn_count; /* single vCPU: no atomics needed */
static struct entry {
    uint64_t addr;
    uint64_t hits[MAX_HITS];
    uint64_t ns[MAX_HITS]; /* host CLOCK_MONOTONIC at each hit */
    int n_hits;
} entries[MAX_ENTRIES];
static int n_entries;

static void on_entry(unsigned int vcpu_index, void *userdata)
{
    struct entry *e = userdata;
    (void)vcpu_index;
    if (e->n_hits < MAX_HITS) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        e->ns[e->n_hits] = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        e->hits[e->n_hits++] = insn_count;
    }
}

static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    uint64_t pc = qemu_plugin_tb_vaddr(tb);
    for (int i = 0; i < n_entries; i++) {
        if (entries[i].addr == pc)
            qemu_plugin_register_vcpu_tb_exec_cb(tb, on_entry, QEMU_PLUGIN_CB_NO_REGS,
                                                 &entries[i]);
    }
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
                                             &insn_count,
                                             qemu_plugin_tb_n_insns(tb));
}

static void on_qemu_exit(qemu_plugin_id_t id, void *userdata)
{
    (void)id;
    (void)userdata;
    fprintf(stderr, "\ntabvisor-insns: %llu\n", (unsigned long long)insn_count);
    for (int i = 0; i < n_entries; i++) {
        fprintf(stderr, "tabvisor-insns-entry: 0x%llx", (unsigned long long)entries[i].addr);
        for (int j = 0; j < entries[i].n_hits; j++)
            fprintf(stderr, " %llu", (unsigned long long)entries[i].hits[j]);
        fprintf(stderr, "\n");
    }
    for (int i = 0; i < n_entries; i++) {
        fprintf(stderr, "tabvisor-insns-time: 0x%llx", (unsigned long long)entries[i].addr);
        for (int j = 0; j < entries[i].n_hits; j++)
            fprintf(stderr, " %llu", (unsigned long long)entries[i].ns[j]);
        fprintf(stderr, "\n");
    }
    fflush(stderr);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t *info,
                               int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "entry=", 6) == 0 && n_entries < MAX_ENTRIES)
            entries[n_entries++].addr = strtoull(argv[i] + 6, NULL, 0);
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
    qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
    return 0;
}
