;; bitOps 32 0x20000
  mov dword [0x800], 0
  mov dword [0x804], 0
  mov eax, 35
  bts [0x800], eax
  setc bl
  bt dword [0x800], 35
  setc bh
  mov eax, -1
  bts [0x804], eax
  mov ecx, 0x00f0
  bsf edx, ecx
  bsr esi, ecx
  mov edi, 0x12345678
  bswap edi
  int3
;; cmpxchgProg 32 0x20000
  mov dword [0x800], 5
  mov eax, 5
  mov ecx, 9
  lock cmpxchg [0x800], ecx
  setz bl
  mov eax, 1
  cmpxchg [0x800], ecx
  setz bh
  mov edx, 10
  lock xadd [0x800], edx
  int3
;; cx8Prog 32 0x20000
  mov dword [0x800], 1
  mov dword [0x804], 2
  mov eax, 1
  mov edx, 2
  mov ebx, 0x33
  mov ecx, 0x44
  cmpxchg8b [0x800]
  setz bl
  mov eax, 0
  cmpxchg8b [0x800]
  int3
;; shldProg 32 0x20000
  mov eax, 0x12345678
  mov edx, 0x9abcdef0
  shld eax, edx, 8
  mov ebx, 0x12345678
  shrd ebx, edx, 12
  mov cl, 4
  mov esi, 0x80000001
  shld esi, edx, cl
  int3
;; descProg 32 0x20000
  mov ax, 0x40
  lldt ax
  sldt bx
  str cx
  lar edx, [lsel]
  lsl esi, [lsel]
  mov ax, 0x23
  verr ax
  setz [0x900]
  mov ax, 0x08
  verw ax
  setz [0x901]
  mov ax, 0x23
  mov di, 0x21
  arpl di, ax
  int3
lsel: dw 0x1b
;; stringCmps 32 0x20000
  cld
  mov esi, str1
  mov edi, str2
  mov ecx, 8
  repe cmpsb
  mov ebx, ecx
  mov edi, str1
  mov al, 'x'
  mov ecx, 8
  repne scasb
  int3
str1: db 'abcdxfgh'
str2: db 'abcdefgh'
;; bcdProg 32 0x20000
  mov al, 0x79
  add al, 0x35
  daa
  mov bl, al
  mov al, 0x35
  sub al, 0x47
  das
  mov bh, al
  mov ax, 0x0009
  add al, 0x05
  aaa
  mov cx, ax
  mov ax, 0x0508
  aad 10
  mov dx, ax
  mov al, 77
  aam 10
  int3
;; mulProg 32 0x20000
  mov eax, 0x80000000
  mov ecx, 4
  mul ecx
  mov ebx, edx
  mov esi, eax
  mov eax, -3
  mov ecx, 7
  imul ecx
  mov edi, edx
  mov ebp, eax
  imul eax, ecx, -5
  int3
