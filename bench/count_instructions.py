#!/usr/bin/env python3
"""Count the instructions, and the locked ones, a benchmark row executes.

    python3 bench/count_instructions.py BENCH_BINARY ROW_REGEX UNITS [--top N]

Runs one iteration of the Google Benchmark row(s) matching ROW_REGEX under
valgrind's callgrind (one worker rows only: callgrind serialises threads
anyway) and prints, divided by UNITS (the number of forks or calls the row
makes, e.g. 1346268 when_all forks for fib(30)):

  - instructions executed, in total and per function (the N largest);
  - locked instructions executed (a `lock` prefix, `xchg` with memory, or
    `mfence`): the read-modify-writes and fences a fast path pays, per
    function and instruction.

The counts are deterministic (a CPU's timing plays no part), so a change of
a few instructions per fork shows where a timed run on a shared machine
cannot. They include the benchmark's own set-up: divide by a large UNITS.

Needs valgrind and objdump (binutils). Python standard library only.
"""

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile


def run_callgrind(binary, row, out):
    subprocess.run(
        ["valgrind", "--tool=callgrind", "--dump-instr=yes", "--callgrind-out-file=" + out,
         binary, "--benchmark_filter=" + row, "--benchmark_min_time=0.001"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def costs_by_instruction(path):
    """{(address, function): instructions executed there}, self cost only."""
    lines = open(path).read().splitlines()
    positions = next(l for l in lines if l.startswith("positions:")).split()[1:]
    n = len(positions)
    names, current, last = {}, "?", [0] * n
    after_calls = False  # the line after calls= is a call's inclusive cost
    costs = collections.Counter()

    def number(s):
        return int(s, 16) if s.startswith("0x") else int(s)

    for line in lines:
        named = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?", line)
        if named:
            if named.group(3):
                names[named.group(2)] = named.group(3)
            if named.group(1) == "fn":
                current = names.get(named.group(2), "?")
            continue
        if line.startswith("calls="):
            after_calls = True
            continue
        if not line or line[0] not in "0123456789+-*":
            continue
        fields = line.split()
        position = []
        for i, field in enumerate(fields[:n]):  # callgrind's relative positions
            if field.startswith("+"):
                position.append(last[i] + number(field[1:]))
            elif field.startswith("-"):
                position.append(last[i] - number(field[1:]))
            elif field == "*":
                position.append(last[i])
            else:
                position.append(number(field))
        last = position
        if after_calls:
            after_calls = False
            continue
        if len(fields) > n:
            costs[(position[0], current)] += int(fields[n])
    return costs


def disassembly(binary):
    """{address: instruction text} of the binary."""
    text = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "-C", binary],
                          check=True, capture_output=True, text=True).stdout
    code = {}
    for line in text.splitlines():
        m = re.match(r"\s+([0-9a-f]+):\s+(.*)", line)
        if m:
            code[int(m.group(1), 16)] = m.group(2).strip()
    return code


def is_locked(instruction):
    # xchg with a memory operand is locked implicitly; register-register
    # xchg (no parenthesis) is not.
    return (instruction.startswith("lock") or "mfence" in instruction
            or (instruction.startswith("xchg") and "(" in instruction))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary")
    parser.add_argument("row")
    parser.add_argument("units", type=float)
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        run_callgrind(args.binary, args.row, out)
        costs = costs_by_instruction(out)
    code = disassembly(args.binary)

    per_function = collections.Counter()
    locked = collections.Counter()
    for (address, function), count in costs.items():
        function = function.split("'")[0]  # callgrind's recursion suffix
        per_function[function] += count
        instruction = code.get(address, "")
        if is_locked(instruction):
            locked[(function, instruction)] += count

    total = sum(per_function.values())
    print(f"instructions per unit: {total / args.units:.1f}")
    for function, count in per_function.most_common(args.top):
        print(f"  {count / args.units:8.1f}  {function[:110]}")
    print(f"locked instructions per unit: {sum(locked.values()) / args.units:.2f}")
    for (function, instruction), count in locked.most_common():
        if count / args.units >= 0.01:
            print(f"  {count / args.units:8.2f}  {instruction:<28}  {function[:80]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
