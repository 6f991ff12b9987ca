#!/usr/bin/env python3
"""Compiles and runs every C++ example of README.md: the test `readme_examples`.

Conventions for the README's code blocks:
  * A ```cpp block (fences at the start of a line) is compiled against the installed package
    (find_package(evlib), the compiler's default flags) and run. A ```cpp-no-compile block is only
    shown; keep those rare: an example nobody compiles is an example that rots.
  * A block that defines `int main` is compiled as it is. Any other block is a fragment: its
    #include lines stay at the top of the file, everything else becomes the body of main(), after
    #include <evlib/evlib.hpp> and the standard headers the README leaves implicit (PRELUDE).
    #line directives point compiler errors at README.md.
  * Each example runs in an empty directory of its own that holds the files it names: a quoted
    file name with a recording extension (EXTENSIONS) is created there first from a synthetic
    recording (`evlib generate`, then `evlib convert` for other formats), except the targets of
    Writer::create(), which the example must create itself. XDG_CACHE_HOME points inside that
    directory, so that index caches stay there.
  * An example passes when it compiles and then exits with status 0 within TIMEOUT seconds.

Usage: readme_examples.py --readme README.md --work DIR --cli EVLIB --cmake CMAKE -- CONFIGURE_ARGS...
(CONFIGURE_ARGS go to the configure step of the generated project: generator, compiler, prefix.)
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

PRELUDE = ["#include <evlib/evlib.hpp>", "", "#include <cstdint>", "#include <cstdio>", "#include <span>",
           "#include <string>", "#include <vector>"]
EXTENSIONS = ("raw", "dat", "h5", "hdf5", "aedat4", "aedat", "npy", "npz", "txt", "csv")
FILE_NAME = re.compile(r'"([^"\s/]+\.(?:%s))"' % "|".join(EXTENSIONS))
WRITER_TARGET = re.compile(r'Writer::create\(\s*"([^"]+)"')
HAS_MAIN = re.compile(r"\bint\s+main\s*\(")
# A synthetic recording of 20 s at 10 kev/s (the README's example windows fall inside it).
GENERATE = ["generate", "-q", "-n", "200000", "--rate", "10000", "--seed", "3"]
TIMEOUT = 120


class Example:
    def __init__(self, number, first_line, lines):
        self.number = number
        self.first_line = first_line  # README line of the block's first code line
        self.lines = lines
        self.name = "readme_example_%d" % number

    def where(self):
        return "README.md:%d" % self.first_line

    def source(self):
        """The C++ file to compile (see the module docstring)."""
        if any(HAS_MAIN.search(line) for line in self.lines):
            return "#line %d \"README.md\"\n%s\n" % (self.first_line, "\n".join(self.lines))
        includes = [line for line in self.lines if line.lstrip().startswith("#include")]
        # Hoisted includes leave empty lines behind, so that the body keeps its README line numbers.
        body = ["" if line.lstrip().startswith("#include") else line for line in self.lines]
        return "\n".join(PRELUDE + includes + [
            "",
            "int main() {",
            '#line %d "README.md"' % self.first_line,
        ] + body + ["  return 0;", "}", ""])

    def inputs(self):
        """The files the example reads: every file name it quotes, but what it writes."""
        text = "\n".join(self.lines)
        written = set(WRITER_TARGET.findall(text))
        return sorted(set(FILE_NAME.findall(text)) - written)


def examples_of(readme):
    examples, lines, first, kind = [], None, 0, None
    with open(readme, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            stripped = line.rstrip("\n")
            if lines is None:
                match = re.match(r"^```\s*(\S*)\s*$", stripped)
                if match:
                    kind, lines, first = match.group(1), [], number + 1
            elif re.match(r"^```\s*$", stripped):
                if kind == "cpp":
                    examples.append(Example(len(examples) + 1, first, lines))
                lines = None
            else:
                lines.append(stripped)
    if lines is not None:
        sys.exit("README.md:%d: code block never closed" % (first - 1))
    return examples


def run(command, **kwargs):
    print("+ " + " ".join(command), flush=True)
    return subprocess.run(command, **kwargs)


def generator_of(binary):
    with open(os.path.join(binary, "CMakeCache.txt")) as f:
        for line in f:
            if line.startswith("CMAKE_GENERATOR:"):
                return line.split("=", 1)[1].strip()
    return ""


def build(examples, readme, work, cmake, configure_args):
    src, binary = os.path.join(work, "src"), os.path.join(work, "build")
    os.makedirs(src)
    with open(os.path.join(src, "CMakeLists.txt"), "w") as f:
        f.write("cmake_minimum_required(VERSION 3.21)\nproject(readme_examples LANGUAGES CXX)\n"
                "find_package(evlib REQUIRED)\n")
        for e in examples:
            f.write("add_executable(%s %s.cpp)\ntarget_link_libraries(%s PRIVATE evlib::evlib)\n" % (e.name, e.name, e.name))
    for e in examples:
        # README.md beside the sources, so that #line "README.md" names a file that exists.
        with open(os.path.join(src, e.name + ".cpp"), "w") as f:
            f.write(e.source())
    shutil.copy(readme, os.path.join(src, "README.md"))
    if run([cmake, "-S", src, "-B", binary] + configure_args).returncode != 0:
        sys.exit("configuring the README examples against the installed package failed")
    # Every example is built even when one fails, so that one run reports all of them.
    keep_going = ["-k", "0"] if generator_of(binary) == "Ninja" else ["-k"]
    run([cmake, "--build", binary, "--"] + keep_going)
    return binary


def make_inputs(example, directory, base, cli):
    for name in example.inputs():
        path = os.path.join(directory, name)
        if name.endswith(".raw"):
            shutil.copy(base, path)
        elif run([cli, "convert", "-q", base, path]).returncode != 0:
            sys.exit("%s: cannot create %s for the example (evlib convert failed)" % (example.where(), name))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", required=True)
    parser.add_argument("--work", required=True, help="scratch directory (emptied first)")
    parser.add_argument("--cli", required=True, help="the evlib program, to make input files")
    parser.add_argument("--cmake", default="cmake")
    parser.add_argument("configure_args", nargs="*")
    args = parser.parse_args()
    examples = examples_of(args.readme)
    if not examples:
        sys.exit("%s has no ```cpp block: nothing would be checked" % args.readme)
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    binary = build(examples, args.readme, work, args.cmake, args.configure_args)
    base = os.path.join(work, "base.raw")
    if run([args.cli] + GENERATE + [base]).returncode != 0:
        sys.exit("evlib generate failed")
    failed = []
    for e in examples:
        exe = os.path.join(binary, e.name)
        if not os.path.exists(exe):
            failed.append("%s: the example does not compile" % e.where())
            continue
        directory = os.path.join(work, "run", e.name)
        os.makedirs(directory)
        make_inputs(e, directory, base, args.cli)
        env = dict(os.environ, XDG_CACHE_HOME=os.path.join(directory, "cache"))
        try:
            status = run([exe], cwd=directory, env=env, timeout=TIMEOUT).returncode
        except subprocess.TimeoutExpired:
            status = "a timeout after %d s" % TIMEOUT
        if status != 0:
            failed.append("%s: the example ended with %s" % (e.where(), status))
    for message in failed:
        print(message, file=sys.stderr)
    print("%d of %d README examples compiled and ran" % (len(examples) - len(failed), len(examples)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
