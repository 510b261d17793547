"""Compiles a translation unit that must NOT compile, and checks that the compiler says one sentence.

usage: check.py --sentence TEXT -- COMPILER ARGS...

Passes when compilation fails with exactly one 'error:' line, and that line carries TEXT (the sentence
of the optim entry point's static_assert) — no wall of overload candidates.
"""
import subprocess
import sys


def main() -> int:
    args = sys.argv[1:]
    sep = args.index("--")
    sentence = args[args.index("--sentence") + 1]
    cmd = args[sep + 1:]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    out = proc.stderr + proc.stdout
    if proc.returncode == 0:
        print("compiled, but it must not:", " ".join(cmd))
        return 1
    errors = [line for line in out.splitlines() if "error:" in line]
    if len(errors) != 1 or sentence not in errors[0]:
        print(f"expected one error line carrying {sentence!r}, got {len(errors)}:")
        print("\n".join(out.splitlines()[:40]))
        return 1
    print("rejected with one sentence:", errors[0].split("error:", 1)[1].strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
