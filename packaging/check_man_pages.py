#!/usr/bin/env python3
"""Fails when a man page (or the bash completion) and a binary's --help drift apart.

  check_man_pages.py man PAGE BINARY     every long flag in BINARY's help is named in PAGE and
                                         every long flag PAGE names is in the help; for foghorn,
                                         every command too (help of the overview and each command)
  check_man_pages.py completion FILE BINARY
                                         the completion offers every command and flag of foghorn

Run by ctest (packaging/CMakeLists.txt: man_page.*, bash_completion.foghorn).
"""
import re
import subprocess
import sys

FLAG_RE = re.compile(r"(?<![\w-])--([a-z][a-z0-9_-]*)")
# Usage flags abseil adds to foghornd; named in the man page without being in --help.
ABSEIL_BUILTINS = {"help", "helpfull", "helpshort", "helppackage", "helpon", "helpmatch",
                   "version", "only_check_args", "flagfile", "fromenv", "tryfromenv", "undefok"}


def help_text(binary, *args):
    r = subprocess.run([binary, *args, "--help"], capture_output=True, text=True, timeout=30)
    return r.stdout + r.stderr


def cli_commands(overview):
    """The command names of `foghorn --help` (the Commands: section), e.g. 'runbook validate'."""
    out, inside = [], False
    for line in overview.splitlines():
        if line.startswith("Commands:"):
            inside = True
            continue
        if inside:
            if not line.strip():
                break
            words = []
            for w in re.split(r"\s{2,}", line.strip())[0].split():
                if w[0] in "<[(" or not re.fullmatch(r"[a-z][a-z-]*", w):
                    break
                words.append(w)
            out.append(" ".join(words))
    return out


def binary_surface(binary):
    """(commands, flags) the binary's help shows."""
    overview = help_text(binary)
    commands = []
    texts = [overview]
    if "Commands:" in overview:  # the CLI: every command's own help too
        commands = cli_commands(overview)
        texts += [help_text(binary, *c.split()) for c in commands]
    flags = set()
    for t in texts:
        flags |= set(FLAG_RE.findall(t))
    return commands, flags


def roff_text(path):
    text = open(path, encoding="utf-8").read()
    text = "\n".join(l for l in text.splitlines() if not l.startswith('.\\"'))
    text = re.sub(r"\\f[BIRP]", "", text).replace("\\-", "-").replace("\\&", "")
    return text


def check_man(page, binary):
    commands, help_flags = binary_surface(binary)
    text = roff_text(page)
    man_flags = set(FLAG_RE.findall(text))
    builtins = ABSEIL_BUILTINS if "foghornd" in page else {"help", "version"}
    problems = []
    for f in sorted(help_flags - man_flags - builtins):
        problems.append(f"--{f} is in `{binary} --help` but not in {page}")
    for f in sorted(man_flags - help_flags - builtins):
        problems.append(f"--{f} is in {page} but not in `{binary} --help`")
    # Each command is the tag of a .TP item: the line after .TP, without its font macro and quotes.
    lines = text.splitlines()
    tags = [re.sub(r"^\.[A-Z]+\s*", "", lines[i + 1]).replace('"', "")
            for i, l in enumerate(lines[:-1]) if l == ".TP"]
    for c in commands:
        if not any(t == c or t.startswith(c + " ") for t in tags):
            problems.append(f"command \"{c}\" is in `{binary} --help` but not in {page}")
    return problems, len(help_flags), len(commands)


def check_completion(path, binary):
    commands, help_flags = binary_surface(binary)
    text = open(path, encoding="utf-8").read()
    problems = []
    words = set(re.findall(r"[A-Za-z][\w-]*", text))
    for c in commands:
        for w in c.split():
            if w not in words:
                problems.append(f"command word \"{w}\" is not offered by {path}")
    offered = set(FLAG_RE.findall(text))
    for f in sorted(help_flags - offered - {"help"}):
        problems.append(f"--{f} is in `{binary} --help` but not offered by {path}")
    for f in sorted(offered - help_flags):
        problems.append(f"--{f} is offered by {path} but not in `{binary} --help`")
    return problems, len(help_flags), len(commands)


def main(argv):
    if len(argv) != 4 or argv[1] not in ("man", "completion"):
        print(__doc__, file=sys.stderr)
        return 2
    check = check_man if argv[1] == "man" else check_completion
    problems, nflags, ncommands = check(argv[2], argv[3])
    for p in problems:
        print(f"check_man_pages: {p}", file=sys.stderr)
    if not problems:
        print(f"check_man_pages: {argv[2]} matches {argv[3]} ({nflags} flags, "
              f"{ncommands} commands)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
