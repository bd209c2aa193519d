;; enterNest 32 0x20000
  mov ebp, 0x5000
  mov esp, 0x6000
  mov dword [0x4ffc], 0x1111
  mov dword [0x4ff8], 0x2222
  enter 16, 3
  int3
;; boundProg 32 0x20000
  mov dword [0x700], 10
  mov dword [0x704], 20
  mov eax, 15
  bound eax, [0x700]
  mov eax, 25
  bound eax, [0x700]
  int3
;; repMovs 32 0x20000
  cld
  mov esi, 0x100ff0
  mov edi, 0x3fff8
  mov ecx, 16
  rep movsb
  int3
;; singleStep 32 0x20000
  pushfd
  or dword [esp], 0x100
  popfd
  nop
  inc eax
  inc eax
  int3
;; alignCheck 32 0x20000
  pushfd
  or dword [esp], 0x40000
  popfd
  mov eax, [0x501]
  int3
;; expandDown 32 0x20000
  mov ax, 0x48
  mov ds, ax
  mov eax, [0x2000]
  mov eax, [0x0ffe]
  int3
;; divProg 32 0x20000
  mov eax, 100
  xor edx, edx
  mov ecx, 7
  div ecx
  mov esi, eax
  mov edi, edx
  mov eax, -100
  cdq
  idiv ecx
  mov ebx, eax
  mov ebp, edx
  xor ecx, ecx
  div ecx
  int3
