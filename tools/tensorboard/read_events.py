#!/usr/bin/env python3
"""An independent TensorBoard event-file reader (no tensorflow/tensorboard packages): TFRecord framing with both
masked CRC-32C checks, and the Event / Summary / Summary.Value protobufs decoded by hand.

  read_events.py FILE...   print {"files": {FILE: {"file_version": ..., "events": [{"step", "wall_time", "scalars", "texts"?}]}}}
  (a text value is TensorBoard's text plugin's: metadata plugin_name "text", a DT_STRING tensor's string_val)
Exits 1 naming the offset on a bad CRC, a truncated record or a malformed protobuf.
"""
import json, struct, sys

# CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven
TABLE = []
for n in range(256):
    c = n
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    TABLE.append(c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def fields(buf):
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = varint(buf, i)
        elif wire == 1:
            v, i = buf[i:i + 8], i + 8
        elif wire == 5:
            v, i = buf[i:i + 4], i + 4
        elif wire == 2:
            n, i = varint(buf, i)
            v, i = buf[i:i + n], i + n
        else:
            raise ValueError(f"wire type {wire}")
        if i > len(buf):
            raise ValueError("field runs past the message")
        yield field, wire, v


def varint(buf, i):
    v = shift = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return v, i


def event(buf):
    e = {"step": 0, "scalars": {}}
    for f, w, v in fields(buf):
        if f == 1 and w == 1:
            e["wall_time"] = struct.unpack("<d", v)[0]
        elif f == 2 and w == 0:
            e["step"] = v if v < 1 << 63 else v - (1 << 64)
        elif f == 3 and w == 2:
            e["file_version"] = v.decode("utf-8")
        elif f == 5 and w == 2:
            for sf, sw, sv in fields(v):
                if sf != 1 or sw != 2:
                    continue
                tag, val, text, plugin = None, None, None, None
                for vf, vw, vv in fields(sv):
                    if vf == 1 and vw == 2:
                        tag = vv.decode("utf-8")
                    elif vf == 2 and vw == 5:
                        val = struct.unpack("<f", vv)[0]
                    elif vf == 8 and vw == 2:  # TensorProto: dtype 1, string_val 8
                        for tf, tw, tv in fields(vv):
                            if tf == 1 and tw == 0 and tv != 7:
                                raise ValueError(f"tensor dtype {tv}, expected DT_STRING (7)")
                            if tf == 8 and tw == 2:
                                text = tv.decode("utf-8")
                    elif vf == 9 and vw == 2:  # SummaryMetadata.plugin_data(1).plugin_name(1)
                        for mf, mw, mv in fields(vv):
                            if mf == 1 and mw == 2:
                                plugin = next((pv.decode("utf-8") for pf, pw, pv in fields(mv) if pf == 1 and pw == 2), None)
                if plugin == "text":
                    e.setdefault("texts", {})[tag] = text
                else:
                    e["scalars"][tag] = val
    return e


def read(path):
    blob = open(path, "rb").read()
    at, out = 0, {"file_version": None, "events": []}
    while at < len(blob):
        if at + 12 > len(blob):
            raise ValueError(f"{path}: truncated record header at {at}")
        (n,) = struct.unpack("<Q", blob[at:at + 8])
        if struct.unpack("<I", blob[at + 8:at + 12])[0] != masked(blob[at:at + 8]):
            raise ValueError(f"{path}: bad length CRC at {at}")
        if at + 16 + n > len(blob):
            raise ValueError(f"{path}: truncated record at {at}")
        data = blob[at + 12:at + 12 + n]
        if struct.unpack("<I", blob[at + 12 + n:at + 16 + n])[0] != masked(data):
            raise ValueError(f"{path}: bad data CRC at {at}")
        e = event(data)
        if "file_version" in e:
            out["file_version"] = e["file_version"]
        else:
            out["events"].append(e)
        at += 16 + n
    return out


if __name__ == "__main__":
    try:
        print(json.dumps({"files": {p: read(p) for p in sys.argv[1:]}}))
    except (ValueError, IndexError, struct.error) as e:
        print(str(e), file=sys.stderr)
        sys.exit(1)
