"""Static analysis of a KernelBench answer module (``ModelNew`` + ``load_inline``); nothing is executed.

Rules (each finding names one): the answer must define ``ModelNew`` with ``forward``, bring its CUDA in
through ``load_inline`` with literal sources, and ``forward`` must do the work by calling the extension.
Host fallbacks are refused: using the reference ``Model`` (``calls_reference``), torch/nn ops or Python
tensor arithmetic in ``forward`` or its helpers (``torch_op``), keeping results between calls or returning
stored tensors (``cached_output``), dynamic code or imports outside torch (``dynamic_code``,
``forbidden_import``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from pydantic import BaseModel

ALLOWED_IMPORTS = {
    "torch",
    "torch.nn",
    "torch.nn.functional",
    "torch.utils.cpp_extension",
    "math",
    "typing",
    "__future__",
}
DYNAMIC = {
    "eval", "exec", "compile", "__import__", "getattr", "setattr", "delattr", "globals", "locals", "vars",
    "open", "breakpoint", "input", "memoryview",
}  # fmt: skip
#: torch functions that only allocate (no work on the inputs)
TORCH_ALLOC = {"empty", "empty_like", "zeros", "zeros_like", "ones", "ones_like", "full", "full_like", "empty_strided"}
#: tensor methods that read metadata, allocate, or return views/copies without computing on values
TENSOR_METHODS = {
    "contiguous", "view", "reshape", "size", "dim", "numel", "is_contiguous", "cuda", "to", "float", "half",
    "bfloat16", "data_ptr", "stride", "unsqueeze", "squeeze", "flatten", "view_as", "reshape_as", "new_empty",
    "new_zeros", "expand", "expand_as", "permute", "transpose", "t", "element_size", "get_device", "is_cuda",
}  # fmt: skip
#: attributes that lead from torch or math to files, processes, other code or the Python runtime
ESCAPE_ATTRS = {
    "os", "sys", "subprocess", "builtins", "importlib", "ctypes", "shutil", "socket", "pickle", "save", "load",
    "load_library", "ops", "hub", "library", "jit", "compile", "classes", "from_file", "multiprocessing",
    "distributed", "system", "popen", "package", "serialization", "backends", "storage", "untyped_storage",
    "cpp_extension",
}  # fmt: skip
MAIN_GUARDS = {"__name__ == '__main__'", "'__main__' == __name__"}
#: load_inline keywords an answer may pass
LOAD_INLINE_OPTIONS = {"name", "cpp_sources", "cuda_sources", "functions", "verbose", "extra_cflags",
                       "extra_cuda_cflags", "with_cuda"}  # fmt: skip
#: compiler flags that change code generation only
SAFE_FLAG = re.compile(
    r"-O[0-3s]?|-?-use_fast_math|-ffast-math|-std=c\+\+\d\d|-lineinfo|--expt-relaxed-constexpr|"
    r"--expt-extended-lambda|-Xptxas|-v|--ptxas-options=-v|-D\w+(?:=\w+)?|-U\w+|-?-maxrregcount=\d+|"
    r"-arch=(?:sm|compute)_\d+a?|-gencode=arch=compute_\d+a?,code=(?:sm|compute)_\d+a?|-march=native"
)
BUILTINS = {"len", "int", "float", "range", "tuple", "list", "isinstance", "super", "bool", "dict", "str", "enumerate",
            "zip", "min", "max"}  # fmt: skip
SHAPE_CALLS = {"size", "dim", "numel", "len", "int", "stride", "element_size"}


class Finding(BaseModel):
    """One rule the answer breaks, with the line it breaks it on."""

    rule: str
    message: str
    line: int = 0


class InlineExtension(BaseModel):
    """One ``load_inline`` call: its CUDA and C++ sources (literal) and exported functions."""

    name: str
    cuda_sources: list[str]
    cpp_sources: list[str]
    functions: list[str]
    line: int


class AnswerAnalysis(BaseModel):
    extensions: list[InlineExtension]
    findings: list[Finding]


@dataclass
class _Module:
    strings: dict[str, list[str]] = field(default_factory=dict)  # module-level name -> literal string(s)
    extension_names: set[str] = field(default_factory=set)  # module-level names bound to load_inline(...)
    functions: dict[str, ast.FunctionDef] = field(default_factory=dict)


def _literal_strings(node: ast.expr | None, known: dict[str, list[str]]) -> list[str] | None:
    """A str literal, a name bound to one, ``+`` of those, or a list/tuple of those; None otherwise."""
    if node is None:
        return []
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Name) and node.id in known:
        return known[node.id]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal_strings(node.left, known), _literal_strings(node.right, known)
        if left is not None and right is not None and len(left) == len(right) == 1:
            return [left[0] + right[0]]
        return None
    if isinstance(node, ast.List | ast.Tuple):
        parts = [_literal_strings(e, known) for e in node.elts]
        if any(p is None for p in parts):
            return None
        return [s for p in parts for s in p or []]
    return None


def _is_load_inline(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id == "load_inline") or (
        isinstance(func, ast.Attribute) and func.attr == "load_inline"
    )


def _dotted(node: ast.expr) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def analyze_answer(source: str) -> AnswerAnalysis:
    """The answer's inline extensions and every rule it breaks."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as err:  # NUL bytes: ValueError on Python 3.11.2, SyntaxError later
        line = getattr(err, "lineno", None) or 0
        return AnswerAnalysis(extensions=[], findings=[Finding(rule="syntax", message=str(err), line=line)])
    findings: list[Finding] = []
    module = _Module()
    extensions: list[InlineExtension] = []
    aliases: dict[str, str] = {}  # local name -> imported dotted module/function
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if _is_load_inline(node.value):
                module.extension_names.add(name)
            else:
                strings = _literal_strings(node.value, module.strings)
                if strings is not None and not isinstance(node.value, ast.List | ast.Tuple):
                    module.strings[name] = strings
        if isinstance(node, ast.FunctionDef):
            module.functions[node.name] = node
    findings += _module_code_findings(tree)
    for node in ast.walk(tree):
        findings += _import_findings(node, aliases)
    inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}  # checked as part of a chain
    for node in ast.walk(tree):
        findings += _dynamic_findings(node)
        if id(node) not in inner:
            findings += _escape_findings(node, aliases)
        if isinstance(node, ast.Name) and node.id == "Model":
            findings.append(Finding(rule="calls_reference", message="uses the reference Model", line=node.lineno))
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            for deco in node.decorator_list:
                text = ast.unparse(deco)
                if "cache" in text.lower() or "memo" in text.lower():
                    findings.append(Finding(rule="cached_output", message=f"decorator {text}", line=deco.lineno))
        if isinstance(node, ast.Global | ast.Nonlocal):
            findings.append(Finding(rule="cached_output", message="global/nonlocal state", line=node.lineno))
        if _is_load_inline(node):
            ext = _extension(node, module.strings, findings)  # type: ignore[arg-type]
            if ext is not None:
                extensions.append(ext)
    model_new = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ModelNew"), None)
    forward = None
    if model_new is not None:
        forward = next((n for n in model_new.body if isinstance(n, ast.FunctionDef) and n.name == "forward"), None)
    if forward is None or model_new is None:
        findings.append(Finding(rule="no_model_new", message="expected class ModelNew with a forward method"))
        return AnswerAnalysis(extensions=extensions, findings=findings)
    if not extensions:
        findings.append(
            Finding(rule="no_inline_cuda", message="no load_inline(...) call with literal cuda_sources in the answer")
        )
    ext_attrs = _extension_attrs(model_new, module.extension_names)
    checker = _WorkChecker(module, ext_attrs, aliases)
    methods = [n for n in model_new.body if isinstance(n, ast.FunctionDef) and n.name != "__init__"]
    for fn in [*methods, *module.functions.values()]:
        findings += checker.check(fn, is_forward=fn is forward)
    if not checker.forward_calls_extension:
        findings.append(
            Finding(rule="extension_unused", message="forward never calls a load_inline extension", line=forward.lineno)
        )
    return AnswerAnalysis(extensions=extensions, findings=findings)


def _import_findings(node: ast.AST, aliases: dict[str, str]) -> list[Finding]:
    """Imports outside torch/math/typing are findings; ``aliases`` learns what each local name stands for."""
    if isinstance(node, ast.Import):
        mods = [a.name for a in node.names]
        for a in node.names:
            aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
    elif isinstance(node, ast.ImportFrom):
        mods = [node.module or "."]
        for a in node.names:
            aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    else:
        return []
    return [
        Finding(rule="forbidden_import", message=f"imports {m}", line=node.lineno)  # type: ignore[attr-defined]
        for m in mods
        if m not in ALLOWED_IMPORTS
    ]


def _dynamic_findings(node: ast.AST) -> list[Finding]:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in DYNAMIC:
        return [Finding(rule="dynamic_code", message=f"calls {node.func.id}()", line=node.lineno)]
    if isinstance(node, ast.Attribute) and node.attr.startswith("__") and node.attr != "__init__":
        return [Finding(rule="dynamic_code", message=f"touches {node.attr}", line=node.lineno)]
    return []


def _module_code_findings(tree: ast.Module) -> list[Finding]:
    """Code that would run when the module is imported: only imports, assignments of literals, names and
    ``load_inline(...)``, functions and classes (bodies of methods and literal attributes) may be there."""
    findings = []
    for node in tree.body:
        body = node.body if isinstance(node, ast.ClassDef) else [node]
        for stmt in body:
            if isinstance(stmt, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.ClassDef):
                continue
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                continue  # a docstring
            if isinstance(stmt, ast.If) and ast.unparse(stmt.test) in MAIN_GUARDS:
                continue  # never runs on import; its code is still checked for escapes
            value = stmt.value if isinstance(stmt, ast.Assign | ast.AnnAssign) else None
            if value is not None and (_is_load_inline(value) or _is_literal(value)):
                continue
            findings.append(
                Finding(rule="module_code", message=f"runs code at import: {ast.unparse(stmt)[:80]}", line=stmt.lineno)
            )
    return findings


def _is_literal(node: ast.expr) -> bool:
    """Constants, names, and lists/tuples/arithmetic/subscripts of them: nothing that calls."""
    return all(
        isinstance(n, ast.Constant | ast.Name | ast.List | ast.Tuple | ast.BinOp | ast.UnaryOp | ast.Subscript
                   | ast.Attribute | ast.operator | ast.unaryop | ast.expr_context | ast.Slice)
        for n in ast.walk(node)
    )  # fmt: skip


def _escape_findings(node: ast.AST, aliases: dict[str, str]) -> list[Finding]:
    """Private names (``x._y``) and paths from the allowed modules to what reaches outside the process
    (``torch.utils.cpp_extension.os``, ``torch.load``, ``torch.ops``...)."""
    if not isinstance(node, ast.Attribute):
        return []
    if node.attr.startswith("_") and not node.attr.startswith("__"):
        return [Finding(rule="dynamic_code", message=f"touches private {node.attr}", line=node.lineno)]
    dotted = _dotted(node)
    if dotted is None:
        return []
    head, _, rest = dotted.partition(".")
    resolved = f"{aliases.get(head, head)}.{rest}"
    parts = resolved.split(".")
    if parts[0] not in {"torch", "math"} or resolved == "torch.utils.cpp_extension.load_inline":
        return []
    if set(parts[1:]) & ESCAPE_ATTRS or resolved.startswith("torch.utils."):
        return [Finding(rule="escape", message=f"uses {resolved} (reaches outside the process)", line=node.lineno)]
    return []


def _flag_findings(call: ast.Call, strings: dict[str, list[str]]) -> list[Finding]:
    """load_inline options beyond the sources and safe compiler flags: linker flags, include paths, build
    folders and compiler plug-ins run or load code of the answer's choosing."""
    findings = []
    for kw in call.keywords:
        if kw.arg is None or kw.arg not in LOAD_INLINE_OPTIONS:
            findings.append(
                Finding(rule="load_inline_option", message=f"load_inline({kw.arg or '**'}=...)", line=call.lineno)
            )
        elif kw.arg in ("extra_cflags", "extra_cuda_cflags"):
            flags = _literal_strings(kw.value, strings)
            bad = [f for f in (flags if flags is not None else ["(not literal)"]) if not SAFE_FLAG.fullmatch(f)]
            findings += [
                Finding(rule="load_inline_option", message=f"compiler flag {f!r}", line=call.lineno) for f in bad
            ]
    return findings


def _extension(call: ast.Call, strings: dict[str, list[str]], findings: list[Finding]) -> InlineExtension | None:
    findings += _flag_findings(call, strings)
    kwargs = {k.arg: k.value for k in call.keywords if k.arg}
    cuda = _literal_strings(kwargs.get("cuda_sources"), strings)
    cpp = _literal_strings(kwargs.get("cpp_sources"), strings)
    functions = _literal_strings(kwargs.get("functions"), strings)
    name = _literal_strings(kwargs.get("name"), strings)
    if cuda is None or cpp is None or functions is None or not cuda:
        findings.append(
            Finding(
                rule="dynamic_source",
                message="load_inline needs literal cuda_sources, cpp_sources and functions (strings or names of strings)",
                line=call.lineno,
            )
        )
        return None
    return InlineExtension(
        name=(name or ["ext"])[0], cuda_sources=cuda, cpp_sources=cpp, functions=functions, line=call.lineno
    )


def _extension_attrs(cls: ast.ClassDef, extension_names: set[str]) -> set[str]:
    """``self.<attr>`` names that ``__init__`` binds to a module-level extension."""
    attrs: set[str] = set()
    for node in ast.walk(cls):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id in extension_names:
            for t in node.targets:
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                    attrs.add(t.attr)
    return attrs


class _WorkChecker:
    """Walks one function: every call must be the extension, an allocation, a shape query or a view."""

    def __init__(self, module: _Module, ext_attrs: set[str], aliases: dict[str, str]) -> None:
        self.module, self.ext_attrs, self.aliases = module, ext_attrs, aliases
        self.forward_calls_extension = False
        self.locals: set[str] = set()

    def _is_extension_call(self, func: ast.expr) -> bool:
        if not isinstance(func, ast.Attribute):
            return False
        owner = func.value
        if isinstance(owner, ast.Name) and owner.id in self.module.extension_names:
            return True
        return (
            isinstance(owner, ast.Attribute)
            and isinstance(owner.value, ast.Name)
            and owner.value.id == "self"
            and owner.attr in self.ext_attrs
        )

    def _resolved(self, func: ast.expr) -> str | None:
        dotted = _dotted(func)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        full = self.aliases.get(head, head)
        return f"{full}.{rest}" if rest else full

    def check(self, fn: ast.FunctionDef, *, is_forward: bool) -> list[Finding]:
        findings: list[Finding] = []
        tensors = {a.arg for a in fn.args.args if a.arg != "self"}
        self.locals = {a.arg for a in fn.args.args} | {
            n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        }
        for node in ast.walk(fn):
            if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    if isinstance(t, ast.Attribute | ast.Subscript):
                        findings.append(
                            Finding(rule="cached_output", message=f"stores into {ast.unparse(t)}", line=node.lineno)
                        )
                    elif isinstance(t, ast.Name) and node.value is not None and not _is_shape(node.value):
                        tensors.add(t.id)
            if isinstance(node, ast.BinOp | ast.UnaryOp):
                operands = [node.left, node.right] if isinstance(node, ast.BinOp) else [node.operand]
                on_tensors = [o for o in operands if not _is_shape(o) and _names(o) & tensors]
                if (isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult)) or on_tensors:
                    findings.append(
                        Finding(rule="torch_op", message=f"tensor arithmetic {ast.unparse(node)}", line=node.lineno)
                    )
            if isinstance(node, ast.Call):
                findings += self._call(node)
            if isinstance(node, ast.Return) and is_forward and node.value is not None:
                findings += self._returned(node)
        return findings

    def _call(self, node: ast.Call) -> list[Finding]:
        func = node.func
        if self._is_extension_call(func):
            self.forward_calls_extension = True  # forward, another method, or a helper forward may call
            return []
        if isinstance(func, ast.Name) and (func.id in BUILTINS or func.id in self.module.functions):
            return []
        resolved = self._resolved(func)
        if resolved is not None and resolved.startswith("torch."):
            if resolved.split(".", 1)[1] in TORCH_ALLOC or resolved in {"torch.no_grad", "torch.cuda.current_stream"}:
                return []
            return [Finding(rule="torch_op", message=f"calls {resolved} in forward or a helper", line=node.lineno)]
        if isinstance(func, ast.Attribute) and func.attr in TENSOR_METHODS:
            return []
        text = ast.unparse(func)
        return [Finding(rule="torch_op", message=f"calls {text}(): only the CUDA extension may do the work",
                        line=node.lineno)]  # fmt: skip

    def _returned(self, node: ast.Return) -> list[Finding]:
        """``return self.<attr>`` or a module-level name (or a tuple of them): a stored tensor, not a result."""
        value = node.value
        parts = value.elts if isinstance(value, ast.Tuple | ast.List) else [value]  # type: ignore[union-attr]
        stored = [
            p
            for p in parts
            if (isinstance(p, ast.Attribute) and isinstance(p.value, ast.Name) and p.value.id == "self")
            or (isinstance(p, ast.Name) and p.id not in self.locals)
        ]
        if stored:
            return [Finding(rule="cached_output", message=f"returns stored {ast.unparse(stored[0])}", line=node.lineno)]
        return []


def _names(node: ast.expr) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _is_shape(value: ast.expr) -> bool:
    """An expression that yields sizes, not tensors (``x.size(0)``, ``x.shape``, ``len(x)``, numbers)."""
    if isinstance(value, ast.Constant):
        return True
    if isinstance(value, ast.Name):
        return False
    if isinstance(value, ast.Attribute) and value.attr in {"shape", "ndim", "dtype", "device"}:
        return True
    if isinstance(value, ast.Subscript):
        return _is_shape(value.value)
    if isinstance(value, ast.Call):
        f = value.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
        return name in SHAPE_CALLS
    if isinstance(value, ast.BinOp):
        return _is_shape(value.left) and _is_shape(value.right)
    if isinstance(value, ast.Tuple):
        return all(_is_shape(e) for e in value.elts)
    return False
