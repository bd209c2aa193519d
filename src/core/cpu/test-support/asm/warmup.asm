; Interpreter warm-up program (src/core/cpu/warmup.ts embeds its bytes): nasm -f bin warmup.asm
bits 32
org 0x10000
start:
  mov esp, 0x30000
  mov ebx, 0x20000
  mov esi, 0x21000
  mov edi, 0x22000
  mov ebp, 0x24000
  mov eax, 5
  mov ecx, 3
  add eax, ecx
  or eax, ecx
  and eax, ecx
  sub eax, ecx
  xor eax, ecx
  cmp eax, ecx
  adc eax, ecx
  add [ebx], eax
  add eax, [esi]
  or eax, [esi+4]
  db 0x23, 0xc1 ; and eax, ecx (23 form)
  sub eax, [esi]
  db 0x33, 0xc1 ; xor eax, ecx (33 form)
  cmp eax, [esi]
  db 0x03, 0xc1, 0x0b, 0xc1, 0x2b, 0xc1, 0x3b, 0xc1 ; add/or/sub/cmp eax, ecx (Gv,Ev forms)
  and eax, [esi]
  xor eax, [esi]
  add eax, ecx
  add eax, [esi+0x100]
  inc eax
  dec eax
  inc ax
  push eax
  push ecx
  pop edx
  pop edx
  push word 1
  pop ax
  cmp eax, eax
  je .j1
.j1:
  jne .j1b
.j1b:
  jb .j2
.j2:
  ja .j3
.j3:
  test eax, eax
  test [esi], eax
  jz .j4
.j4:
  add ecx, 1
  and ecx, 7
  sub ecx, 1
  cmp ecx, 1
  or ecx, 1
  add dword [esi], 1
  mov edx, eax
  mov [edi], eax
  mov [edi+4], eax
  mov edx, [edi]
  db 0x8b, 0xd1 ; mov edx, ecx (8B form)
  lea edx, [esi+ecx*4+8]
  lea edx, [esi+8]
  mov eax, [esp+4]
  mov ax, cx
  movzx ax, cl
  lock add [esi], eax
  movzx eax, cl
  movzx eax, byte [edi+0x1000]
  movzx eax, byte [edi+0x1001]
  mov eax, [ebp]
  mov eax, [ebp+0x10]
  mov eax, [absv]
  db 0x8b, 0x05 ; mov eax, [disp32] (ModRM form)
  dd absv
  mov eax, [bx]
  mov eax, [ecx*4+0x20000]
  mov eax, [ebp+ecx+4]
  mov eax, [esp]
  mov eax, [bx+si]
  mov eax, [bp+di]
  mov eax, [si]
  mov eax, [bp+8]
  mov eax, [bx+0x200]
  mov eax, [0x300]
  call func
  call far_func
  jmp short .k
.k:
  test eax, eax
  jnz near .k2
.k2:
  jz near .k3
.k3:
  cmp eax, eax
  jne near .k4
.k4:
  jmp p1

func:
  ret
absv: dd 0x20000

  times (0x1000 - 1 - ($-$$)) nop
p1:            ; 0x10fff: opcode on one page, ModRM on the next
  mov eax, ecx
  jmp p2
  times (0x2000 - 2 - ($-$$)) nop
p2:            ; disp8 straddles
  mov eax, [esi+4]
  jmp p3
  times (0x3000 - 3 - ($-$$)) nop
p3:            ; disp32 straddles
  mov eax, [esi+0x100]
  cmp eax, eax
  jmp p4
  times (0x4000 - 1 - ($-$$)) nop
p4:            ; jcc rel8 displacement on the next page
  je .x
.x:
  jmp p5
  times (0x4800 - ($-$$)) nop
far_func:
  ret
  times (0x4f90 - ($-$$)) nop
back:
  jmp short fwd ; jmp rel8 to the next page
  times (0x5000 - 3 - ($-$$)) nop
p5:            ; mov r, imm32 straddles
  mov eax, 0x12345678
  cmp eax, eax
  je back      ; jcc rel8 taken to the previous page
  times (0x5010 - ($-$$)) nop
fwd:
  ud2
