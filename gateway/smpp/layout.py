"""A PDU body's wire layout, compiled once into one encoder and one decoder per body type.

A body type is a frozen dataclass whose fields, in order, are the body's fields on the wire; each field's
metadata names its kind: ``cstr`` (a C-Octet String of at most ``max`` octets with its NUL), ``u8`` (one
octet), ``sm`` (``sm_length`` and ``short_message``) or ``tlvs`` (the optional parameters, raw). From that
list :func:`compile_layout` writes the two functions out as straight-line Python, field by field, as
:mod:`dataclasses` writes ``__init__``. The codec was a tenth of the gateway's Python at saturation (two
PDUs decoded and two encoded per MO), and walking a table of steps for each PDU made a third of the
process's calls to builtins. For ``MessageIdResp`` the decoder reads::

    def decode(data):
        end = len(data)
        pos = 0
        nul = data.index(0, pos)  # ValueError when the terminator is missing
        f_message_id = data[pos:nul].decode('latin-1')
        pos = nul + 1
        if pos != end:
            raise ValueError(f'{end - pos} octets left over after the last field')
        return body_type(message_id=f_message_id)

A decoder raises IndexError or ValueError for a body that does not match its fields (the codec turns
them into the status to answer with); an encoder raises LocalProtocolError for a value that does not fit
its field, and ValueError for a one-octet field out of range.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import Field, fields
from typing import Any

from gateway.errors import LocalProtocolError
from gateway.smpp.constants import Status

Tlvs = tuple[tuple[int, bytes], ...]
Encoder = Callable[[Any], bytes]
Decoder = Callable[[bytes], Any]

_TLV_HEADER = struct.Struct(">HH")
SM_MAX = 254  # octets of short_message; a longer text goes in message_payload


def compile_layout(body_type: type) -> tuple[Encoder, Decoder]:
    """The encoder (body → octets) and decoder (octets → body) of ``body_type``'s layout."""
    steps = _steps(fields(body_type))
    names = {
        "body_type": body_type,
        "LocalProtocolError": LocalProtocolError,
        "Status": Status,
        "decode_tlvs": decode_tlvs,
        "encode_tlvs": encode_tlvs,
    }
    encoder = _define("encode", "body", _encode_lines(steps), names)
    decoder = _define("decode", "data", _decode_lines(steps, [f.name for f in fields(body_type)]), names)
    return encoder, decoder


def decode_tlvs(data: bytes, pos: int) -> Tlvs:
    """The optional parameters from ``pos`` to the end, as (tag, value) pairs in arrival order."""
    tlvs: list[tuple[int, bytes]] = []
    end = len(data)
    while pos < end:
        if pos + 4 > end:
            raise ValueError("truncated TLV header")
        tag, length = _TLV_HEADER.unpack_from(data, pos)
        pos += 4
        if pos + length > end:
            raise ValueError(f"TLV 0x{tag:04X} length {length} runs past the end of the PDU")
        tlvs.append((tag, data[pos : pos + length]))
        pos += length
    return tuple(tlvs)


def encode_tlvs(tlvs: Tlvs) -> bytes:
    return b"".join(_TLV_HEADER.pack(tag, len(value)) + value for tag, value in tlvs)


# A step: one field, or a run of one-octet fields read and written together.
Step = tuple[str, list[str], int]  # kind, field names, max octets (cstr)


def _steps(body_fields: tuple[Field[Any], ...]) -> list[Step]:
    steps: list[Step] = []
    for f in body_fields:
        kind = f.metadata["kind"]
        if kind == "u8" and steps and steps[-1][0] == "u8":
            steps[-1][1].append(f.name)
        else:
            steps.append((kind, [f.name], f.metadata.get("max", 0)))
    return steps


def _encode_lines(steps: list[Step]) -> list[str]:
    lines: list[str] = []
    parts: list[str] = []
    for n, (kind, step_names, max_octets) in enumerate(steps):
        name = step_names[0]
        if kind == "u8":
            parts.append(f"bytes(({''.join(f'body.{each}, ' for each in step_names)}))")
        elif kind == "cstr":
            lines += [
                f"v{n} = body.{name}.encode('latin-1')",
                f"if len(v{n}) > {max_octets - 1}:",
                f"    raise LocalProtocolError(f'{name} is {{len(v{n})}} octets, at most {max_octets - 1} fit',"
                " command_status=Status.ESME_RINVPARLEN)",
            ]
            parts += [f"v{n}", "b'\\0'"]
        elif kind == "sm":
            lines += [
                f"v{n} = body.{name}",
                f"if len(v{n}) > {SM_MAX}:",
                f"    raise LocalProtocolError(f'{name} is {{len(v{n})}} octets, at most {SM_MAX} fit"
                " (use message_payload)', command_status=Status.ESME_RINVMSGLEN)",
            ]
            parts += [f"bytes((len(v{n}),))", f"v{n}"]
        else:
            parts.append(f"(encode_tlvs(body.{name}) if body.{name} else b'')")
    return [*lines, f"return b''.join(({''.join(f'{part}, ' for part in parts)}))"]


def _decode_lines(steps: list[Step], all_names: list[str]) -> list[str]:
    lines = ["end = len(data)", "pos = 0"]
    for kind, step_names, _ in steps:
        name = step_names[0]
        if kind == "u8":
            count = len(step_names)
            lines += [
                f"if pos + {count} > end:",
                "    raise IndexError('the PDU ends inside its one-octet fields')",
                *(f"f_{each} = data[pos + {i}]" for i, each in enumerate(step_names)),
                f"pos += {count}",
            ]
        elif kind == "cstr":
            lines += [
                "nul = data.index(0, pos)  # ValueError when the terminator is missing",
                f"f_{name} = data[pos:nul].decode('latin-1')",
                "pos = nul + 1",
            ]
        elif kind == "sm":
            lines += [
                "sm_length = data[pos]",
                "if pos + 1 + sm_length > end:",
                "    raise ValueError(f'sm_length {sm_length} runs past the end of the PDU')",
                f"f_{name} = data[pos + 1 : pos + 1 + sm_length]",
                "pos += 1 + sm_length",
            ]
        else:
            lines += [f"f_{name} = decode_tlvs(data, pos)", "pos = end"]
    return [
        *lines,
        "if pos != end:",
        "    raise ValueError(f'{end - pos} octets left over after the last field')",
        f"return body_type({', '.join(f'{each}=f_{each}' for each in all_names)})",
    ]


def _define(name: str, argument: str, lines: list[str], names: dict[str, Any]) -> Callable[[Any], Any]:
    source = f"def {name}({argument}):\n" + "".join(f"    {line}\n" for line in lines)
    namespace = dict(names)
    exec(compile(source, f"<{names['body_type'].__name__} {name}>", "exec"), namespace)
    function: Callable[[Any], Any] = namespace[name]
    function.__doc__ = source  # what was compiled, for whoever reads a traceback
    return function
