;; r3Syscall 32 0x20000
  mov eax, 42
  mov ebp, esp
  int 0x80
  mov ebx, eax
  int3
;; r0Handler80 32 0x21000
  mov ecx, esp
  mov edx, [esp+12]
  mov esi, cs
  mov edi, [esp+16]
  add eax, 1
  iret
;; r3Sysenter 32 0x20000
  mov ecx, esp
  mov edx, back
  sysenter
back:
  mov ebx, cs
  int3
;; r0SysenterEntry 32 0x21100
  mov esi, cs
  mov edi, ss
  mov ebp, esp
  sysexit
;; r0Msr 32 0x20000
  mov ecx, 0x174
  mov eax, 0x08
  xor edx, edx
  wrmsr
  mov ecx, 0x175
  mov eax, 0x12345678
  wrmsr
  xor eax, eax
  rdmsr
  mov ebx, eax
  mov ecx, 0x1b
  rdmsr
  hlt
;; cpuidProg 32 0x20000
  xor eax, eax
  cpuid
  mov [0x600], ebx
  mov [0x604], edx
  mov [0x608], ecx
  mov eax, 1
  cpuid
  mov [0x610], eax
  mov [0x614], edx
  mov [0x618], ecx
  rdtsc
  int3
;; ioProg 32 0x20000
  mov dx, 0x3f8
  mov al, 0x41
  out dx, al
  in al, 0x60
  int3
