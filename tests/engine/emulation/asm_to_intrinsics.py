#!/usr/bin/env python3
"""Emulation test only: rewrites each __asm__(...) statement of an AVX-512 VNNI kernel into the equivalent
intrinsics (asm cannot run on a CPU without AVX-512, intrinsics can, through SIMDe), so the kernel's
addressing, operand order and accumulator logic are tested instruction for instruction.
Knows the instructions the kernels use: vmovdqu64 and vpbroadcastd from memory, and vpdpbusd, whose AT&T
operand order is `vpdpbusd src2(s8), src1(u8), dst`. A kernel file's include of an AVX-512 VNNI template
header (`#include "engine/kernels/...-avx512vnni.h"`, found under LIB_DIR) is inlined and rewritten too.
Usage: asm_to_intrinsics.py IN.cpp OUT.cpp [LIB_DIR]"""
import os
import re
import sys
src = open(sys.argv[1]).read()
if len(sys.argv) > 3:
    src = re.sub(r'#include "(engine/kernels/[^"]*-avx512vnni\.h)"',
                 lambda m: open(os.path.join(sys.argv[3], m.group(1))).read().replace('#pragma once', ''), src)

def split_top(s):
    parts, depth, cur = [], 0, ''
    for ch in s:
        if ch in '([': depth += 1
        if ch in ')]': depth -= 1
        if ch == ',' and depth == 0:
            parts.append(cur.strip()); cur = ''
        else:
            cur += ch
    if cur.strip(): parts.append(cur.strip())
    return parts

def translate(stmt):
    body = stmt[stmt.index('(') + 1: stmt.rindex(')')]
    sections = []  # template, outputs, inputs
    depth, cur, in_str = 0, '', False
    for i, ch in enumerate(body):
        if ch == '"' and body[i-1] != '\\': in_str = not in_str
        if not in_str:
            if ch in '([': depth += 1
            if ch in ')]': depth -= 1
            if ch == ':' and depth == 0:
                sections.append(cur); cur = ''; continue
        cur += ch
    sections.append(cur)
    template = ''.join(re.findall(r'"((?:[^"\\]|\\.)*)"', sections[0])).replace('\\n', '\n').replace('\\t', '')
    ops = []
    for sec in sections[1:3]:
        for op in split_top(sec):
            m = re.match(r'(?:\[(\w+)\]\s*)?"[^"]*"\s*\((.*)\)$', op.strip(), re.S)
            if m: ops.append((m.group(1), m.group(2).strip()))
    names = {n: v for n, v in ops if n}
    def ref(tok):
        tok = tok.strip()
        m = re.match(r'%\[(\w+)\]$', tok)
        if m: return names[m.group(1)]
        m = re.match(r'%(\d+)$', tok)
        if m: return ops[int(m.group(1))][1]
        raise SystemExit('bad operand ' + tok)
    out = []
    for line in template.strip().split('\n'):
        mnem, args = line.strip().split(None, 1)
        args = [a.strip() for a in split_top(args)]
        if mnem == 'vpdpbusd':
            s2, s1, d = map(ref, args)
            out.append(f'{d} = _mm512_dpbusd_epi32({d}, {s1}, {s2});')
        elif mnem in ('vmovdqu64', 'vpbroadcastd'):
            m = re.match(r'(\d*)\(%\[(\w+)\]\)$', args[0])
            off, base = m.group(1) or '0', names[m.group(2)]
            d = ref(args[1])
            addr = f'(reinterpret_cast<const char*>({base}) + {off})'
            out.append(f'{d} = _mm512_loadu_si512({addr});' if mnem == 'vmovdqu64'
                       else f'{d} = _mm512_set1_epi32(*reinterpret_cast<const int*>({addr}));')
        else:
            raise SystemExit('unknown ' + mnem)
    return '{ ' + ' '.join(out) + ' }'

res, i = '', 0
while True:
    j = src.find('__asm__(', i)
    if j < 0: res += src[i:]; break
    depth, k = 0, j + len('__asm__')
    while True:
        if src[k] == '(': depth += 1
        if src[k] == ')':
            depth -= 1
            if depth == 0: break
        k += 1
    end = src.index(';', k)
    res += src[i:j] + translate(src[j:k + 1])
    i = end + 1
open(sys.argv[2], 'w').write(res)
