"""Compiles a translation unit that must NOT compile, and checks what the compiler says first.

usage: check.py --sentence TEXT --type TEXT -- COMPILER ARGS...

Passes when compilation fails, the first line containing 'error:' carries TEXT (the sentence of the
graph's static_assert), and the type naming the problem with its numbers (e.g.
'linear_needs_flat_input<3, 3>') appears in the lines before it.
"""
import subprocess
import sys


def main() -> int:
    args = sys.argv[1:]
    sep = args.index("--")
    opts, cmd = args[:sep], args[sep + 1:]
    sentence = opts[opts.index("--sentence") + 1]
    type_text = opts[opts.index("--type") + 1]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    out = proc.stderr + proc.stdout
    if proc.returncode == 0:
        print("compiled, but it must not:", " ".join(cmd))
        return 1
    lines = out.splitlines()
    first_error = next((i for i, line in enumerate(lines) if "error:" in line), None)
    if first_error is None:
        print("no 'error:' line in the compiler's output:\n" + out)
        return 1
    ok = True
    if sentence not in lines[first_error]:
        print(f"the first error line lacks {sentence!r}:\n  {lines[first_error]}")
        ok = False
    if not any(type_text in line for line in lines[:first_error]):
        print(f"no line before the first error names {type_text!r}")
        ok = False
    if not ok:
        print("--- compiler output (first 40 lines) ---\n" + "\n".join(lines[:40]))
        return 1
    print("rejected as expected:", lines[first_error].split("error:", 1)[1].strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
