#!/usr/bin/env python3
"""Checks that the docs still describe the code, so they cannot rot quietly.

Pages: README.md, docs/**/*.md and examples/**/README.md (or --pages FILE...).

(a) Commands. Every command line in a shell-like code block (```sh, ```bash,
    ```console, and unlabelled blocks) that runs remora-proxy, remora-cp,
    remoractl or remora-echo, after `$ ` prompts, in `$(...)`, after pipes and
    `&&`, with `\\` continuations joined: each subcommand must exist and each
    flag must exist for that (sub)command, as the real binary's `--help` says.
    Values of flags with a fixed set (`-o table|json|yaml`) must be in the set.
    The demo's scripts are commands too: examples/demo/traces.py and demo.py
    by their argparse --help, and scripts/demo.sh and examples/demo/run.sh by
    demo.py's, as long as each still passes "$@" on (checked).
    Repository paths in any command (examples/..., build/...) must exist.
(b) Objects. Every ```yaml or ```json block holding a mesh object (kind
    Service, Endpoint, TrafficPolicy, RouteRule, AuthorizationPolicy) is
    applied with `remoractl apply -f` to a real remora-cp; Services the block
    refers to but does not define are stubbed first. Every bootstrap block
    (top-level node/admin/static_resources/dynamic_resources) goes through
    `remora-proxy validate`. A block marked expect-error must be refused.
(c) Names. Every remora_* metric the docs mention is declared in the code,
    and every metric the code declares is listed in docs/observability.md or
    docs/control-plane.md. Every x-remora-error reason the proxy can send is
    in docs/troubleshooting.md, and every reason its tables list exists.
    Every span attribute the tracer sets is in docs/observability.md, every
    access-log key in docs/config/bootstrap.md.
(d) Runnable blocks (marked run) are executed with bash in a sandbox: a
    remora-cp on loopback (port 0, its own CA) with REMORA_SERVER set, a
    sidecar connected to it with its admin address in $admin, PATH holding
    the build's binaries, a temporary working directory holding build/ and
    the repository's directories (as symlinks), TMPDIR inside the sandbox,
    and a curl that fails on HTTP errors (except `-i`/`-I` in an `output`
    block, whose status line is compared). Each must exit 0; with `output`,
    each command's output must match the block's. `$ cat FILE` followed by
    its content makes FILE first. Blocks marked `session` (or
    `session=NAME`) run in page order in one bash, sharing variables and
    background jobs; the first failure stops the session. A failure names
    the line of the failing command. Every block or session has its own
    process group, killed at its end (what it left running, like `cmd &`),
    and a time limit. Object blocks go to a second remora-cp (--insecure).
(e) Links and paths. Every relative Markdown link points at a file that
    exists, and its #anchor at a heading of that page; every repository path
    in backticks (`examples/demo/mesh.yaml`) exists (not in docs/decisions/,
    which is history).
(f) Flags. A table whose first column is `flag` must list flags of one real
    command, with the defaults its --help shows (when the table gives one in
    backticks). Every flag of every command is named in some page.
    Prometheus scrape configs in ```yaml blocks pass `promtool check config`.
    Inline code in prose that runs a binary (`remoractl get -o yaml`) has
    its flags checked when its second word is a flag or a subcommand.

Markers, an HTML comment on the line before a code block (blank lines allowed):
    <!-- doc-check: run -->            execute it (sh: as a script; console: its $ commands)
    <!-- doc-check: run output -->     ... and compare each command's output (`...` skips lines)
    <!-- doc-check: run session -->    run in one bash with the page's other session blocks
                                       (session=NAME: with that group's), in page order
    <!-- doc-check: expect-error -->   an object or bootstrap block that must be refused
    <!-- doc-check: synopsis -->       a usage block: lines after the first are more forms of
                                       the same binary, ` | ` separates alternatives
    <!-- doc-check: skip -- WHY -->    no checks at all (say why)

Prints per page what was checked, then every failure as file:line. Exit 1 on
any failure, 2 on a usage or setup error.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

BINARIES = {
    "remora-proxy": "proxy/main/remora-proxy",
    "remora-cp": "control-plane/main/remora-cp",
    "remoractl": "control-plane/cli/remoractl",
    "remora-echo": "examples/apps/echo/remora-echo",
}
MESH_KINDS = {"Service", "Endpoint", "TrafficPolicy", "RouteRule", "AuthorizationPolicy"}
MESH_PLURALS = ["services", "endpoints", "trafficpolicies", "routerules", "authorizationpolicies"]
BOOTSTRAP_KEYS = {"node", "admin", "static_resources", "dynamic_resources"}
MARKER_WORDS = {"run", "output", "session", "skip", "expect-error", "synopsis"}
SHELL_LANGS = {"sh", "bash", "shell", "console", ""}
# Words that run the command after them.
WRAPPERS = {"sudo", "env", "exec", "time", "nohup", "command"}
# A line that runs one of the binaries: first, or after a pipe, $( or --.
RUNS_BINARY = re.compile(r"(^|\$\(|\|\s*|\s--\s+|^\s*(\w+=\S*\s+)+)(\S*/)?(remoractl|remora-proxy|remora-cp|remora-echo)(\s|$)")
REPO_DIRS = ("examples/", "scripts/", "tests/", "docs/", "proxy/", "control-plane/", "xds/")
BLOCK_TIMEOUT_S = 20
# The demo's scripts, run by path (or with python3/bash before it). Each .sh
# passes its arguments on ("$@") to the next; the Python programs at the end
# are argparse, so their --help is the truth about the flags.
SCRIPT_FORWARDS = {"scripts/demo.sh": "examples/demo/run.sh", "examples/demo/run.sh": "examples/demo/demo.py"}
PYTHON_SCRIPTS = {"examples/demo/demo.py", "examples/demo/traces.py"}
SCRIPTS = set(SCRIPT_FORWARDS) | PYTHON_SCRIPTS
INTERPRETERS = {"python3", "python", "bash", "sh"}


# ---------------------------------------------------------------- markdown --

@dataclass
class Block:
    page: "Page"
    line: int  # 1-based line of the opening fence
    lang: str
    lines: list[str]
    markers: set[str]

    def where(self, offset: int | None = None) -> str:
        """The fence's line, or the line of content line `offset`."""
        return f"{self.page.rel}:{self.line if offset is None else self.line + 1 + offset}"


@dataclass
class Page:
    path: Path
    rel: str
    text: str
    blocks: list[Block] = field(default_factory=list)
    headings: set[str] = field(default_factory=set)
    prose: list[tuple[int, str]] = field(default_factory=list)  # (line, text) outside code blocks
    tables: list[list[tuple[int, list[str]]]] = field(default_factory=list)  # rows (line, cells), header first
    stats: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, n: int = 1) -> None:
        self.stats[what] = self.stats.get(what, 0) + n


class Failures:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str, detail: str = "") -> None:
        text = f"{where}: {message}"
        if detail:
            text += "\n" + "\n".join("    " + line for line in detail.rstrip().splitlines()[-40:])
        self.items.append(text)


FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
MARKER = re.compile(r"<!--\s*doc-check:(.*?)-->")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def parse_page(path: Path, rel: str, failures: Failures) -> Page:
    text = path.read_text(encoding="utf-8")
    page = Page(path=path, rel=rel, text=text)
    lines = text.split("\n")
    seen_slugs: dict[str, int] = {}
    pending: tuple[int, set[str]] | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if fence:
            indent, ticks, lang = len(fence.group(1)), fence.group(2), fence.group(3).lower()
            body: list[str] = []
            j = i + 1
            while j < len(lines):
                close = re.match(r"^\s*" + re.escape(ticks[0]) + "{" + str(len(ticks)) + r",}\s*$", lines[j])
                if close:
                    break
                raw = lines[j]
                body.append(raw[indent:] if raw[:indent].strip() == "" else raw.lstrip())
                j += 1
            markers: set[str] = set()
            if pending is not None:
                markers = pending[1]
                pending = None
            page.blocks.append(Block(page=page, line=i + 1, lang=lang, lines=body, markers=markers))
            i = j + 1
            continue
        marker = MARKER.search(re.sub(r"`[^`]*`", "", line))
        if marker:
            if pending is not None:
                failures.add(f"{rel}:{pending[0]}", "doc-check marker not followed by a code block")
            words = marker.group(1).split(" -- ")[0].replace(",", " ").split()
            unknown = [w for w in words if w.partition("=")[0] not in MARKER_WORDS
                       or ("=" in w and not re.fullmatch(r"session=[\w-]+", w))]
            if unknown or not words:
                failures.add(f"{rel}:{i + 1}", f"unknown doc-check marker word(s) {unknown or words}; "
                             f"known: {sorted(MARKER_WORDS)}")
            elif any(w.startswith("session") for w in words) and "run" not in words:
                failures.add(f"{rel}:{i + 1}", "doc-check marker: session needs run")
            pending = (i + 1, set(words))
        elif line.strip() and pending is not None:
            failures.add(f"{rel}:{pending[0]}", "doc-check marker not followed by a code block")
            pending = None
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            base = slug(heading.group(1))
            n = seen_slugs.get(base, 0)
            page.headings.add(base if n == 0 else f"{base}-{n}")
            seen_slugs[base] = n + 1
        page.prose.append((i + 1, line))
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
            if not (page.prose[-2:-1] and page.prose[-2][1].startswith("|")):
                page.tables.append([])
            if not all(set(c) <= set("-: ") for c in cells):
                page.tables[-1].append((i + 1, cells))
        i += 1
    if pending is not None:
        failures.add(f"{rel}:{pending[0]}", "doc-check marker not followed by a code block")
    return page


# ------------------------------------------------------------ binary help --

@dataclass
class OptionSpec:
    takes_value: bool
    many: bool
    choices: set[str] | None
    default: str | None


@dataclass
class CommandSpec:
    options: dict[str, OptionSpec]
    subcommands: set[str]
    positionals: list[set[str] | None]  # choices per positional (None: free)


class HelpDb:
    """`BIN [SUB...] --help`, parsed (CLI11's format; argparse's for the demo's scripts) and cached."""

    def __init__(self, build: Path, source: Path) -> None:
        self.build = build
        self.source = source
        self.cache: dict[tuple[str, ...], CommandSpec] = {}

    def binary(self, name: str) -> Path:
        return self.build / BINARIES[name]

    def get(self, name: str, path: tuple[str, ...]) -> CommandSpec:
        key = (name,) + path
        if key not in self.cache:
            if name in SCRIPTS:
                program = name
                while program in SCRIPT_FORWARDS:
                    program = SCRIPT_FORWARDS[program]
                argv = [sys.executable, str(self.source / program)]
            else:
                argv = [str(self.binary(name))]
            result = subprocess.run(argv + [*path, "--help"], capture_output=True, text=True, timeout=10)
            if result.returncode != 0:
                raise RuntimeError(f"{' '.join(key)} --help exited {result.returncode}: {result.stderr.strip()}")
            self.cache[key] = (parse_argparse_help if name in SCRIPTS else parse_help)(result.stdout)
        return self.cache[key]


def check_script_forwards(source: Path, failures: Failures) -> None:
    """The flags of scripts/demo.sh are demo.py's only while each script passes "$@" on."""
    for script, target in SCRIPT_FORWARDS.items():
        text = (source / script).read_text()
        if not re.search(r"^[^#]*\b" + re.escape(target) + r"\s+\"\$@\"", text, re.M):
            failures.add(script, f"no longer passes its arguments (\"$@\") to {target}: "
                                 f"update SCRIPT_FORWARDS in tests/docs/doc_check.py")


OPTION_LINE = re.compile(r"^  (-\S+)(?: ((?:(?!\s{2}).)+))?(?:\s{2,}|$)")
SUBCOMMAND_LINE = re.compile(r"^  ([a-z][\w-]*)(?:\s{2,}|$)")


def parse_help(text: str) -> CommandSpec:
    spec = CommandSpec(options={}, subcommands=set(), positionals=[])
    section = ""
    for line in text.splitlines():
        if line and not line.startswith(" ") and line.rstrip().endswith(":"):
            section = line.rstrip()[:-1].lower()
            continue
        if not line.startswith("  ") or line.startswith("   "):
            continue  # descriptions wrapped onto their own lines
        if section == "subcommands":
            m = SUBCOMMAND_LINE.match(line)
            if m:
                spec.subcommands.add(m.group(1))
            continue
        if section == "positionals":
            m = re.match(r"^  (\S+)(?: ((?:(?!\s{2}).)+))?", line)
            if m:
                spec.positionals.append(choices_of(m.group(2) or ""))
            continue
        m = OPTION_LINE.match(line)
        if m:
            rest = (m.group(2) or "").strip()
            takes_value = bool(rest) and not re.match(r"^(\(Env:|Needs:|Excludes:)", rest)
            default = re.search(r"=(\S+)(?: \.\.\.)?$", rest.split(" (Env:")[0])
            option = OptionSpec(takes_value=takes_value, many=" ..." in rest, choices=choices_of(rest),
                                default=default.group(1) if default else None)
            for name in m.group(1).split(","):
                if name.startswith("-"):
                    spec.options[name] = option
    return spec


def parse_argparse_help(text: str) -> CommandSpec:
    """argparse's --help: options, a {sub,commands} positional, other positionals."""
    spec = CommandSpec(options={}, subcommands=set(), positionals=[])
    section = ""
    for line in text.splitlines():
        if line and not line.startswith(" ") and line.rstrip().endswith(":"):
            section = line.rstrip()[:-1].lower()
            continue
        m = re.match(r"^  (\S.*?)(?:\s{2,}|$)", line)
        if not m:
            continue  # usage, descriptions, and the subcommands' own rows (indented 4)
        head = m.group(1)
        if head.startswith("-"):
            option = None
            for part in head.split(", "):
                name, _, metavar = part.partition(" ")
                choices = {c for c in metavar.strip("{}").split(",")} if metavar.startswith("{") else None
                option = option or OptionSpec(takes_value=bool(metavar), many="..." in metavar, choices=choices,
                                              default=None)
                spec.options[name] = option
        elif section.startswith("positional"):
            if head.startswith("{"):
                spec.subcommands |= set(head.strip("{}").split(","))
            else:
                spec.positionals.append(None)
    return spec


def choices_of(type_text: str) -> set[str] | None:
    m = re.search(r":\{([^}]*)\}", type_text)
    return {c.strip() for c in m.group(1).split(",")} if m else None


# ----------------------------------------------------------- commands (a) --

@dataclass
class Invocation:
    binary: str
    args: list[str]
    where: str
    synopsis: bool


def is_placeholder(token: str) -> bool:
    t = token.strip("[]{}()")
    if not t or t in ("...", "-") or any(c in t for c in "$<>*…") or "SUBST" in t:
        return True
    return bool(re.fullmatch(r"[A-Z][A-Z0-9_:.,=|/-]*(\.\.\.)?|\.\.\.", t))


def norm(token: str) -> str:
    stripped = token.lstrip("[")
    if stripped != token or stripped.endswith("]"):
        stripped = stripped.rstrip("]")
    return stripped


def extract_substitutions(text: str, found: list[str]) -> str:
    """Replaces each $(...) by SUBST, collecting the inner commands in `found`."""
    out: list[str] = []
    i = 0
    quote = ""
    while i < len(text):
        c = text[i]
        if quote == "'":
            out.append(c)
            if c == "'":
                quote = ""
            i += 1
            continue
        if c == "'" and quote == "":
            quote = "'"
        elif c == '"':
            quote = "" if quote == '"' else '"'
        if c == "$" and text[i + 1:i + 2] == "(" and text[i + 2:i + 3] != "(":
            depth, j = 1, i + 2
            while j < len(text) and depth:
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                j += 1
            inner = text[i + 2:j - 1]
            found.append(extract_substitutions(inner, found))
            out.append("SUBST")
            i = j
            continue
        out.append(c)
        i += 1
    return "".join(out)


def tokenize(text: str, shell: bool) -> list[str]:
    text = re.sub(r"(?<=\s)\d+(?=>)", "", text)  # 2>&1: the fd number is no argument
    try:
        lexer = shlex.shlex(text, posix=True, punctuation_chars="|&;<>()" if shell else False)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        return list(lexer)
    except ValueError:
        return text.split()


def segments(tokens: list[str]) -> list[list[str]]:
    """Splits a token list at shell operators, dropping redirection targets."""
    out: list[list[str]] = [[]]
    skip = False
    for t in tokens:
        if skip:
            skip = False
            continue
        if t and set(t) <= set("|&;()"):
            out.append([])
        elif t and set(t) <= set("<>&"):
            skip = True
        else:
            out[-1].append(t)
    return [s for s in out if s]


def invocations_in(segment: list[str]) -> tuple[str, list[str]] | None:
    words = list(segment)
    if words and words[0] in ("kubectl", "docker") and "--" in words:
        words = words[words.index("--") + 1:]
    while words:
        w = words[0]
        if re.match(r"^[A-Za-z_]\w*=", w):
            words.pop(0)
        elif w in WRAPPERS:
            words.pop(0)
        elif w == "timeout" and len(words) > 1:
            words = words[2:]
        else:
            break
    if len(words) > 1 and words[0] in INTERPRETERS and script_name(words[1]):
        words = words[1:]
    if not words:
        return None
    script = script_name(words[0])
    if script:
        return script, words[1:]
    name = words[0].rsplit("/", 1)[-1]
    return (name, words[1:]) if name in BINARIES else None


def script_name(token: str) -> str | None:
    """The demo script a command word runs (scripts/demo.sh, ./scripts/demo.sh, /x/examples/demo/run.sh)."""
    token = token.removeprefix("./")
    for script in SCRIPTS:
        if token == script or token.endswith("/" + script):
            return script
    return None


@dataclass
class CommandLine:
    offset: int  # line index inside the block
    text: str
    shell: bool  # shell syntax (pipes are pipes) or a usage synopsis
    output: list[str] = field(default_factory=list)


def command_lines(block: Block) -> list[CommandLine]:
    lines = block.lines
    prompts = any(l.startswith("$ ") for l in lines)
    result: list[CommandLine] = []
    if block.lang == "console" or (block.lang == "" and prompts):
        i = 0
        while i < len(lines):
            if lines[i].startswith("$ "):
                start, text = i, lines[i][2:]
                while text.rstrip().endswith("\\") and i + 1 < len(lines):
                    i += 1
                    text = text.rstrip()[:-1] + " " + re.sub(r"^>\s?", "", lines[i])
                cmd = CommandLine(offset=start, text=text, shell=True)
                i += 1
                while i < len(lines) and not lines[i].startswith("$ "):
                    cmd.output.append(lines[i])
                    i += 1
                result.append(cmd)
            else:
                i += 1
        return result
    if block.lang in ("sh", "bash", "shell"):
        i = 0
        heredoc = None
        while i < len(lines):
            line = lines[i]
            if heredoc is not None:
                if line.strip() == heredoc:
                    heredoc = None
                i += 1
                continue
            start, text = i, line
            while text.rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                text = text.rstrip()[:-1] + " " + lines[i]
            m = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", text)
            if m:
                heredoc = m.group(1)
            if text.strip() and not text.strip().startswith("#"):
                result.append(CommandLine(offset=start, text=text, shell=True))
            i += 1
        return result
    # Unlabelled without prompts: commands and usage lines among output. A
    # line that runs a binary starts a command; a trailing \\, or an indented
    # line starting with [ or -, continues it. Usage lines (with [--flag]
    # options) are read as a synopsis, where | separates alternatives.
    synopsis = "synopsis" in block.markers
    first_binary = None
    current: CommandLine | None = None
    continued = False
    for i, line in enumerate(lines):
        words = line.split()
        if current is not None and (continued or re.match(r"^\s+[\[-]", line)):
            current.text = current.text.rstrip().rstrip("\\") + " " + line.strip()
        elif RUNS_BINARY.search(line) and not (len(words) > 1 and words[1].endswith(":")):
            first_binary = first_binary or words[0]
            current = CommandLine(offset=i, text=line.strip(), shell=True)
            result.append(current)
        elif synopsis and first_binary and line.strip():
            current = CommandLine(offset=i, text=first_binary + " " + line.strip(), shell=False)
            result.append(current)
        else:
            current = None
        continued = current is not None and line.rstrip().endswith("\\")
    for cmd in result:
        if synopsis or re.search(r"\[-{1,2}\w", cmd.text):
            cmd.shell = False
    if synopsis:  # ` | ` separates alternative forms
        split: list[CommandLine] = []
        for cmd in result:
            binary, rest = cmd.text.split(None, 1) if " " in cmd.text else (cmd.text, "")
            for k, alt in enumerate(re.split(r"\s+\|\s+", rest)):
                text = alt if alt.split()[:1] and alt.split()[0] == binary else f"{binary} {alt}"
                split.append(CommandLine(offset=cmd.offset, text=text, shell=False))
        result = split
    return result


def invocations(block: Block, cmd: CommandLine) -> list[Invocation]:
    inner: list[str] = []
    text = extract_substitutions(cmd.text, inner)
    found = []
    for piece in [text] + inner:
        for segment in segments(tokenize(piece, cmd.shell)):
            if not cmd.shell:
                # A lone | in a usage line separates alternatives.
                parts, cur = [], []
                for t in segment:
                    if t == "|":
                        parts.append(cur)
                        cur = []
                    else:
                        cur.append(t)
                parts.append(cur)
                segment = parts[0]
            inv = invocations_in(segment)
            if inv:
                found.append(Invocation(inv[0], inv[1], block.where(cmd.offset), synopsis=not cmd.shell))
    return found


def inline_invocations(page: Page, help_db: HelpDb) -> list[Invocation]:
    """`remoractl get -o yaml` in prose: checked when its second word is a flag or
    a subcommand (else it is probably a quoted log line, like `remora-proxy is ready`)."""
    found = []
    for line_no, line in page.prose:
        for span in re.findall(r"`([^`]+)`", line):
            words = span.split()
            if len(words) > 2 and words[0] in INTERPRETERS and script_name(words[1]):
                words = words[1:]
            if len(words) < 2 or words[0].endswith(":"):
                continue
            binary = script_name(words[0]) or words[0].rsplit("/", 1)[-1]
            if binary not in BINARIES and binary not in SCRIPTS:
                continue
            if not (words[1].startswith("-") or words[1] in help_db.get(binary, ()).subcommands):
                continue
            found.append(Invocation(binary, tokenize(" ".join(words[1:]), False), f"{page.rel}:{line_no}",
                                    synopsis=True))
    return found


def check_invocation(inv: Invocation, help_db: HelpDb, failures: Failures) -> None:
    path: tuple[str, ...] = ()
    spec = help_db.get(inv.binary, path)
    args = inv.args
    used_positionals = 0
    stop_subcommands = False
    i = 0

    def label() -> str:
        return " ".join((inv.binary,) + path)

    while i < len(args):
        raw = args[i]
        token = norm(raw)
        i += 1
        if token in ("", "...", "|") or token == "SUBST":
            continue
        if token == "--":
            break
        if token.startswith("-") and len(token) > 1 and not re.fullmatch(r"-[\d.]+", token):
            names = token.split("|") if "|" in token and all(p.startswith("-") for p in token.split("|")) \
                else [token]
            option = None
            for name in names:
                flag, eq, value = name.partition("=")
                option = spec.options.get(flag)
                if option is None:
                    failures.add(inv.where, f"`{label()}` has no flag {flag}",
                                 f"flags: {' '.join(sorted(spec.options))}")
                    continue
                if eq and option.choices is not None:
                    check_value(inv, label(), flag, value, option, failures)
            if option is not None and option.takes_value and len(names) == 1 and "=" not in token:
                if option.many:
                    while i < len(args) and not norm(args[i]).startswith("-"):
                        i += 1
                elif i < len(args):
                    value = norm(args[i])
                    i += 1
                    if option.choices is not None:
                        check_value(inv, label(), token, value, option, failures)
            continue
        if spec.subcommands and not stop_subcommands and token in spec.subcommands:
            path += (token,)
            spec = help_db.get(inv.binary, path)
            used_positionals = 0
            continue
        if used_positionals < len(spec.positionals):
            choices = spec.positionals[used_positionals]
            used_positionals += 1
            if choices is not None:
                for part in token.split("|"):
                    if not is_placeholder(part) and part not in choices:
                        failures.add(inv.where, f"`{label()}`: {part!r} is not one of {sorted(choices)}")
            continue
        if is_placeholder(token):
            stop_subcommands = True
            continue
        if spec.subcommands and not stop_subcommands:
            failures.add(inv.where, f"`{label()}` has no subcommand {token!r}",
                         f"subcommands: {' '.join(sorted(spec.subcommands))}")
            return
        failures.add(inv.where, f"`{label()}` takes no argument {token!r}")
        return


def check_value(inv: Invocation, label: str, flag: str, value: str, option: OptionSpec,
                failures: Failures) -> None:
    for part in value.split("|"):
        if not is_placeholder(part) and part not in option.choices:
            failures.add(inv.where, f"`{label} {flag}`: {part!r} is not one of {sorted(option.choices)}")


def check_paths(block: Block, cmd: CommandLine, source: Path, build: Path, failures: Failures) -> int:
    """Repository paths named in a command must exist."""
    checked = 0
    for token in tokenize(cmd.text, cmd.shell):
        token = norm(token)
        if "$" in token or "*" in token or not re.fullmatch(r"[\w./-]+", token):
            continue
        if token.startswith("build/"):
            candidates = [build / token[len("build/"):]]
        elif token.startswith(REPO_DIRS):
            candidates = [source / token, block.page.path.parent / token]
        else:
            continue
        checked += 1
        if not any(c.exists() for c in candidates):
            failures.add(block.where(cmd.offset), f"{token} does not exist")
    return checked


# ----------------------------------------------------------------- sandbox --

class Sandbox:
    """A remora-cp on loopback and, with `sidecar`, its CA and one sidecar connected to it."""

    def __init__(self, build: Path, root: Path, sidecar: bool) -> None:
        self.build = build
        self.root = root
        self.sidecar = sidecar
        root.mkdir(parents=True, exist_ok=True)
        self.procs: list[subprocess.Popen] = []
        self.api = ""
        self.admin = ""
        self.logs: list[Path] = []

    def start(self) -> None:
        cp_dir = self.root / "cp"
        log = self.root / "remora-cp.log"
        self.logs.append(log)
        self.procs.append(subprocess.Popen(
            [str(self.build / BINARIES["remora-cp"]), "--data-dir", str(cp_dir),
             "--api-address", "127.0.0.1:0", "--xds-address", "127.0.0.1:0",
             "--api-address-path", str(self.root / "api"), "--xds-address-path", str(self.root / "xds"),
             "--push-debounce", "10ms", "--log-level", "warn"] + ([] if self.sidecar else ["--insecure"]),
            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True))
        self.api = "http://" + self.wait_file(self.root / "api")
        xds = self.wait_file(self.root / "xds")
        if not self.sidecar:
            return
        token = self.request("POST", "/api/v1/tokens", {"namespace": "default", "serviceAccount": "docs"})["token"]
        (self.root / "docs.token").write_text(token + "\n")
        log = self.root / "remora-proxy.log"
        self.logs.append(log)
        self.procs.append(subprocess.Popen(
            [str(self.build / BINARIES["remora-proxy"]), "--control-plane", xds, "--node-id", "docs-1",
             "--service", "docs", "--pod-ip", "127.0.0.1", "--ca-file", str(cp_dir / "ca" / "bundle.pem"),
             "--token-file", str(self.root / "docs.token"), "--admin-address", "127.0.0.1:0",
             "--admin-address-path", str(self.root / "admin"), "--outbound-address", "127.0.0.1:0",
             "--inbound-address", "127.0.0.1:0", "--log-level", "warn"],
            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True))
        self.admin = self.wait_file(self.root / "admin")
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"http://{self.admin}/ready", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the sandbox's sidecar did not become ready in 15 s:\n" + self.log_tail())
            time.sleep(0.05)

    def wait_file(self, path: Path) -> str:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if path.exists() and path.read_text().strip():
                return path.read_text().strip()
            for p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError(f"{p.args[0]} exited {p.returncode}:\n" + self.log_tail())
            time.sleep(0.02)
        raise RuntimeError(f"{path} was not written in 15 s:\n" + self.log_tail())

    def log_tail(self) -> str:
        return "\n".join(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:])
                         for log in self.logs if log.exists())

    def request(self, method: str, path: str, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.api + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def clear_mesh(self) -> None:
        items = []
        for plural in MESH_PLURALS:
            for obj in self.request("GET", f"/api/v1/{plural}")["items"] or []:
                items.append({"kind": obj["kind"], "metadata": {"name": obj["metadata"]["name"],
                                                                "namespace": obj["metadata"]["namespace"]}})
        if items:
            self.request("POST", "/api/v1/delete", items)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        bins = [str((self.build / p).parent) for p in BINARIES.values()]
        env["PATH"] = ":".join(bins + [env.get("PATH", "/usr/bin:/bin")])
        env["REMORA_SERVER"] = self.api
        env.pop("REMORA_TOKEN", None)
        env["admin"] = self.admin
        return env

    def stop(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


# ------------------------------------------------------------- objects (b) --

def yaml_documents(lines: list[str]) -> list[list[str]]:
    docs: list[list[str]] = [[]]
    for line in lines:
        if re.match(r"^---\s*$", line):
            docs.append([])
        else:
            docs[-1].append(line)
    return [d for d in docs if any(l.strip() and not l.lstrip().startswith("#") for l in d)]


def mesh_kind_of_yaml(doc: list[str]) -> str | None:
    kind = api_version = None
    for line in doc:
        m = re.match(r"^kind:\s*['\"]?(\w+)", line)
        if m:
            kind = m.group(1)
        m = re.match(r"^apiVersion:\s*['\"]?([\w./-]+)", line)
        if m:
            api_version = m.group(1)
    if kind in MESH_KINDS and api_version in (None, "remora.dev/v1"):
        return kind
    return None


def is_bootstrap(doc: list[str]) -> bool:
    keys = {m.group(1) for line in doc for m in [re.match(r"^([\w-]+):", line)] if m}
    return bool(keys & BOOTSTRAP_KEYS) and not keys & {"kind", "apiVersion", "scrape_configs"}


def json_mesh_objects(text: str):
    try:
        value = json.loads(text)
    except ValueError:
        return None
    objects = value if isinstance(value, list) else value.get("items") if isinstance(value, dict) and \
        "items" in value else [value]
    if not isinstance(objects, list) or not objects:
        return None
    if not all(isinstance(o, dict) and o.get("kind") in MESH_KINDS for o in objects):
        return None
    for o in objects:  # an output field the server would check against the store
        if isinstance(o.get("metadata"), dict):
            o["metadata"].pop("resourceVersion", None)
    return objects


class ObjectChecker:
    """Applies object blocks to a remora-cp of its own, emptied after each block."""

    def __init__(self, sandbox: Sandbox, root: Path, failures: Failures) -> None:
        self.sandbox = sandbox
        self.root = root
        self.failures = failures
        self.n = 0

    def apply(self, block: Block, text: str, suffix: str, expect_error: bool) -> None:
        self.n += 1
        manifest = self.root / f"objects-{self.n}.{suffix}"
        manifest.write_text(text)
        stubs: dict[tuple[str, str], list[dict]] = {}
        try:
            for _ in range(8):
                result = subprocess.run([str(self.sandbox.build / BINARIES["remoractl"]), "apply", "-f",
                                         str(manifest)], capture_output=True, text=True, timeout=30,
                                        env=self.sandbox.env())
                out = result.stdout + result.stderr
                if result.returncode == 0 or not self.stub(out, stubs):
                    break
            if expect_error and result.returncode == 0:
                self.failures.add(block.where(), "marked expect-error, but remora-cp accepted it", out)
            elif not expect_error and result.returncode != 0:
                self.failures.add(block.where(), "remora-cp refused this object block (remoractl apply -f)", out)
        finally:
            self.sandbox.clear_mesh()

    def stub(self, out: str, stubs: dict[tuple[str, str], list[dict]]) -> bool:
        """Makes the Service a refusal complains about, or the port it lacks; False when none applies."""
        m = re.search(r"service '([\w-]+)/([\w.-]+)' does not exist", out)
        if m:
            key = (m.group(1), m.group(2))
            if key in stubs:
                return False
            stubs[key] = [{"name": "http", "port": 80}]
        else:
            m = re.search(r"service '([\w-]+)/([\w.-]+)' has no port named \"([\w-]+)\"", out)
            m2 = re.search(r"(\d+) is not a target port of service '([\w-]+)/([\w.-]+)'", out)
            if m and (m.group(1), m.group(2)) in stubs:
                key = (m.group(1), m.group(2))
                stubs[key].append({"name": m.group(3), "port": 10000 + len(stubs[key])})
            elif m2 and (m2.group(2), m2.group(3)) in stubs:
                key = (m2.group(2), m2.group(3))
                stubs[key].append({"name": f"p{m2.group(1)}", "port": int(m2.group(1))})
            else:
                return False
        ns, name = key
        self.sandbox.request("POST", "/api/v1/apply", [{"kind": "Service", "metadata": {"name": name, "namespace": ns},
                                                         "spec": {"ports": stubs[key]}}])
        return True


def check_bootstrap(block: Block, text: str, help_db: HelpDb, root: Path, n: int, expect_error: bool,
                    failures: Failures) -> None:
    path = root / f"bootstrap-{n}.yaml"
    path.write_text(text)
    result = subprocess.run([str(help_db.binary("remora-proxy")), "validate", str(path)], capture_output=True,
                            text=True, timeout=30)
    out = result.stdout + result.stderr
    if expect_error and result.returncode == 0:
        failures.add(block.where(), "marked expect-error, but remora-proxy validate accepted it", out)
    elif not expect_error and result.returncode != 0:
        failures.add(block.where(), "remora-proxy validate refused this bootstrap block", out)


def check_promtool(block: Block, root: Path, failures: Failures) -> None:
    """A Prometheus scrape configuration the docs offer must load."""
    promtool = shutil.which("promtool")
    if promtool is None:
        failures.add(block.where(), "promtool is not installed (scripts/deps.sh installs prometheus)")
        return
    path = root / f"prometheus-{block.line}.yaml"
    path.write_text("\n".join(block.lines) + "\n")
    result = subprocess.run([promtool, "check", "config", str(path)], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        failures.add(block.where(), "promtool check config refused this block", result.stdout + result.stderr)


# ---------------------------------------------------------------- runs (d) --

# One bash process runs a block, or all the blocks of a session in order, so
# variables, the working directory and background jobs carry from one block to
# the next. It leads its own process group: whatever it started and left
# running is killed with that group at the end. Progress and the line of a
# failing command go to a file of the session's own ($__dc/progress).
PREAMBLE = r"""set -eE
__dc_at() { echo "at $1 $2" >>"$__dc/progress"; }
trap 'echo "err $? $LINENO ${BASH_LINENO[*]}" >>"$__dc/progress"' ERR
# A curl that fails on HTTP errors, so an example that stopped working fails
# here. Where the doc shows the status line (-i, -I in a `run output` block),
# the comparison checks the status instead.
curl() {
  local a
  if [[ $__dc_output == 1 ]]; then
    for a in "$@"; do
      if [[ $a == --include || $a == --head || $a =~ ^-[[:alnum:]]*[iI][[:alnum:]]*$ ]]; then
        command curl "$@"
        return
      fi
    done
  fi
  command curl --fail-with-body "$@"
}
__dc_output=0
"""
SESSION_TIMEOUT_S = 60


def session_of(block: Block) -> str | None:
    """The session a run block belongs to: `session` (the page's) or `session=NAME`; None: its own."""
    for word in block.markers:
        if word == "session" or word.startswith("session="):
            return word.partition("=")[2] or "page"
    return None


def is_console(block: Block) -> bool:
    return block.lang == "console" or (block.lang == "" and any(l.startswith("$ ") for l in block.lines))


def run_session(blocks: list[Block], sandbox: Sandbox, workdir: Path, failures: Failures) -> None:
    """Runs the blocks in order in one bash; each must exit 0, and in `output`
    blocks each $ command's output must match the doc's."""
    state = Path(tempfile.mkdtemp(prefix="session-", dir=workdir.parent))
    (state / "progress").write_text("")
    script: list[str] = [f"__dc={shlex.quote(str(state))}"] + PREAMBLE.rstrip("\n").split("\n")
    origin: dict[int, tuple[int, int | None]] = {}  # script line -> (block, content line)
    commands: dict[tuple[int, int], CommandLine] = {}  # (block, k) of each $ command

    def emit(text: str, where: tuple[int, int | None] | None = None) -> None:
        for line in text.split("\n"):
            script.append(line)
            if where is not None:
                origin[len(script)] = where

    for b, block in enumerate(blocks):
        emit(f"__dc_at {b} -")
        cmds = command_lines(block)
        if is_console(block):
            output = "output" in block.markers
            for k, cmd in enumerate(cmds):
                commands[(b, k)] = cmd
                # `$ cat FILE` shows a file the next commands use: make it.
                m = re.fullmatch(r"cat ([\w.-]+)\s*", cmd.text)
                if m:
                    (state / f"file.{b}.{k}").write_text("\n".join(cmd.output).rstrip("\n") + "\n")
                    emit(f'command cp "$__dc/file.{b}.{k}" {shlex.quote(m.group(1))}')
                emit(f"__dc_at {b} {k}; __dc_output={int(output)}")
                emit("{ " + cmd.text, (b, cmd.offset))
                emit(f'}} >"$__dc/out.{b}.{k}" 2>&1', (b, cmd.offset))
        else:
            # A failing line is reported as the start of the command it belongs to.
            starts = sorted(c.offset for c in cmds)
            emit("__dc_output=0")
            for i, line in enumerate(block.lines):
                owner = max((o for o in starts if o <= i), default=i)
                emit(line, (b, owner))
    (state / "script.sh").write_text("\n".join(script) + "\n")
    log_path = state / "log"
    timeout = min(BLOCK_TIMEOUT_S * len(blocks), SESSION_TIMEOUT_S)
    env = sandbox.env()
    env["TMPDIR"] = str(state)  # mktemp -d stays inside what is removed at the end
    with log_path.open("wb") as log:
        proc = subprocess.Popen(["bash", "--noprofile", "--norc", str(state / "script.sh")], cwd=workdir, env=env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        timed_out = False
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_group(proc.pid, signal.SIGKILL)
            rc = proc.wait()
        kill_group(proc.pid, signal.SIGTERM)  # what the blocks left running

    def where(b: int, offset: int | None) -> str:
        return blocks[b].where(offset)

    events = (state / "progress").read_text().splitlines()
    at: list[tuple[int, int | None]] = []  # blocks and $ commands started, in order
    failed_at: tuple[int, int | None] | None = None
    for event in events:
        words = event.split()
        if words[0] == "at":
            b = int(words[1])
            k = None if words[2] == "-" else int(words[2])
            at.append((b, k))
            failed_at = (b, None if k is None else commands[(b, k)].offset)
        elif words[0] == "err":
            # The failing line, or the doc line that called the function it failed in.
            for n in words[2:]:
                if int(n) in origin:
                    failed_at = origin[int(n)]
                    break
    log = log_path.read_text(errors="replace")
    done = at
    if timed_out or rc != 0:
        detail = log
        if at and at[-1][1] is not None:
            b, k = at[-1]
            out = state / f"out.{b}.{k}"
            if out.exists():
                detail += f"\n--- output of `{commands[(b, k)].text.strip()}`\n" + out.read_text(errors="replace")
        location = where(*failed_at) if failed_at else where(0, None)
        if timed_out:
            failures.add(location, f"run block did not finish in {timeout} s", detail)
        else:
            failures.add(location, f"run block exited {rc}", detail)
        done = at[:-1]
    for b, k in done:
        if k is None or "output" not in blocks[b].markers:
            continue
        cmd = commands[(b, k)]
        text = (state / f"out.{b}.{k}").read_text(errors="replace")
        got = text.rstrip("\n").split("\n") if text else []
        if not lines_match(cmd.output, got):
            failures.add(where(b, cmd.offset), f"output of `{cmd.text.strip()}` differs from the doc",
                         "doc:\n" + "\n".join(cmd.output) + "\nactual:\n" + "\n".join(got))


def kill_group(pgid: int, sig: int) -> None:
    """Signals the session's process group and waits (up to 2 s) until no live
    process is left in it; then SIGKILL."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            return
        time.sleep(0.02)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def group_alive(pgid: int) -> bool:
    """Whether a process of the group is still running (zombies waiting for init do not count)."""
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


def squash(line: str) -> str:
    return " ".join(line.split())


def lines_match(expected: list[str], actual: list[str]) -> bool:
    expected = [squash(l) for l in expected]
    while expected and not expected[-1]:
        expected.pop()
    actual = [squash(l) for l in actual]
    while actual and not actual[-1]:
        actual.pop()

    def match(e: int, a: int) -> bool:
        if e == len(expected):
            return a == len(actual)
        if expected[e] == "...":
            return any(match(e + 1, k) for k in range(a, len(actual) + 1))
        return a < len(actual) and expected[e] == actual[a] and match(e + 1, a + 1)

    return match(0, 0)


# --------------------------------------------------------------- names (c) --

def code_metrics(source: Path) -> dict[str, str]:
    """Metric name -> file that declares it (Prometheus names, counters with _total)."""
    found: dict[str, str] = {}
    for f in sorted(glob.glob(str(source / "proxy/**/*.cc"), recursive=True)):
        text = Path(f).read_text()
        for kind, name in re.findall(r"\b(counter|gauge|histogram)\(\s*\"(remora_\w+)\"", text):
            if kind == "counter" and not name.endswith("_total"):
                name += "_total"
            found[name] = os.path.relpath(f, source)
    cp: dict[str, str] = {}
    for f in sorted(glob.glob(str(source / "control-plane/**/*.cc"), recursive=True)):
        for name in re.findall(r"\b(remora_cp_[a-z0-9_]*[a-z0-9])", Path(f).read_text()):
            cp[name] = os.path.relpath(f, source)
    for name, f in cp.items():
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if base == name or base not in cp:
            found[name] = f
    return found


def non_metric_identifiers(source: Path) -> set[str]:
    """remora_* words that are CMake targets, not metrics."""
    names: set[str] = set()
    for f in glob.glob(str(source / "**/CMakeLists.txt"), recursive=True) + \
            glob.glob(str(source / "cmake/*.cmake")):
        if "/build" in f[len(str(source)):] or "node_modules" in f:
            continue
        names.update(re.findall(r"\bremora_\w+", Path(f).read_text()))
    return names


def local_reply_reasons(source: Path) -> dict[str, str]:
    """x-remora-error values the proxy sends -> where they come from."""
    names = dict(re.findall(r"case Error::(k\w+): return \"(\w+)\"", (source / "xds/base/error.cc").read_text()))
    reasons: dict[str, str] = {}
    # Local replies: the status table and the code that fails requests.
    files = ["proxy/http/manager/active_stream.cc", "proxy/http/manager/connection_manager.cc",
             "proxy/router/router_filter.cc", "proxy/router/upstream_request.cc", "proxy/router/tcp_proxy.cc",
             "proxy/upstream/cluster_manager.cc", "proxy/security/authorizer.cc"]
    for rel in files:
        path = source / rel
        if not path.exists():
            raise RuntimeError(f"{rel} is gone: update local_reply_reasons() in tests/docs/doc_check.py")
        text = re.sub(r"base::fail\([^;]*;", "", path.read_text())  # config errors, not replies
        for enum in re.findall(r"Error::(k\w+)", text):
            reasons[names[enum]] = rel
    # The HTTP/1 parser's own refusals, and its codecs'.
    parser = "proxy/http/http1/http1_parser.cc"
    for call in re.findall(r"\b(?:failWith|takeLine)\((.*?)\);", (source / parser).read_text(), re.S):
        for reason in re.findall(r"\"([a-z][a-z0-9_]*)\"", call):
            reasons[reason] = parser
    for codec in sorted(glob.glob(str(source / "proxy/http/http1/http1_*_codec.cc"))):
        for reason in re.findall(r"fail\([^;]*?Error::kProtocol,\s*\"([a-z][a-z0-9_]*)\"", Path(codec).read_text()):
            reasons[reason] = os.path.relpath(codec, source)
    return reasons


def check_names(pages: list[Page], source: Path, full: bool, failures: Failures) -> dict[str, int]:
    metrics = code_metrics(source)
    ignore = non_metric_identifiers(source)
    mentioned: set[str] = set()
    for page in pages:
        for line_no, line in page.prose + [(b.line + 1 + k, l) for b in page.blocks for k, l in enumerate(b.lines)]:
            for m in re.finditer(r"\bremora_[a-z0-9_]*[a-z0-9]\b", line):
                name = m.group(0)
                if line[m.end():m.end() + 1] in ("*", "_") or name in ignore:
                    continue
                base = re.sub(r"_(bucket|sum|count)$", "", name)
                mentioned.add(name)
                if name not in metrics and base not in metrics:
                    failures.add(f"{page.rel}:{line_no}", f"metric {name} is not declared in the code")
    stats = {"metrics in code": len(metrics), "metric mentions": len(mentioned)}
    reasons = local_reply_reasons(source)
    stats["x-remora-error reasons"] = len(reasons)
    if not full:
        return stats
    listed = ""
    for rel in ("docs/observability.md", "docs/control-plane.md"):
        listed += (source / rel).read_text()
    for name, where in sorted(metrics.items()):
        if not re.search(r"\b" + re.escape(name) + r"\b", listed):
            failures.add(where, f"metric {name} is not listed in docs/observability.md or docs/control-plane.md")
    trouble = (source / "docs/troubleshooting.md").read_text()
    for reason, where in sorted(reasons.items()):
        if f"`{reason}`" not in trouble:
            failures.add(where, f"x-remora-error reason {reason} is not in docs/troubleshooting.md")
    # Span attributes and access-log keys are API too.
    observability = (source / "docs/observability.md").read_text()
    tracer = "proxy/observability/tracing/tracer.cc"
    attributes = set(re.findall(r"\b(?:add|addIfSet)\(\"([a-z_.]+)\"", (source / tracer).read_text()))
    for attribute in sorted(attributes):
        if f"`{attribute}`" not in observability:
            failures.add(tracer, f"span attribute {attribute} is not in docs/observability.md")
    bootstrap_doc = (source / "docs/config/bootstrap.md").read_text()
    formatter = "proxy/observability/access_log/access_log_formatter.cc"
    keys = set(re.findall(r"append(?:Key|JsonField|JsonNumber)\(out, \"(\w+)\"", (source / formatter).read_text()))
    for key in sorted(keys):
        if f"`{key}`" not in bootstrap_doc:
            failures.add(formatter, f"access log key {key} is not in docs/config/bootstrap.md")
    stats["span attributes"] = len(attributes)
    stats["access log keys"] = len(keys)
    # And the other way: every reason a table lists exists.
    header = None
    for k, line in enumerate(trouble.splitlines(), 1):
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if header is None:
            header = cells[0]
            continue
        if header in ("`x-remora-error`", "reason") and not set(cells[0]) <= set("-: "):
            for reason in re.findall(r"`([a-z0-9_]+)`", cells[0]):
                if reason not in reasons:
                    failures.add(f"docs/troubleshooting.md:{k}", f"reason {reason} is not sent by the proxy code")
    return stats


def all_commands(help_db: HelpDb) -> list[tuple[str, tuple[str, ...], CommandSpec]]:
    found = []
    for binary in BINARIES:
        todo: list[tuple[str, ...]] = [()]
        while todo:
            path = todo.pop(0)
            spec = help_db.get(binary, path)
            found.append((binary, path, spec))
            todo += [path + (sub,) for sub in sorted(spec.subcommands)]
    return found


def check_flag_tables(page: Page, help_db: HelpDb, failures: Failures) -> int:
    """A table whose first column is `flag` documents one command's flags: each
    must exist in that command, and a default the table gives in backticks must
    be the one --help shows."""
    n = 0
    commands = all_commands(help_db)
    for table in page.tables:
        if len(table) < 2 or table[0][1][0] != "flag":
            continue
        rows = [(line_no, cells, [span.split()[0] for span in re.findall(r"`([^`]+)`", cells[0])
                                  if span.startswith("-")]) for line_no, cells in table[1:]]
        flags = {f for _, _, fl in rows for f in fl}
        owners = [(b, p, spec) for b, p, spec in commands if flags <= set(spec.options)]
        if not owners:
            everything = {f for _, _, spec in commands for f in spec.options}
            best = max(commands, key=lambda c: len(flags & set(c[2].options)))
            for line_no, _, fl in rows:
                for flag in fl:
                    if flag not in set(best[2].options):
                        failures.add(f"{page.rel}:{line_no}",
                                     f"{flag} is not a flag of `{' '.join((best[0],) + best[1])}`"
                                     + ("" if flag in everything else " (nor of any other command)"))
            continue
        for line_no, cells, fl in rows:
            n += len(fl)
            documented = re.findall(r"`([^`]+)`", cells[1]) if len(cells) > 1 else []
            for flag in fl:
                defaults = {spec.options[flag].default for _, _, spec in owners} - {None}
                if defaults and documented and not defaults & set(documented):
                    failures.add(f"{page.rel}:{line_no}", f"default of {flag} is {' or '.join(sorted(defaults))} "
                                 f"in `{' '.join((owners[0][0],) + owners[0][1])} --help`, the table says "
                                 f"{', '.join(documented)}")
    return n


def check_flag_coverage(pages: list[Page], help_db: HelpDb, failures: Failures) -> int:
    """Every flag of every (sub)command is named somewhere in the docs (by one of its names)."""
    text = "\n".join(p.text for p in pages)
    n = 0
    for binary, path, spec in all_commands(help_db):
        aliases: dict[int, list[str]] = {}
        for name, option in spec.options.items():
            aliases.setdefault(id(option), []).append(name)
        for names in aliases.values():
            if set(names) & {"-h", "--help", "--version"}:
                continue
            n += 1
            if not any(re.search(r"(?<![\w-])" + re.escape(name) + r"(?![\w-])", text) for name in names):
                failures.add(" ".join((binary,) + path), f"flag {'/'.join(sorted(names))} is not in any doc page")
    return n


# --------------------------------------------------------------- links (e) --

def check_prose_paths(page: Page, source: Path, failures: Failures) -> int:
    """`examples/demo/mesh.yaml` in prose: the file must exist. Decision
    records are history: the paths they name may have moved since."""
    n = 0
    if page.rel.startswith("docs/decisions/"):
        return 0
    for line_no, line in page.prose:
        for span in re.findall(r"`([^`\s]+)`", line):
            if not span.startswith(REPO_DIRS) or not re.fullmatch(r"[\w./-]+", span):
                continue
            n += 1
            if (source / span).exists() or (page.path.parent / span).exists():
                continue
            if not re.search(r"(^|[/-])(?!README)[A-Z]{2,}", span):  # not a placeholder like NNN-title.md
                failures.add(f"{page.rel}:{line_no}", f"{span} does not exist")
    return n


def check_links(page: Page, pages_by_path: dict[Path, Page], failures: Failures) -> int:
    n = 0
    for line_no, line in page.prose:
        line = re.sub(r"`[^`]*`", "", line)
        for target in re.findall(r"\]\(([^)\s]+)\)", line):
            if re.match(r"^[a-z]+:", target):
                continue
            n += 1
            file_part, _, anchor = target.partition("#")
            dest = (page.path.parent / file_part).resolve() if file_part else page.path.resolve()
            if not dest.exists():
                failures.add(f"{page.rel}:{line_no}", f"link target {file_part} does not exist")
                continue
            if anchor and dest.suffix == ".md":
                other = pages_by_path.get(dest)
                if other is None:
                    continue
                if anchor not in other.headings:
                    failures.add(f"{page.rel}:{line_no}", f"link {target}: no heading #{anchor} in {other.rel}")
    return n


# -------------------------------------------------------------------- main --

def default_pages(source: Path) -> list[Path]:
    pages = [source / "README.md"]
    pages += sorted(Path(p) for p in glob.glob(str(source / "docs/**/*.md"), recursive=True))
    pages += sorted(Path(p) for p in glob.glob(str(source / "examples/**/README.md"), recursive=True)
                    if "node_modules" not in p)
    return pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default=os.environ.get("REMORA_SOURCE_DIR"), help="the repository")
    parser.add_argument("--build", default=os.environ.get("REMORA_BUILD_DIR"), help="the build directory")
    parser.add_argument("--pages", nargs="*", help="check only these pages (no code-to-docs coverage checks)")
    args = parser.parse_args()
    if not args.source or not args.build:
        parser.error("--source and --build (or REMORA_SOURCE_DIR and REMORA_BUILD_DIR) are required")
    source, build = Path(args.source).resolve(), Path(args.build).resolve()
    for name, rel in BINARIES.items():
        if not (build / rel).exists():
            print(f"doc_check: {build / rel} is missing: build {name} first", file=sys.stderr)
            return 2
    started = time.monotonic()
    failures = Failures()
    full = not args.pages
    paths = [Path(p).resolve() for p in args.pages] if args.pages else default_pages(source)
    pages = []
    for p in paths:
        rel = os.path.relpath(p, source) if str(p).startswith(str(source) + os.sep) else str(p)
        pages.append(parse_page(p, rel, failures))
    pages_by_path = {p.path.resolve(): p for p in pages}
    help_db = HelpDb(build, source)
    root = Path(tempfile.mkdtemp(prefix="remora-doc-check-"))
    sandbox = Sandbox(build, root / "run", sidecar=True)
    object_cp = Sandbox(build, root / "objects", sidecar=False)
    try:
        check_script_forwards(source, failures)
        sandbox.start()
        object_cp.start()
        objects = ObjectChecker(object_cp, root, failures)
        bootstraps = 0
        for page in pages:
            workdir = root / ("page-" + re.sub(r"\W", "_", page.rel))
            workdir.mkdir()
            # Pages run from a checkout: build/ and the repository's directories are there.
            (workdir / "build").symlink_to(build)
            for d in REPO_DIRS:
                (workdir / d.rstrip("/")).symlink_to(source / d)
            runs: dict[str, list[Block]] = {}  # session -> its blocks, in page order
            for block in page.blocks:
                if "skip" in block.markers:
                    page.count("blocks skipped")
                    continue
                expect_error = "expect-error" in block.markers
                if block.lang in SHELL_LANGS:
                    for cmd in command_lines(block):
                        page.count("repo paths checked", check_paths(block, cmd, source, build, failures))
                        for inv in invocations(block, cmd):
                            check_invocation(inv, help_db, failures)
                            page.count("commands checked")
                if block.lang in ("yaml", "yml"):
                    docs = yaml_documents(block.lines)
                    if any(mesh_kind_of_yaml(d) for d in docs):
                        objects.apply(block, "\n".join(block.lines) + "\n", "yaml", expect_error)
                        page.count("object blocks applied")
                    elif docs and any(re.match(r"^scrape_configs:", l) for l in block.lines):
                        check_promtool(block, root, failures)
                        page.count("Prometheus configs checked")
                    elif docs and all(is_bootstrap(d) for d in docs):
                        bootstraps += 1
                        check_bootstrap(block, "\n".join(block.lines) + "\n", help_db, root, bootstraps,
                                        expect_error, failures)
                        page.count("bootstraps validated")
                if block.lang == "json":
                    objs = json_mesh_objects("\n".join(block.lines))
                    if objs is not None:
                        objects.apply(block, json.dumps(objs if len(objs) > 1 else objs[0]), "json", expect_error)
                        page.count("object blocks applied")
                if "run" in block.markers:
                    runs.setdefault(session_of(block) or f"block {block.line}", []).append(block)
                    page.count("blocks run")
            for blocks in runs.values():
                run_session(blocks, sandbox, workdir, failures)
                if len(blocks) > 1:
                    page.count("blocks run in one session", len(blocks))
            page.count("table flags checked", check_flag_tables(page, help_db, failures))
            for inv in inline_invocations(page, help_db):
                check_invocation(inv, help_db, failures)
                page.count("inline commands checked")
            page.count("links checked", check_links(page, pages_by_path, failures))
            page.count("repo paths checked", check_prose_paths(page, source, failures))
            sandbox.clear_mesh()
        names = check_names(pages, source, full, failures)
        if full:
            names["flags in --help"] = check_flag_coverage(pages, help_db, failures)
    except RuntimeError as e:
        print(f"doc_check: {e}", file=sys.stderr)
        return 2
    finally:
        object_cp.stop()
        sandbox.stop()
        shutil.rmtree(root, ignore_errors=True)
    for page in pages:
        summary = ", ".join(f"{v} {k}" for k, v in sorted(page.stats.items()) if v) or "nothing to check"
        print(f"{page.rel}: {summary}")
    print("names: " + ", ".join(f"{v} {k}" for k, v in names.items()))
    elapsed = time.monotonic() - started
    if failures.items:
        print(f"\n{len(failures.items)} failure(s):")
        for item in failures.items:
            print(item)
        print(f"\ndoc_check: FAILED in {elapsed:.1f} s")
        return 1
    print(f"doc_check: OK in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
