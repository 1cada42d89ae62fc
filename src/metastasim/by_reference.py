"""Hand a NamedTuple of arrays to compiled code by reference: one pointer per call instead of every array.

Numba passes a NamedTuple argument by value, every field of every array (data pointer, shape, strides and
four more words) spread over the call: passing the patient state (54 arrays) and the parameters to a
function that is not inlined cost about 900 machine instructions per call, in a loop that makes
thousands of such calls per patient.

`by_reference(TupleClass)` makes a numba StructRef type with the same fields and returns `wrap`, which
puts an instance in a handle: the handle holds the same arrays (no copy), compiled code reads its fields
with the same attribute syntax (``st.t_born[L]``), and a call passes one pointer. Fields are read-only in
compiled code (the arrays' contents are not). Call it once per tuple class, at module level: the generated
classes are put in the tuple's module (``_<Name>Ref``, ``_<Name>Handle``), where numba's disk cache finds
them again in a later process.

The field reader below finds the payload without numba's reference-counting runtime, which the engine's
kernels switch off (metastasim._jit): it reads the data pointer of numba's MemInfo directly, as numba's
own ``NRT_MemInfo_data_fast`` does. Kernels compiled without the runtime must not be called with a handle
from Python directly: call them from a compiled function with the runtime on (`engine.chunk`,
`engine.loop`), which holds the reference.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, NamedTuple

import numba as nb
from numba.core import cgutils, imputils, types
from numba.core.datamodel import models
from numba.core.datamodel.registry import register_default
from numba.core.extending import infer_getattr, intrinsic, lower_getattr_generic
from numba.core.runtime.nrtdynmod import _meminfo_struct_type
from numba.core.typing.templates import AttributeTemplate
from numba.experimental import structref


def _payload(context: Any, builder: Any, typ: Any, val: Any) -> Any:
    """The struct a handle `val` points to, found without the reference-counting runtime."""
    meminfo = cgutils.create_struct_proxy(typ)(context, builder, value=val).meminfo
    info = builder.bitcast(meminfo, _meminfo_struct_type.as_pointer())
    data = builder.load(cgutils.gep(builder, info, 0, 3))  # MemInfo.data
    payload_type = typ.get_data_type()
    alloc = context.data_model_manager[payload_type].get_value_type()
    return cgutils.create_struct_proxy(payload_type)(context, builder, ref=builder.bitcast(data, alloc.as_pointer()))


@intrinsic
def _fill(typingctx: Any, handle: Any, values: Any) -> Any:
    """Store every field of the NamedTuple `values` in the new handle, holding a reference to each."""

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        typ, tuple_type = sig.args
        payload = _payload(context, builder, typ, args[0])
        for i, (name, field_type) in enumerate(zip(tuple_type.fields, tuple_type.types, strict=True)):
            value = builder.extract_value(args[1], i)
            context.nrt.incref(builder, field_type, value)
            setattr(payload, name, context.cast(builder, value, field_type, typ.field_dict[name]))
        return context.get_dummy_value()

    return types.none(handle, values), codegen


def _construct(ref_type: Any, values: Any) -> Any:
    """A handle of type `ref_type` on the arrays of `values` (compiled with the runtime on)."""
    handle: Any = structref.new(ref_type)  # type: ignore[call-arg]  # an intrinsic: numba adds its typing context
    _fill(handle, values)
    return handle


# Numba keeps one cache index per function, and loading it unpickles the types of every entry. The cached
# constructor is used for the package's own tuples only, so that index never names a module (a test, a
# script) that another process cannot import; other tuples get a constructor compiled in each process.
_construct_cached = nb.njit(cache=True)(_construct)
_construct_uncached = nb.njit(_construct)


def by_reference(tuple_class: type[NamedTuple]) -> Callable[[Any], Any]:
    """Return `wrap(instance)`: a by-reference handle on an instance of `tuple_class` for compiled code."""
    fields = list(tuple_class._fields)

    class RefType(types.StructRef):
        def preprocess_fields(self, fields: Any) -> Any:
            return tuple((name, types.unliteral(t)) for name, t in fields)

    module = sys.modules[tuple_class.__module__]
    RefType.__name__ = RefType.__qualname__ = f"_{tuple_class.__name__}Ref"
    RefType.__module__ = module.__name__
    register_default(RefType)(models.StructRefModel)

    @infer_getattr
    class _Attributes(AttributeTemplate):
        key = RefType

        def generic_resolve(self, typ: Any, attr: str) -> Any:  # type: ignore[override]
            return typ.field_dict.get(attr)

    @lower_getattr_generic(RefType)
    def _getattr(context: Any, builder: Any, typ: Any, val: Any, attr: str) -> Any:
        value = getattr(_payload(context, builder, typ, val), attr)
        return imputils.impl_ret_borrowed(context, builder, typ.field_dict[attr], value)

    proxy = type(f"_{tuple_class.__name__}Handle", (structref.StructRefProxy,), {"__module__": module.__name__})
    structref.define_boxing(RefType, proxy)
    # Numba's on-disk cache pickles argument types by their module and name, and a later process must find the
    # same class there, or it would compile every kernel again: both classes live in the tuple's module.
    setattr(module, RefType.__name__, RefType)
    setattr(module, proxy.__name__, proxy)

    construct = _construct_cached if module.__name__.startswith("metastasim.") else _construct_uncached

    def wrap(instance: Any) -> Any:
        if nb.config.DISABLE_JIT:  # type: ignore[attr-defined]  # kernels run as Python: the tuple will do
            return instance
        ref_type = RefType([(name, nb.typeof(value)) for name, value in zip(fields, instance, strict=True)])
        return construct(ref_type, instance)

    return wrap
