;; realBasics 16 0x7c00
  mov ax, 0x1234
  mov bx, 0x0100
  mov ds, bx
  mov [0x10], ax
  add ax, [0x10]
  mov cx, 5
.l: inc dx
  loop .l
  push ax
  pop si
  hlt
;; realInt 16 0x7c00
  xor ax, ax
  mov ds, ax
  mov word [0x21*4], handler
  mov word [0x21*4+2], 0
  mov ss, ax
  mov sp, 0x9000
  sti
  int 0x21
  mov bx, 0x55
  hlt
handler:
  mov cx, 0x77
  pushf
  pop dx
  iret
;; enterPm 16 0x7c00
  cli
  xor ax, ax
  mov ds, ax
  lgdt [gdtr]
  mov eax, cr0
  or al, 1
  mov cr0, eax
  jmp 0x08:pm
gdtr: dw 0x4f
      dd 0x1000
bits 32
pm:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov esp, 0x80000
  mov eax, 0xdeadbeef
  mov [0x500], eax
  mov bx, cs
  hlt
