#!/usr/bin/python3
"""Generates the C kernel-ABI header of the liburing compat layer from syscalls/abi.h.

syscalls/abi.h is the one source of truth for the io_uring kernel ABI: a C++
restatement of Linux 6.18's include/uapi/linux/io_uring.h (and of the
ring-less query interface, linux/io_uring/query.h). C programs written against
liburing need the same ABI in C, spelled the kernel's way. This script reads
abi.h and writes uring/liburing/liburing/io_uring.h, which is committed and
never edited by hand.

Run it from the repository root after every change to syscalls/abi.h:

    python3 uring/liburing/gen_io_uring_h.py

It also writes the two halves of the equality check that
tests/compat/abi/ builds (each half includes only one of the two headers):

    python3 uring/liburing/gen_io_uring_h.py --check-c OUT.c
    python3 uring/liburing/gen_io_uring_h.py --check-cc OUT.cc

and takes --abi PATH / --out PATH to read or write somewhere else
(tests/compat/abi/ regenerates into a scratch file and compares).

How it works: abi.h is read line by line with a small grammar that knows
exactly the constructs abi.h uses (comments, `inline constexpr` constants,
enums with an underlying type, structs with anonymous unions/structs, and
static_asserts). Anything it does not recognise stops the script with the
line number, so a new construct in abi.h cannot be dropped silently. The
name/version tables at the end of abi.h are our own and are skipped. What
abi.h deliberately spells differently from the kernel (its header comment
lists it) is turned back into the kernel's spelling here: see the tables
under "How the kernel spells what abi.h restates differently" below (each
entry must still match abi.h, or the script stops), and the comment the
generated header starts with.
"""

import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_ABI = os.path.join(ROOT, "syscalls", "abi.h")
DEFAULT_OUT = os.path.join(ROOT, "uring", "liburing", "liburing", "io_uring.h")
COMMAND = "python3 uring/liburing/gen_io_uring_h.py"

# ---------------------------------------------------------------------------
# How the kernel spells what abi.h restates differently. Every entry must
# match something in abi.h, or the script stops (so a stale entry is noticed).
# ---------------------------------------------------------------------------

# abi.h's own names for types of other uapi headers -> the kernel's C type.
TYPE_NAMES = {
    "kernel_timespec": "struct __kernel_timespec",  # <linux/time_types.h>
    "open_how": "struct open_how",  # <linux/openat2.h>
}
# Structs abi.h defines that C takes from the system header instead.
FROM_SYSTEM_HEADERS = {"kernel_timespec", "open_how"}

# Constants abi.h has as typed constants but the kernel defines as members
# of an anonymous enum. Each inner list is one `enum { ... };` of the kernel.
ANONYMOUS_ENUMS = [
    ["IORING_MEM_REGION_TYPE_USER"],
    ["IORING_MEM_REGION_REG_WAIT_ARG"],
    ["IORING_REGISTER_SRC_REGISTERED", "IORING_REGISTER_DST_REPLACE"],
    ["IORING_REG_WAIT_TS"],
    ["IO_URING_QUERY_OPCODES"],
]

# Constants that are enumerators of enum io_uring_op in the kernel that has
# them (6.19), but that abi.h keeps outside its enum so that IORING_OP_LAST
# stays 6.18's. C gets them as macros.
MACROS_FOR_ENUMERATORS = ["IORING_OP_NOP128", "IORING_OP_URING_CMD128"]

# abi.h's additions that are not part of the kernel's ABI.
OUR_CONSTANTS = {"kNamedOps"}

# Trailing arrays: (struct, member) -> how the kernel declares the member.
#   "[0]"  zero-length array, as in abi.h
#   "[]"   C99 flexible array member
#   "flex" what the kernel's __DECLARE_FLEX_ARRAY(type, name) expands to: a
#          flexible array inside a union needs an anonymous struct around
#          it with an empty struct before it in C, and is a zero-length
#          array in C++. Spelled out here because <linux/stddef.h> before
#          Linux 6.6 (Debian 12 has 6.1) lacks the C++ case, and in C++ its
#          empty struct takes a byte: bufs lands at offset 8, not 0.
TRAILING_ARRAYS = {
    ("io_uring_sqe", "cmd"): "[0]",
    ("io_uring_probe", "ops"): "[]",
    ("io_uring_buf_ring", "bufs"): "flex",
}

# Members the kernel has and abi.h cannot have (a flexible array member
# cannot be embedded in another struct in C++): (struct, after member) ->
# C declaration and the C++ expression of its offset for the equality check.
EXTRA_MEMBERS = {
    ("io_uring_cqe", "flags"): (
        "__u64 big_cqe[];",
        "big_cqe",
        "/* CQE32 rings (and IORING_CQE_F_32 entries): 16 more bytes */",
        "sizeof(io_uring_cqe)",
    ),
}

# Struct comments of abi.h that would be wrong in C (they point at abi.h's
# own differences); the C header says this instead.
C_COMMENTS = {
    "io_uring_cqe": ["One completion, 16 bytes. On IORING_SETUP_CQE32 rings, and for CQEs",
                     "flagged IORING_CQE_F_32 on IORING_SETUP_CQE_MIXED rings, 16 more",
                     "bytes follow: big_cqe[0] and big_cqe[1]."],
}

# Comment lines of abi.h that point at its own tables; the C header has
# them without that part. Exact text of the line -> what C says.
COMMENT_LINES = {
    "io_uring_params::features. Versions are in feature_flags[] below.": "io_uring_params::features.",
}

# Unions the kernel declares __attribute__((packed)) (for the old ARM OABI),
# named by their first member.
PACKED_UNIONS = {("io_uring_sqe", "buf_index")}

# Sections that are a separate header in the kernel; they get that header's
# include guard too, so including both does not redefine them.
SEPARATE_HEADERS = {"linux/io_uring/query.h": "LINUX_IO_URING_QUERY_H"}

# Where abi.h's kernel part ends (the name/version tables are ours) and where
# its layout checks start.
TABLES_BANNER = "Names and first kernel versions"
CHECKS_BANNER = "Layout checks against the kernel"


class AbiError(Exception):
    pass


# ---------------------------------------------------------------------------
# Reading abi.h
# ---------------------------------------------------------------------------

INT_TYPES = {
    "std::uint8_t": "__u8",
    "std::uint16_t": "__u16",
    "std::uint32_t": "__u32",
    "std::uint64_t": "__u64",
    "std::int8_t": "__s8",
    "std::int16_t": "__s16",
    "std::int32_t": "__s32",
    "std::int64_t": "__s64",
    "long long": "long long",
}

RE_BANNER = re.compile(r"^// -{20,}$")
RE_COMMENT = re.compile(r"^\s*//(.*)$")
RE_CONST = re.compile(
    r"^inline constexpr (std::u?int\d+_t|unsigned) (\w+) = (.+?);(?:\s*//\s*(.*))?$")
RE_ENUM_OPEN = re.compile(r"^enum (\w+) : (std::u?int\d+_t) \{$")
RE_ENUMERATOR = re.compile(r"^\s+(\w+)(?:\s*=\s*([^,]+?))?,(?:\s*//\s*(.*))?$")
RE_STRUCT_OPEN = re.compile(r"^struct (\w+) \{$")
RE_AGG_OPEN = re.compile(r"^\s+(union|struct) \{(?:\s*//\s*(.*))?$")
RE_AGG_CLOSE = re.compile(r"^\s+\};$")
RE_FIELD = re.compile(
    r"^\s+(alignas\(8\) )?(std::u?int\d+_t|long long|\w+) (\w+)(\[(\w*)\])?;(?:\s*//\s*(.*))?$")
RE_ASSERT = re.compile(
    r"^static_assert\((sizeof|offsetof)\((\w+)(?:, (\w+))?\) == (\d+)(?:, \"[^\"]*\")?\);(?:\s*//.*)?$")


class Field:
    def __init__(self, ctype, name, array, comment, aligned):
        self.ctype = ctype  # abi.h's type spelling
        self.name = name
        self.array = array  # None, or the text between the brackets
        self.comment = comment
        self.aligned = aligned


class Aggregate:
    """A struct or (anonymous) union; members are Fields or Aggregates."""

    def __init__(self, kind, name, comment=None):
        self.kind = kind
        self.name = name  # None for anonymous members
        self.comment = comment
        self.members = []  # Field | Aggregate | ("blank",) | ("comment", [lines])

    def fields(self):
        """Every named field, anonymous members flattened."""
        for m in self.members:
            if isinstance(m, Field):
                yield m
            elif isinstance(m, Aggregate):
                yield from m.fields()

    def first_field(self):
        return next(self.fields())


class Abi:
    def __init__(self):
        self.items = []  # top-level items in abi.h's order
        self.asserts = []  # (kind, struct, member, value)

    def constants(self):
        for it in self.items:
            if it[0] == "const" and it[2] not in OUR_CONSTANTS:
                yield it[2]
            elif it[0] == "enum":
                for e in it[3]:
                    if e[0] == "enumerator":
                        yield e[1]

    def structs(self):
        for it in self.items:
            if it[0] == "struct":
                yield it[1]


def parse(path):
    with open(path) as f:
        lines = f.read().split("\n")
    abi = Abi()
    abi.text = "\n".join(lines)
    i = 0
    n = len(lines)

    def fail(msg):
        raise AbiError("%s:%d: %s: %r" % (path, i + 1, msg, lines[i] if i < n else ""))

    # Skip the file's header comment and preamble up to the namespace.
    while i < n and lines[i] != "namespace uring::abi {":
        i += 1
    if i == n:
        fail("no `namespace uring::abi {`")
    i += 1

    pending = []  # comment lines waiting for the item they describe
    section = "kernel"  # kernel -> tables -> checks
    while i < n:
        line = lines[i]
        if line == "}  // namespace uring::abi":
            break
        if RE_BANNER.match(line):
            # A section banner: // ----, // Title (several lines), // ----
            j = i + 1
            title = []
            while j < n and not RE_BANNER.match(lines[j]):
                m = RE_COMMENT.match(lines[j])
                if not m:
                    fail("unterminated section banner")
                title.append(m.group(1).strip())
                j += 1
            text = " ".join(title)
            if text.startswith(TABLES_BANNER):
                section = "tables"
            elif text.startswith(CHECKS_BANNER):
                section = "checks"
            elif section == "kernel":
                abi.items.append(("banner", title))
            pending = []
            i = j + 1
            continue
        if section == "tables":
            i += 1
            continue
        if section == "checks":
            if line.strip() == "" or RE_COMMENT.match(line):
                i += 1
                continue
            m = RE_ASSERT.match(line)
            if not m:
                fail("not a layout check this script understands")
            abi.asserts.append((m.group(1), m.group(2), m.group(3), int(m.group(4))))
            i += 1
            continue

        # The kernel part.
        if line.strip() == "":
            if pending:
                abi.items.append(("comment", pending))
                pending = []
            abi.items.append(("blank",))
            i += 1
            continue
        m = RE_COMMENT.match(line)
        if m and not line.startswith(" "):
            pending.append(m.group(1)[1:] if m.group(1).startswith(" ") else m.group(1))
            i += 1
            continue
        m = RE_CONST.match(line)
        if m:
            abi.items.append(("const", m.group(1), m.group(2), m.group(3), m.group(4), pending))
            pending = []
            i += 1
            continue
        m = RE_ENUM_OPEN.match(line)
        if m:
            name, entries = m.group(1), []
            i += 1
            while i < n and lines[i] != "};":
                l = lines[i]
                if l.strip() == "":
                    entries.append(("blank",))
                elif RE_COMMENT.match(l):
                    entries.append(("comment", RE_COMMENT.match(l).group(1).strip()))
                else:
                    e = RE_ENUMERATOR.match(l)
                    if not e:
                        fail("not an enumerator this script understands")
                    entries.append(("enumerator", e.group(1), e.group(2), e.group(3)))
                i += 1
            if i == n:
                fail("unterminated enum")
            abi.items.append(("enum", name, m.group(2), entries, pending))
            pending = []
            i += 1
            continue
        m = RE_STRUCT_OPEN.match(line)
        if m:
            top = Aggregate("struct", m.group(1), pending)
            pending = []
            stack = [top]
            i += 1
            while True:
                if i == n:
                    fail("unterminated struct")
                l = lines[i]
                if l == "};":
                    if len(stack) != 1:
                        fail("unbalanced braces")
                    break
                a = RE_AGG_OPEN.match(l)
                f = RE_FIELD.match(l)
                if a:
                    agg = Aggregate(a.group(1), None, a.group(2))
                    stack[-1].members.append(agg)
                    stack.append(agg)
                elif RE_AGG_CLOSE.match(l):
                    if len(stack) == 1:
                        fail("unbalanced braces")
                    stack.pop()
                elif l.strip() == "":
                    stack[-1].members.append(("blank",))
                elif RE_COMMENT.match(l):
                    stack[-1].members.append(("comment", RE_COMMENT.match(l).group(1).strip()))
                elif f:
                    if f.group(2) not in INT_TYPES and not any(
                            it[0] == "struct" and it[1] == f.group(2) for it in abi.items):
                        fail("member of a type this script does not know")
                    stack[-1].members.append(
                        Field(f.group(2), f.group(3), f.group(5) if f.group(4) else None,
                              f.group(6), bool(f.group(1))))
                else:
                    fail("not a struct member this script understands")
                i += 1
            abi.items.append(("struct", top.name, top))
            i += 1
            continue
        fail("not a construct this script understands")
    else:
        fail("no end of namespace uring::abi")
    return abi


# ---------------------------------------------------------------------------
# Writing C
# ---------------------------------------------------------------------------

def c_type(t):
    if t in INT_TYPES:
        return INT_TYPES[t]
    return TYPE_NAMES.get(t, "struct " + t)


def c_struct_name(s):
    return TYPE_NAMES.get(s, "struct " + s)


def c_expr(expr):
    """A constant's initializer in C, parenthesised like the kernel's macros."""
    e = re.sub(r"std::(u?)int(\d+)_t\{(\w+)\}",
               lambda m: "(__%s%s)%s" % ("u" if m.group(1) else "s", m.group(2), m.group(3)), expr)
    if "std::" in e or "{" in e:
        raise AbiError("constant expression this script cannot translate: %r" % expr)
    if re.fullmatch(r"\w+", e):
        return e
    return "(" + e + ")"


def c_comment_block(lines, indent=""):
    lines = [COMMENT_LINES.get(l.rstrip(), l.rstrip()) for l in lines]
    if len(lines) == 1:
        return [indent + "/* " + lines[0] + " */"]
    out = [indent + "/*"]
    out += [(indent + " * " + l).rstrip() for l in lines]
    out.append(indent + " */")
    return out


def trailing(comment):
    return "  /* " + comment + " */" if comment else ""


def align_comments(lines):
    """Lines of a struct or enum body: line up their trailing /* */ comments."""
    parts = []
    for l in lines:
        m = re.match(r"^(.*?;|.*?,|.*?\{)  (/\* .* \*/)$", l)
        parts.append((m.group(1), m.group(2)) if m else (l, None))
    width = max([len(p[0].expandtabs(8)) for p in parts if p[1]] or [0])
    return [p[0] + " " * (width - len(p[0].expandtabs(8)) + 2) + p[1] if p[1] else p[0]
            for p in parts]


def emit_aggregate(agg, struct_name, indent, out):
    out.extend(emit_members(agg, struct_name, indent))


def emit_members(agg, struct_name, indent):
    """The body of a struct or union; each level's comments are lined up."""
    own = []  # lines of this level, aligned together
    done = []  # (position in own, already formatted lines of a nested aggregate)
    for m in agg.members:
        if m == ("blank",):
            own.append("")
        elif isinstance(m, tuple) and m[0] == "comment":
            own.append(indent + "/* " + m[1] + " */")
        elif isinstance(m, Aggregate):
            own.append(indent + m.kind + " {" + trailing(m.comment))
            done.append((len(own), emit_members(m, struct_name, indent + "\t")))
            packed = (struct_name, m.first_field().name) in PACKED_UNIONS
            own.append(indent + ("} __attribute__((packed));" if packed else "};"))
        else:
            own.extend(emit_field(m, struct_name, indent))
            extra = EXTRA_MEMBERS.get((struct_name, m.name))
            if extra:
                own.append(indent + extra[0] + "  " + extra[2])
    own = align_comments(own)
    for pos, lines in reversed(done):
        own[pos:pos] = lines
    return own


def emit_field(f, struct_name, indent):
    if f.aligned:
        if f.ctype != "std::uint64_t":
            raise AbiError("alignas(8) on %s::%s, which is not a u64" % (struct_name, f.name))
        t = "__aligned_u64"
    else:
        t = c_type(f.ctype)
    if f.array is None:
        return [indent + "%s %s;%s" % (t, f.name, trailing(f.comment))]
    if f.array != "0":
        return [indent + "%s %s[%s];%s" % (t, f.name, f.array, trailing(f.comment))]
    form = TRAILING_ARRAYS.get((struct_name, f.name))
    if form is None:
        raise AbiError("%s::%s is a zero-length array missing from TRAILING_ARRAYS" % (struct_name, f.name))
    if form == "[0]":
        return [indent + "%s %s[0];%s" % (t, f.name, trailing(f.comment))]
    if form == "[]":
        return [indent + "%s %s[];%s" % (t, f.name, trailing(f.comment))]
    return ["#ifdef __cplusplus",
            indent + "%s %s[0];%s" % (t, f.name, trailing(f.comment)),
            "#else",
            indent + "struct { struct { } __empty_%s; %s %s[]; };%s" % (f.name, t, f.name, trailing(f.comment)),
            "#endif"]


def check_tables(abi):
    """Every table entry above must still name something in abi.h."""
    consts = {it[2] for it in abi.items if it[0] == "const"}
    structs = {it[1]: it[2] for it in abi.items if it[0] == "struct"}
    for group in ANONYMOUS_ENUMS:
        for name in group:
            if name not in consts:
                raise AbiError("ANONYMOUS_ENUMS names %s, which abi.h no longer has" % name)
    for name in MACROS_FOR_ENUMERATORS + sorted(OUR_CONSTANTS):
        if name not in consts:
            raise AbiError("%s is listed here but abi.h no longer has it" % name)
    for s in FROM_SYSTEM_HEADERS:
        if s not in structs:
            raise AbiError("FROM_SYSTEM_HEADERS names %s, which abi.h no longer has" % s)
    for line in COMMENT_LINES:
        if "// " + line not in abi.text:
            raise AbiError("COMMENT_LINES has %r, which abi.h no longer says" % line)
    for s in C_COMMENTS:
        if s not in structs:
            raise AbiError("C_COMMENTS names %s, which abi.h no longer has" % s)
    for (s, f) in list(TRAILING_ARRAYS) + list(EXTRA_MEMBERS) + list(PACKED_UNIONS):
        if s not in structs or f not in {x.name for x in structs[s].fields()}:
            raise AbiError("%s::%s is listed here but abi.h no longer has it" % (s, f))
    for it in abi.items:
        if it[0] == "const" and it[2] not in OUR_CONSTANTS and it[2].startswith("k"):
            raise AbiError("%s looks like our own addition; list it in OUR_CONSTANTS or rename it" % it[2])


HEADER_COMMENT = """\
/*
 * The io_uring kernel ABI in C: Linux 6.18's include/uapi/linux/io_uring.h
 * (and the structs of linux/io_uring/query.h), as syscalls/abi.h restates it,
 * with the kernel's names, types and include guard, so that C programs and
 * the liburing compat layer get what they would get from the kernel's header,
 * and a program that also includes <linux/io_uring.h> gets each name once.
 *
 * Where this differs from the kernel's header:
 *  - Only what syscalls/abi.h has is here (no newer names, no deprecated
 *    aliases it leaves out); the layout checks at the end are ours.
 *  - %(macros)s
 *    are macros here; the kernel that has them makes them enumerators of
 *    enum io_uring_op (abi.h keeps 6.18's IORING_OP_LAST).
 *  - The checks need GNU C or C++: like the kernel's header this uses
 *    zero-length arrays, an enumerator above INT_MAX and an empty struct
 *    (__DECLARE_FLEX_ARRAY's), so -std=c11 -pedantic-errors refuses it.
 */"""


def section_items(items, k):
    """The items after the banner at items[k], up to the next banner."""
    out = []
    for x in items[k + 1:]:
        if x[0] == "banner":
            break
        out.append(x)
    return out


def emit_header(abi):
    check_tables(abi)
    anon_of = {}
    for group in ANONYMOUS_ENUMS:
        for name in group:
            anon_of[name] = group
    out = []
    out.append("/* GENERATED from syscalls/abi.h by `%s`: do not edit; change syscalls/abi.h and rerun it. */" % COMMAND)
    out.extend((HEADER_COMMENT % {"macros": ", ".join(MACROS_FOR_ENUMERATORS)}).split("\n"))
    out += [
        "#ifndef LINUX_IO_URING_H",
        "#define LINUX_IO_URING_H",
        "",
        "#include <linux/fs.h>",
        "#include <linux/types.h>",
        "#include <linux/time_types.h> /* struct __kernel_timespec */",
        "#include <linux/openat2.h>    /* struct open_how */",
        "#include <stddef.h>           /* offsetof, for the checks at the end */",
        "",
        "#ifdef __cplusplus",
        'extern "C" {',
        "#endif",
    ]

    guard = None  # the separate header's guard we are inside of
    items = abi.items
    k = 0
    skip_comment_for = set(FROM_SYSTEM_HEADERS)
    while k < len(items):
        it = items[k]
        kind = it[0]
        if kind == "banner":
            # A section with nothing left in C (its structs come from the
            # system headers) loses its banner too.
            if all(x[0] in ("blank", "comment") or
                   (x[0] == "struct" and x[1] in FROM_SYSTEM_HEADERS)
                   for x in section_items(items, k)):
                k += 1
                continue
            if guard:
                out += ["", "#endif /* %s */" % guard]
                guard = None
            out.append("")
            out.extend(c_comment_block(["-" * 72] + it[1] + ["-" * 72]))
            text = " ".join(it[1])
            for hdr, g in SEPARATE_HEADERS.items():
                if hdr in text:
                    guard = g
                    out += ["#ifndef " + g, "#define " + g]
        elif kind == "blank":
            if out and out[-1] != "" and not out[-1].startswith("#ifndef"):
                out.append("")
        elif kind == "comment":
            out.extend(c_comment_block(it[1]))
        elif kind == "const":
            _, t, name, expr, comment, lead = it
            if name in OUR_CONSTANTS:
                # Drop it and its comment.
                while out and out[-1] != "":
                    out.pop()
                k += 1
                continue
            out.extend(c_comment_block(lead)) if lead else None
            if name in anon_of:
                group = anon_of[name]
                out.append("enum {")
                body = []
                for gname in group:
                    if items[k][0] != "const" or items[k][2] != gname:
                        raise AbiError("ANONYMOUS_ENUMS group %s is not consecutive in abi.h" % group)
                    _, _, _, gexpr, gcomment, glead = items[k]
                    if glead and gname != name:
                        body.extend(c_comment_block(glead, "\t"))
                    body.append("\t%s = %s,%s" % (gname, c_expr(gexpr), trailing(gcomment)))
                    k += 1
                out.extend(align_comments(body))
                out.append("};")
                continue
            # Consecutive #defines are aligned as one block.
            block = [(name, c_expr(expr), comment)]
            while k + 1 < len(items) and items[k + 1][0] == "const" and not items[k + 1][5] \
                    and items[k + 1][2] not in anon_of and items[k + 1][2] not in OUR_CONSTANTS:
                k += 1
                block.append((items[k][2], c_expr(items[k][3]), items[k][4]))
            width = max(len(b[0]) for b in block)
            vwidth = max([len(b[1]) for b in block if b[2]] or [0])
            for bname, bval, bcomment in block:
                if bcomment:
                    out.append("#define %s %s%s" % (bname.ljust(width), bval.ljust(vwidth), trailing(bcomment)))
                else:
                    out.append("#define %s %s" % (bname.ljust(width), bval))
        elif kind == "enum":
            _, name, _underlying, entries, lead = it
            out.extend(c_comment_block(lead)) if lead else None
            out.append("enum %s {" % name)
            body = []
            for e in entries:
                if e[0] == "blank":
                    body.append("")
                elif e[0] == "comment":
                    # Consecutive comment lines become one block.
                    if body and body[-1].startswith("\t/* ") and body[-1].endswith(" */") \
                            and not body[-1].startswith("\t/* -"):
                        body[-1] = body[-1][:-3] + "\n\t * " + e[1] + " */"
                    else:
                        body.append("\t/* %s */" % e[1])
                else:
                    _, ename, evalue, ecomment = e
                    text = ename if evalue is None else "%s = %s" % (ename, evalue)
                    body.append("\t%s,%s" % (text, trailing(ecomment)))
            out.extend(align_comments(body))
            out.append("};")
        elif kind == "struct":
            _, name, agg = it
            if name in skip_comment_for:
                # Taken from the system header; its comment goes too.
                while out and out[-1] != "":
                    out.pop()
                k += 1
                continue
            comment = C_COMMENTS.get(name, agg.comment)
            out.extend(c_comment_block(comment)) if comment else None
            out.append("struct %s {" % name)
            emit_aggregate(agg, name, "\t", out)
            out.append("};")
        k += 1
    if guard:
        out += ["", "#endif /* %s */" % guard]

    out += [
        "",
        "/* Layout checks (the same on every 64-bit ABI). */",
        "#ifdef __cplusplus",
        "#define __IO_URING_ABI_CHECK(expr) static_assert(expr, #expr)",
        "#else",
        "#define __IO_URING_ABI_CHECK(expr) _Static_assert(expr, #expr)",
        "#endif",
    ]
    last = None
    for kind, s, member, value in abi.asserts:
        if last is not None and s != last:
            out.append("")
        last = s
        if kind == "sizeof":
            out.append("__IO_URING_ABI_CHECK(sizeof(%s) == %d);" % (c_struct_name(s), value))
        else:
            out.append("__IO_URING_ABI_CHECK(offsetof(%s, %s) == %d);" % (c_struct_name(s), member, value))
    for (s, after), extra in EXTRA_MEMBERS.items():
        out.append("__IO_URING_ABI_CHECK(offsetof(%s, %s) == sizeof(%s));" % (
            c_struct_name(s), extra[1], c_struct_name(s)))
    out += [
        "#undef __IO_URING_ABI_CHECK",
        "",
        "#ifdef __cplusplus",
        "}",
        "#endif",
        "",
        "#endif /* LINUX_IO_URING_H */",
    ]
    # Collapse runs of blank lines.
    text = []
    for l in out:
        if l == "" and text and text[-1] == "":
            continue
        text.append(l)
    return "\n".join(text) + "\n"


# ---------------------------------------------------------------------------
# The equality check: one C and one C++ translation unit, each recording the
# same names (every constant's value; every struct's size; every member's
# offset and size) from its own header. tests/compat/abi/ links them together
# and compares.
# ---------------------------------------------------------------------------

def records(abi):
    """(key, kind, struct, member) for every fact both sides must agree on."""
    recs = []
    for name in abi.constants():
        recs.append((name, "const", None, name))
    for it in abi.items:
        if it[0] != "struct":
            continue
        s, agg = it[1], it[2]
        recs.append(("sizeof(%s)" % s, "sizeof", s, None))
        for f in agg.fields():
            recs.append(("offsetof(%s, %s)" % (s, f.name), "offsetof", s, f.name))
            if f.array != "0":  # a trailing array has no size to compare
                recs.append(("sizeof(%s::%s)" % (s, f.name), "membersize", s, f.name))
        for (es, after), extra in EXTRA_MEMBERS.items():
            if es == s:
                recs.append(("offsetof(%s, %s)" % (s, extra[1]), "extra", s, extra))
    return recs


CHECK_PREAMBLE = """\
/* GENERATED by `%s %s`; see tests/compat/abi/. */
"""


def emit_check(abi, lang):
    out = []
    if lang == "c":
        out.append(CHECK_PREAMBLE % (COMMAND, "--check-c"))
        out += ["#include <linux/types.h>", '#include "liburing/io_uring.h"', "",
                "struct abi_fact { const char *name; long long value; };", "",
                "const struct abi_fact c_side_facts[] = {"]
        for key, kind, s, m in records(abi):
            if kind == "const":
                v = "(long long)(%s)" % m
            elif kind == "sizeof":
                v = "(long long)sizeof(%s)" % c_struct_name(s)
            elif kind == "offsetof":
                v = "(long long)offsetof(%s, %s)" % (c_struct_name(s), m)
            elif kind == "membersize":
                v = "(long long)sizeof(((%s *)0)->%s)" % (c_struct_name(s), m)
            else:
                v = "(long long)offsetof(%s, %s)" % (c_struct_name(s), m[1])
            out.append('\t{"%s", %s},' % (key, v))
        out += ["};",
                "const unsigned long c_side_count = sizeof(c_side_facts) / sizeof(c_side_facts[0]);"]
    else:
        out.append(CHECK_PREAMBLE % (COMMAND, "--check-cc"))
        out += ['#include "syscalls/abi.h"', "", "#include <cstddef>", "", "namespace abi = uring::abi;", "",
                "struct abi_fact { const char *name; long long value; };", "",
                "extern const abi_fact cc_side_facts[];",
                "extern const unsigned long cc_side_count;", "",
                "const abi_fact cc_side_facts[] = {"]
        for key, kind, s, m in records(abi):
            if kind == "const":
                v = "(long long)(abi::%s)" % m
            elif kind == "sizeof":
                v = "(long long)sizeof(abi::%s)" % s
            elif kind == "offsetof":
                v = "(long long)offsetof(abi::%s, %s)" % (s, m)
            elif kind == "membersize":
                v = "(long long)sizeof(abi::%s::%s)" % (s, m)
            else:
                v = "(long long)%s" % m[3].replace("sizeof(", "sizeof(abi::")
            out.append('    {"%s", %s},' % (key, v))
        out += ["};",
                "const unsigned long cc_side_count = sizeof(cc_side_facts) / sizeof(cc_side_facts[0]);"]
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--abi", default=DEFAULT_ABI, help="abi.h to read (default: the repository's)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--out", help="where to write the C header (default: %s)" % os.path.relpath(DEFAULT_OUT, ROOT))
    g.add_argument("--check-c", metavar="OUT", help="write the C half of the equality check")
    g.add_argument("--check-cc", metavar="OUT", help="write the C++ half of the equality check")
    args = ap.parse_args()
    try:
        abi = parse(args.abi)
        if args.check_c:
            path, text = args.check_c, emit_check(abi, "c")
        elif args.check_cc:
            path, text = args.check_cc, emit_check(abi, "cc")
        else:
            path, text = args.out or DEFAULT_OUT, emit_header(abi)
    except AbiError as e:
        sys.exit("gen_io_uring_h.py: %s" % e)
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
