#include <stdio.h>
#include <stdint.h>
static uint32_t s = 12345;
static uint32_t rnd(void){ s ^= s << 13; s ^= s >> 17; s ^= s << 5; return s; }
static uint32_t pick(void){ uint32_t r = rnd(); switch (r & 7) { case 0: return 0; case 1: return 0xffffffff; case 2: return 0x80000000u >> (rnd()&31); case 3: return 0x7fffffff; case 4: return rnd() & 0xff; case 5: return 0x80; case 6: return 0x8000 ^ (rnd() & 0xffff); default: return rnd(); } }
#define OP2(name, insn, W, REG) \
static void name(uint32_t a, uint32_t b, uint32_t cin, uint32_t *res, uint32_t *fl) { \
  uint64_t f; uint64_t x = a, y = b; \
  __asm__ volatile("pushfq; andq $~0x8d5, (%%rsp); orq %4, (%%rsp); popfq; " insn " %" REG "2, %" REG "0; pushfq; popq %1" \
    : "+r"(x), "=r"(f) : "r"(y), "0"(x), "r"((uint64_t)cin) : "cc"); \
  *res = (uint32_t)x; *fl = (uint32_t)f; }
#define OPS(insn) OP2(insn##8, #insn "b", 8, "b") OP2(insn##16, #insn "w", 16, "w") OP2(insn##32, #insn "l", 32, "k")
OPS(add) OPS(adc) OPS(sub) OPS(sbb) OPS(and) OPS(or) OPS(xor)
#define OP1(name, insn, REG) \
static void name(uint32_t a, uint32_t cin, uint32_t *res, uint32_t *fl) { \
  uint64_t f; uint64_t x = a; \
  __asm__ volatile("pushfq; andq $~0x8d5, (%%rsp); orq %3, (%%rsp); popfq; " insn " %" REG "0; pushfq; popq %1" \
    : "+r"(x), "=r"(f) : "0"(x), "r"((uint64_t)cin) : "cc"); \
  *res = (uint32_t)x; *fl = (uint32_t)f; }
#define OPS1(insn) OP1(insn##8, #insn "b", "b") OP1(insn##16, #insn "w", "w") OP1(insn##32, #insn "l", "k")
OPS1(inc) OPS1(dec) OPS1(neg)
#define SH(name, insn, REG) \
static void name(uint32_t a, uint32_t cnt, uint32_t cin, uint32_t *res, uint32_t *fl) { \
  uint64_t f; uint64_t x = a; uint64_t c = cnt; \
  __asm__ volatile("pushfq; andq $~0x8d5, (%%rsp); orq %4, (%%rsp); popfq; " insn " %%cl, %" REG "0; pushfq; popq %1" \
    : "+r"(x), "=r"(f), "+c"(c) : "0"(x), "r"((uint64_t)cin) : "cc"); \
  *res = (uint32_t)x; *fl = (uint32_t)f; }
#define SHS(insn) SH(insn##8, #insn "b", "b") SH(insn##16, #insn "w", "w") SH(insn##32, #insn "l", "k")
SHS(shl) SHS(shr) SHS(sar) SHS(rol) SHS(ror) SHS(rcl) SHS(rcr)
typedef void (*f2)(uint32_t, uint32_t, uint32_t, uint32_t*, uint32_t*);
typedef void (*f1)(uint32_t, uint32_t, uint32_t*, uint32_t*);
int main(void){
  const char *n2[] = {"add","adc","sub","sbb","and","or","xor"};
  f2 t2[7][3] = {{add8,add16,add32},{adc8,adc16,adc32},{sub8,sub16,sub32},{sbb8,sbb16,sbb32},{and8,and16,and32},{or8,or16,or32},{xor8,xor16,xor32}};
  const char *n1[] = {"inc","dec","neg"};
  f1 t1[3][3] = {{inc8,inc16,inc32},{dec8,dec16,dec32},{neg8,neg16,neg32}};
  const char *ns[] = {"rol","ror","rcl","rcr","shl","shr","sar"};
  f2 ts[7][3] = {{rol8,rol16,rol32},{ror8,ror16,ror32},{rcl8,rcl16,rcl32},{rcr8,rcr16,rcr32},{shl8,shl16,shl32},{shr8,shr16,shr32},{sar8,sar16,sar32}};
  printf("[\n"); int first = 1;
  for (int i = 0; i < 7; i++) for (int z = 0; z < 3; z++) for (int k = 0; k < 60; k++) {
    uint32_t a = pick(), b = pick(), cin = rnd() & 1, r, f; t2[i][z](a, b, cin, &r, &f);
    printf("%s[\"%s\",%d,%u,%u,%u,%u,%u]\n", first?"":",", n2[i], z, a, b, cin, r, f & 0x8d5); first = 0; }
  for (int i = 0; i < 3; i++) for (int z = 0; z < 3; z++) for (int k = 0; k < 40; k++) {
    uint32_t a = pick(), cin = rnd() & 1, r, f; t1[i][z](a, cin, &r, &f);
    printf(",[\"%s\",%d,%u,0,%u,%u,%u]\n", n1[i], z, a, cin, r, f & 0x8d5); }
  for (int i = 0; i < 7; i++) for (int z = 0; z < 3; z++) for (int k = 0; k < 60; k++) {
    uint32_t a = pick(), cnt = (k < 20) ? 1 : (rnd() & 31), cin = rnd() & 1, r, f; ts[i][z](a, cnt, cin, &r, &f);
    printf(",[\"%s\",%d,%u,%u,%u,%u,%u]\n", ns[i], z, a, cnt, cin, r, f & 0x8d5); }
  printf("]\n"); return 0; }
