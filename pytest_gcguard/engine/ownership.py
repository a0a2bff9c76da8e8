"""Whose code is an object? Test code, the test harness, the standard library or the code under test.

This decides the noise policy (docs/how-it-works.md, "Whose cycle is it?"): a
cycle is the test's own when cutting the references held by test code --
frames running test-module, conftest or pytest/pluggy code, functions and
classes defined there, pytest's own objects -- leaves no cycle.
"""

from __future__ import annotations

import enum
import importlib.metadata
import importlib.util
import os
import sys
import sysconfig
import types
from collections.abc import Iterable
from typing import Any

from pytest_gcguard.engine.findings import CLASS_MEMBER
from pytest_gcguard.engine.findings import CODE_MEMBER
from pytest_gcguard.engine.findings import DEPENDENCY
from pytest_gcguard.engine.findings import HARNESS_ORIGIN
from pytest_gcguard.engine.findings import PROJECT
from pytest_gcguard.engine.findings import STDLIB_ORIGIN
from pytest_gcguard.engine.findings import TEST_ORIGIN
from pytest_gcguard.engine.introspect import MISSING
from pytest_gcguard.engine.introspect import class_dict
from pytest_gcguard.engine.introspect import is_a
from pytest_gcguard.engine.introspect import is_python_class
from pytest_gcguard.engine.introspect import module_dict
from pytest_gcguard.engine.introspect import plain_str
from pytest_gcguard.engine.introspect import type_module
from pytest_gcguard.engine.introspect import type_mro
from pytest_gcguard.engine.introspect import type_name
from pytest_gcguard.engine.introspect import type_qualname


class Origin(enum.Enum):
    """Where the code behind an object lives."""

    TEST = "test"  # a collected test module or a conftest.py
    HARNESS = "harness"  # pytest, pluggy, this plugin
    STDLIB = "stdlib"  # the standard library
    USER = "user"  # everything else: the code under test and its dependencies
    NEUTRAL = "neutral"  # builtin containers and interpreter objects: no code of their own


# The test harness: pytest and pluggy, this plugin, xdist, and Hypothesis
# (its ConjectureData <-> provider cycles come with every example a @given
# test runs; they are the harness's, not the code under test's).  pytest
# plugins installed through entry points are added per session
# (extensions.plugin_packages).
_HARNESS_PACKAGES = (
    "_pytest",
    "pytest",
    "pluggy",
    "pytest_gcguard",
    "xdist",
    "execnet",
    "hypothesis",
    "_hypothesis_pytestplugin",
    "_hypothesis_globals",
)
# The standard library's test infrastructure is harness too; the rest of the
# standard library is code under test (issue 14).  unittest (with
# unittest.mock: a Mock and the child mocks it makes refer to each other),
# doctest, the debugger (pdb on bdb), and traceback, which pytest renders
# tracebacks with (_pytest._code.code: TracebackException,
# format_exception_only).
_STDLIB_HARNESS = ("unittest", "doctest", "pdb", "bdb", "traceback")


def origin_file(name: str) -> str | None:
    """Where a top-level package's ``__init__.py`` or a module lives, imported or not (nothing is imported)."""
    # From the module's dict: getattr would call a module's __getattr__ (PEP 562) for a missing name.
    namespace = module_dict(sys.modules.get(name))
    filename = plain_str(namespace.get("__file__")) if namespace is not None else None
    if filename is None:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        filename = spec.origin if spec is not None else None
        if not is_a(filename, str) or not os.path.isabs(filename):
            return None
    return os.path.realpath(filename)


# Names of the directories a project keeps its tests in (pytest's own is "testing", trio's "_tests").
TEST_DIRECTORY_NAMES = frozenset({"test", "tests", "testing", "_tests"})


def directories_of_tests(test_files: Iterable[str], root: str | None = None) -> tuple[str, ...]:
    """The test directories of the collected test modules, each with a trailing separator.

    The modules a suite keeps beside its tests -- ``tests/utils.py``,
    Hypothesis strategies in ``tests/strategies.py`` -- are test code too:
    the classes they make for a test (attrs' ``make_class``) are the test's,
    and dropped with it.  A directory counts only when it is named like one
    (``TEST_DIRECTORY_NAMES``) and is the nearest such directory above a
    collected test module, at most three levels up: tests kept beside the
    code (``pkg/test_x.py``) make nothing of ``pkg`` test code, and a
    library's own ``testing`` package (``trio.testing``, code under test)
    is not taken for the test directory of ``pkg/testing/tests``.  The
    search stops at the rootdir (a checkout kept in ``~/tests/`` is not all
    tests) and at a ``site-packages`` directory (tests inside an installed
    package, trio's ``trio/_tests``).
    """
    found = set()
    for filename in test_files:
        directory = os.path.dirname(filename)
        for _ in range(3):
            if directory + os.sep == root or directory.endswith("-packages"):
                break
            if os.path.basename(directory) in TEST_DIRECTORY_NAMES:
                found.add(directory + os.sep)
                break
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
    return tuple(sorted(found))


def _stdlib_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = {os.path.realpath(paths[key]) + os.sep for key in ("stdlib", "platstdlib") if key in paths}
    return tuple(sorted(dirs))


class CodeOwners:
    """Classifies code by file name and module name.

    ``test_files`` are the collected test modules and conftest files,
    ``test_modules`` the collected test modules' names.
    """

    def __init__(
        self,
        test_files: Iterable[str] = (),
        harness: Iterable[str] = (),
        root: str | None = None,
        test_modules: Iterable[str] = (),
    ) -> None:
        self._test_files = frozenset(os.path.realpath(f) for f in test_files)
        # The collected test modules' names, read at collection: a test may
        # drop them from sys.modules (trio's test_trio_import).
        self._test_modules = frozenset(test_modules)
        self._harness = frozenset(_HARNESS_PACKAGES) | frozenset(_STDLIB_HARNESS) | frozenset(harness)
        # The project: code under the rootdir (not in a site-packages inside it).
        self._root = os.path.realpath(root) + os.sep if root else None
        self._test_dirs = directories_of_tests(self._test_files, self._root)
        if root:
            # Read now, at collection: read during a test's window, the map
            # would be made under a frozen heap and change its freeze count.
            distributions()
        # Plugin modules of libraries (anyio.pytest_plugin): harness themselves, not their package.
        self._harness_modules = tuple(sorted(name + "." for name in self._harness if "." in name))
        files = [f for f in map(origin_file, sorted(self._harness)) if f is not None]
        # A package is its directory; a single-module plugin (pytest_timeout.py) its file.
        self._harness_dirs = tuple(os.path.dirname(f) + os.sep for f in files if os.path.basename(f) == "__init__.py")
        self._harness_files = frozenset(f for f in files if os.path.basename(f) != "__init__.py")
        self._stdlib_dirs = _stdlib_dirs()
        self._by_file: dict[str, Origin] = {}
        self._user_by_file: dict[str, str] = {}  # project or dependency, by file name
        self._by_module: dict[str, Origin] = {}

    def file_origin(self, filename: str) -> Origin:
        cached = self._by_file.get(filename)
        if cached is not None:
            return cached
        origin = self._classify_file(filename)
        self._by_file[filename] = origin
        return origin

    def _classify_file(self, filename: str) -> Origin:
        if filename.startswith("<frozen "):
            return Origin.STDLIB
        if filename.startswith("<"):
            return Origin.USER  # exec'd or generated code: nobody else's
        real = os.path.realpath(filename)
        if real in self._test_files or os.path.basename(real) == "conftest.py" or real.startswith(self._test_dirs):
            return Origin.TEST
        if real.startswith(self._harness_dirs) or real in self._harness_files:
            return Origin.HARNESS
        if real.startswith(self._stdlib_dirs) and "-packages" + os.sep not in real:
            return Origin.STDLIB
        return Origin.USER

    def module_origin(self, module_name: str) -> Origin:
        cached = self._by_module.get(module_name)
        if cached is not None:
            return cached
        origin = self._classify_module(module_name)
        self._by_module[module_name] = origin
        return origin

    def _classify_module(self, module_name: str) -> Origin:
        if module_name == "builtins":
            return Origin.NEUTRAL
        top = module_name.partition(".")[0]
        if top in self._harness or module_name in self._harness or module_name.startswith(self._harness_modules):
            return Origin.HARNESS
        if module_name in self._test_modules:
            return Origin.TEST
        module = sys.modules.get(module_name)
        if module is None or type(module) is not types.ModuleType:
            stdlib_names = getattr(sys, "stdlib_module_names", ())
            return Origin.STDLIB if top in stdlib_names else Origin.USER
        filename = plain_str(module.__dict__.get("__file__"))
        if filename is None:
            # Built into the interpreter (sys, _io, ...) or a namespace package.
            return (
                Origin.STDLIB
                if top in sys.builtin_module_names or top in getattr(sys, "stdlib_module_names", ())
                else Origin.USER
            )
        return self.file_origin(filename)

    def type_origin(self, tp: type) -> Origin:
        module = type_module(tp)
        if module is None:
            return Origin.USER
        origin = self.module_origin(module)
        if origin is Origin.STDLIB and not is_python_class(tp):
            # C types such as ValueError, frame or dict_items: interpreter objects.
            return Origin.NEUTRAL
        if origin is Origin.STDLIB and _made_by_a_factory(tp, module):
            return self._factory_class_origin(tp)
        if origin is Origin.USER and module not in sys.modules and self._made_in_a_test(tp):
            return Origin.TEST
        return origin

    def _made_in_a_test(self, tp: type) -> bool:
        """A class whose ``__module__`` names no loaded module, made inside a function a test module defines.

        A test may set a local class's ``__module__`` to fake a library's
        (click 8.1.8's ``test_is_jupyter_kernel_output``: ``"ipykernel.faked"``);
        a module nothing loaded tells nothing, but the qualified name still
        says where the class statement ran (``test_x.<locals>.Fake``).
        """
        qualname = type_qualname(tp)
        if qualname is None or ".<locals>." not in qualname:
            return False
        function = qualname.partition(".<locals>.")[0]
        top = function.partition(".")[0]  # a test class's method: its class is the test module's
        for name in self._test_modules:
            namespace = module_dict(sys.modules.get(name))
            if namespace is not None and top in namespace:
                return True
        return False

    def untrue_module(self, tp: type) -> bool:
        """Whether ``tp.__module__`` names a standard-library class factory, not where ``tp`` was made.

        ``type.__new__`` takes ``__module__`` from the Python frame that calls
        it: for ``type(name, bases, ns)`` on an ``abc.ABC`` subclass that is
        ``ABCMeta.__new__`` (module ``abc``), for ``types.new_class`` it is
        ``types`` -- whoever called them.  A class statement sets
        ``__module__`` from its own module, so a class of a standard-library
        module that the module does not hold under its name (and that no
        function of it defines: no ``<locals>``) was made by such a factory
        -- unless it extends a class of that module: a module that makes
        subclasses of its own classes (``unittest.mock``, one per ``Mock``)
        tells the truth.
        """
        module = type_module(tp)
        return (
            module is not None
            and is_python_class(tp)
            and self.module_origin(module) is Origin.STDLIB
            and _made_by_a_factory(tp, module)
        )

    def _factory_class_origin(self, tp: type) -> Origin:
        """A class a standard-library factory made is its caller's, and the garbage does not tell who that was.

        The test's: the factory hands the class to its caller (attrs'
        ``make_class`` and ``cmp_using``, ``types.new_class``, a test checking
        that a class cannot be subclassed), and the class is dropped with
        whoever asked for it.  Its bases do not say who made it: a test's
        ``type("Sub", (lib.Final,), {})`` extends the library's class.  A
        library that made such a class per call and dropped it itself is shown
        as test-local (``-v``), not failed: a dropped class is a cycle whoever
        made it, and these are almost always made for the caller.
        """
        return Origin.TEST

    def code_origin(self, code: types.CodeType) -> Origin:
        return self.file_origin(code.co_filename)

    def origin(self, obj: object) -> Origin:
        """Where the code that made ``obj`` what it is lives."""
        tp = type(obj)
        code = _code_of(obj)
        if code is not None:
            return self.code_origin(code)
        if is_a(obj, type):
            return self.type_origin(obj)
        return self.type_origin(tp)

    def named_origin(self, obj: object) -> tuple[str, str] | None:
        """Whose code made ``obj`` (a ``findings`` origin) and its module; None for interpreter objects.

        Instances of classes a test module defines are data of the project
        (the test made them; a cycle among them is the project's finding).
        """
        origin = self.origin(obj)
        if origin is Origin.NEUTRAL:
            return None
        module, filename = _module_and_file(obj)
        if module is None:
            return None
        if origin is Origin.HARNESS:
            return HARNESS_ORIGIN, module
        if origin is Origin.STDLIB:
            return STDLIB_ORIGIN, module
        if origin is Origin.TEST and (_code_of(obj) is not None or is_a(obj, type)):
            return TEST_ORIGIN, module
        return self._user_origin(module, filename), module

    def named_module_origin(self, module: str) -> tuple[str, str] | None:
        """Whose code a loaded module is (a ``findings`` origin), and the module; None for ``builtins``.

        For a cycle of plain containers, by the module that allocated them (``findings.ALLOC_MEMBER``).
        """
        origin = self.module_origin(module)
        if origin is Origin.NEUTRAL:
            return None
        named = {Origin.HARNESS: HARNESS_ORIGIN, Origin.STDLIB: STDLIB_ORIGIN, Origin.TEST: TEST_ORIGIN}.get(origin)
        if named is None:
            namespace = module_dict(sys.modules.get(module))
            named = self._user_origin(module, plain_str(namespace.get("__file__")) if namespace is not None else None)
        return named, module

    def _user_origin(self, module: str, filename: str | None) -> str:
        """Project or dependency: by where the module's file is (with none: whether a distribution has it)."""
        if filename is None or filename.startswith("<"):
            top = module.partition(".")[0]
            return DEPENDENCY if top in distributions() else PROJECT
        cached = self._user_by_file.get(filename)
        if cached is None:  # (os.path.realpath makes a system call per path component)
            real = os.path.realpath(filename)
            outside = self._root is not None and not real.startswith(self._root)
            # (with no rootdir -- the library API's default owners -- what is not installed is the project's)
            cached = DEPENDENCY if "-packages" + os.sep in real or outside else PROJECT
            self._user_by_file[filename] = cached
        return cached

    def held_by_test(self, obj: object) -> bool:
        """Whether the references ``obj`` holds are the test's (or pytest's) own.

        True for frames running test or harness code, functions and generators
        defined there, classes defined there, and instances of harness types.
        Instances of classes defined in a test module are data: their
        references are not cut here, so a cycle a library object closes
        through them stays the library's; a cycle of only such instances is
        test-local (``made_by_test``).
        """
        tp = type(obj)
        code = _code_of(obj)
        if code is not None:
            if tp is types.CodeType:
                return False
            return self.code_origin(code) in (Origin.TEST, Origin.HARNESS)
        if is_a(obj, type):
            return self.type_origin(obj) in (Origin.TEST, Origin.HARNESS)
        return self.type_origin(tp) is Origin.HARNESS

    def made_by_test(self, obj: object) -> bool:
        """Whether ``obj`` may be in a test-local cycle: test code's, the harness's, or a builtin object.

        Instances of classes defined in test code count (a test's ``node.me =
        node``), and so do builtin containers, cells and exceptions; a bound
        method counts by its function, so a method of a library class bound
        to the test's instance is the library's.
        """
        if type(obj) is types.MethodType:
            obj = obj.__func__
        tp = type(obj)
        if _code_of(obj) is None and not is_a(obj, type) and is_python_class(tp) and self.untrue_module(tp):
            # An instance of a class a stdlib factory made: who made the class, and
            # so its instances, the garbage does not tell -- ambiguous, so not the test's.
            return False
        return self.origin(obj) in (Origin.TEST, Origin.HARNESS, Origin.NEUTRAL)

    def is_harness(self, obj: object) -> bool:
        """pytest's (or pluggy's, or our) code or objects: frames, functions, generators, classes, instances."""
        code = _code_of(obj)
        if code is not None:
            return self.code_origin(code) is Origin.HARNESS
        if is_a(obj, type):
            return self.type_origin(obj) is Origin.HARNESS
        return self.type_origin(type(obj)) is Origin.HARNESS


def is_harness_module(name: str) -> bool:
    """Whether a module (or a qualified name in it) is the harness's always: pytest, pluggy, xdist, Hypothesis, us.

    Plugin modules installed through entry points are not known here: they
    are per session (``CodeOwners``).
    """
    return name.partition(".")[0] in _HARNESS_PACKAGES


def _module_and_file(obj: object) -> tuple[str | None, str | None]:
    """The module whose code makes ``obj`` what it is, and that code's file (read by C code only, nothing imported)."""
    code = _code_of(obj)
    if code is not None:
        tp = type(obj)
        namespace: object = None
        if tp is types.FrameType:
            namespace = obj.f_globals  # type: ignore[attr-defined]
        elif tp is types.FunctionType:
            namespace = obj.__globals__  # type: ignore[attr-defined]
        if namespace is not None:
            # Code run in a namespace that is no loaded module's (exec'd: a template's
            # compiled code, a generated __init__ in a copy of a module's globals) names
            # no module: its "__name__" is whatever the generator put there (Jinja2: the
            # template's name), and the cycle's other members say whose it is.
            name = loaded_module_of(namespace)
            return (name, code.co_filename) if name is not None else (None, None)
        if code.co_filename.startswith("<"):
            return None, None
        # A generator's or coroutine's code: its file's module name.
        stem = os.path.splitext(os.path.basename(code.co_filename))[0]
        return (stem if stem.isidentifier() else None), code.co_filename
    module = type_module(obj if is_a(obj, type) else type(obj))
    if module is None:
        return None, None
    namespace = module_dict(sys.modules.get(module))
    return module, plain_str(namespace.get("__file__")) if namespace is not None else None


_distribution_map: dict[str, tuple[str, str]] | None = None


def distributions() -> dict[str, tuple[str, str]]:
    """Top-level import name -> (distribution name, version) of every installed distribution, read once.

    From the distributions' metadata (``top_level.txt``, else the top-level
    names of their files), the way ``importlib.metadata.packages_distributions``
    (3.10+) reads it, on every version; nothing is imported.  The first
    distribution on ``sys.path`` that has a name wins, as it would on import.
    """
    global _distribution_map
    if _distribution_map is None:
        found: dict[str, tuple[str, str]] = {}
        for dist in importlib.metadata.distributions():
            try:
                name, version = _name_and_version(dist)
                tops = _top_level_names(dist) if name else []
            except Exception:  # a broken dist-info: name nothing after it
                continue
            for top in tops:
                found.setdefault(top, (name, version))
        _distribution_map = found
    return _distribution_map


def _name_and_version(dist: importlib.metadata.Distribution) -> tuple[str, str]:
    """The ``Name`` and ``Version`` headers, read from the top of METADATA (the email parser takes ten times longer)."""
    headers: dict[str, str] = {}
    for line in (dist.read_text("METADATA") or dist.read_text("PKG-INFO") or "").splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        headers.setdefault(key.strip().lower(), value.strip())
    return headers.get("name", ""), headers.get("version", "")


def _top_level_names(dist: importlib.metadata.Distribution) -> list[str]:
    """``top_level.txt``, else the first part of each file RECORD lists (a package, or a module's file)."""
    declared = (dist.read_text("top_level.txt") or "").split()
    if declared:
        return declared
    names: set[str] = set()
    for line in (dist.read_text("RECORD") or "").splitlines():
        path = line.partition(",")[0].strip('"')
        first, sep, _ = path.partition("/")
        if sep and first.isidentifier():
            names.add(first)
        elif not sep and first.endswith(".py"):
            names.add(first[:-3])
    return sorted(names)


def dependency_name(module: str) -> str:
    """``attrs 25.4.0`` for a module of an installed distribution; the top-level package when none has it."""
    top = module.partition(".")[0]
    found = distributions().get(top)
    return f"{found[0]} {found[1]}" if found is not None else top


def member_owner(obj: object) -> tuple[str, ...] | None:
    """Who owns a cycle member, as a ``Cycle.member_types`` entry (``findings.CLASS_MEMBER``); None for no owner.

    An instance of a Python class: its class's MRO names.  A class: its own
    MRO names (not its metaclass's: a class made in ``lib`` with
    ``abc.ABCMeta`` is ``lib``'s), without those a standard-library factory
    made (``CodeOwners.untrue_module``: ``types.new_class("X", (lib.Base,))``
    is named by ``lib.Base``).  A function or a frame: the module whose
    namespace it runs in -- its globals are that module's ``__dict__``; not
    ``__module__``, which ``functools.wraps`` copies from the wrapped
    function, and not the code's file name, which names no module for
    generated code.  Code run with other globals (``exec`` with a fresh
    dict: templates, generated ``__init__`` methods) has no owner, nor have
    C objects (plain containers, builtin exceptions, tracebacks, cells,
    bound methods, generators).
    """
    tp = type(obj)
    if is_a(obj, type):
        names = _mro_names(obj)
        return (CLASS_MEMBER, *names) if names else None
    if tp is types.FunctionType:
        module = loaded_module_of(obj.__globals__)  # type: ignore[attr-defined]
    elif tp is types.FrameType:
        module = loaded_module_of(obj.f_globals)  # type: ignore[attr-defined]
    elif is_python_class(tp):
        return _mro_names(tp) or None
    else:
        return None
    return None if module is None else (CODE_MEMBER, module)


_plain_owners: list[CodeOwners] = []


def _mro_names(tp: type) -> tuple[str, ...]:
    """The MRO's names, without ``object`` and classes a standard-library factory made (their module is untrue)."""
    if not _plain_owners:
        _plain_owners.append(CodeOwners())
    owners = _plain_owners[0]
    return tuple(type_name(klass) for klass in type_mro(tp) if klass is not object and not owners.untrue_module(klass))


def _held_at_home(tp: type) -> object:
    """What ``tp``'s module holds under ``tp``'s qualified name (read by C code only); ``MISSING`` for nothing.

    None when it cannot be told: a class a function defines (``<locals>``),
    a module that is not loaded.
    """
    qualname = type_qualname(tp)
    module = type_module(tp)
    if qualname is None or module is None or "<locals>" in qualname:
        return None
    held: object = module_dict(sys.modules.get(module))
    for part in qualname.split("."):
        if is_a(held, dict):
            held = dict.get(held, part, MISSING)
        elif is_a(held, type):
            held = class_dict(held).get(part, MISSING)
        else:
            return None
    return held


def held_by_its_module(tp: type) -> bool:
    """Whether ``tp``'s module holds it under its qualified name: a class that lives as long as its module."""
    return _held_at_home(tp) is tp


_type_bases = type.__dict__["__bases__"].__get__


def _made_by_a_factory(tp: type, module: str) -> bool:
    """``module`` (``tp.__module__``, loaded) does not hold ``tp`` under its qualified name, and ``tp``
    extends no class of ``module`` (``CodeOwners.untrue_module``)."""
    held = _held_at_home(tp)
    if held is None or held is tp:
        return False
    bases = _type_bases(tp)
    return not any(type_module(base) == module for base in bases) if type(bases) is tuple else False


def replaced_class(tp: type) -> bool:
    """A class its module holds another class in place of: replaced by a class decorator (attrs'
    ``slots=True`` makes a new class) or by a fresh import of its module."""
    held = _held_at_home(tp)
    return is_a(held, type) and held is not tp


def copied_namespace(namespace: dict[Any, Any]) -> bool:
    """A copy of a loaded module's ``__dict__`` (``dict(module.__dict__)``, as attrs gives its generated
    ``__init__``), not the module's own: it has the loaded module's very ``__spec__`` (each import makes a
    new one), read by C code only."""
    name = plain_str(dict.get(namespace, "__name__"))
    own = module_dict(sys.modules.get(name)) if name is not None else None
    if own is None or own is namespace:
        return False
    spec = dict.get(namespace, "__spec__")
    return spec is not None and spec is dict.get(own, "__spec__")


def loaded_module_of(namespace: object) -> str | None:
    """The name of the loaded module whose ``__dict__`` is ``namespace``, read by C code only."""
    if not is_a(namespace, dict):
        return None
    name = plain_str(dict.get(namespace, "__name__"))
    if name is None:
        return None
    module = sys.modules.get(name)
    return name if module is not None and module_dict(module) is namespace else None


def _code_of(obj: object) -> types.CodeType | None:
    tp = type(obj)
    try:
        if tp is types.FrameType:
            return obj.f_code  # type: ignore[attr-defined,no-any-return]
        if tp is types.FunctionType:
            return obj.__code__  # type: ignore[attr-defined,no-any-return]
        if tp is types.GeneratorType:
            return obj.gi_code  # type: ignore[attr-defined,no-any-return]
        if tp is types.CoroutineType:
            return obj.cr_code  # type: ignore[attr-defined,no-any-return]
        if tp is types.AsyncGeneratorType:
            return obj.ag_code  # type: ignore[attr-defined,no-any-return]
        if tp is types.CodeType:
            return obj  # type: ignore[return-value]
    except Exception:
        return None
    return None


__all__ = [
    "CodeOwners",
    "Origin",
    "copied_namespace",
    "dependency_name",
    "distributions",
    "is_harness_module",
    "loaded_module_of",
    "member_owner",
    "replaced_class",
]
