#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (valid files plus truncated,
oversized and malformed ones). Checkpoint seeds come from the tool:
    python3 fuzz/make_corpus.py [path/to/bionmda]
"""
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def npy(descr, shape, payload, version=(1, 0), fortran=False, extra=""):
    dims = ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "")
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), %s}" % (descr, fortran, dims, extra)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    pre = b"\x93NUMPY" + bytes(version)
    pre += struct.pack("<H", len(header)) if version[0] == 1 else struct.pack("<I", len(header))
    return pre + header.encode() + payload


def main():
    # CSV spike files (the fuzz target reads 100 steps, batch 3, 50 units).
    write("spike_csv", "valid_2col.csv", "step,unit\n0,1\n5,49\n99,0\n")
    write("spike_csv", "valid_3col.csv", "step,batch,unit\n0,2,1\n1,0,0\n")
    write("spike_csv", "crlf_spaces.csv", "step , unit\r\n 3 , 4 \r\n\r\n")
    write("spike_csv", "bad_header.csv", "time,neuron\n0,1\n")
    write("spike_csv", "not_integer.csv", "step,unit\n0,1.5\n")
    write("spike_csv", "out_of_range.csv", "step,batch,unit\n100,0,0\n0,3,0\n0,0,50\n")
    write("spike_csv", "negative.csv", "step,unit\n-1,-2\n")
    write("spike_csv", "huge_number.csv", "step,unit\n99999999999999999999999,1\n")
    write("spike_csv", "trailing_comma.csv", "step,unit,\n0,1,\n")
    write("spike_csv", "empty.csv", "")
    write("spike_csv", "header_only.csv", "step,unit")
    # .npy spike arrays (the target converts for 64 steps, batch 2, 8 units).
    write("npy", "valid_bool_SN.npy", npy("|b1", (4, 16), bytes([1, 0] * 32)))
    write("npy", "valid_u1_SBN.npy", npy("|u1", (3, 2, 8), bytes(48)))
    write("npy", "valid_v2.npy", npy("|u1", (2, 2, 8), bytes(32), version=(2, 0)))
    write("npy", "float_dtype.npy", npy("<f4", (2, 8), bytes(64)))
    write("npy", "value_two.npy", npy("|u1", (1, 2, 8), bytes([2] * 16)))
    write("npy", "fortran.npy", npy("|u1", (2, 8), bytes(16), fortran=True))
    write("npy", "huge_shape.npy", npy("|u1", (2**62, 2**62), b""))
    write("npy", "trailing.npy", npy("|u1", (2, 8), bytes(17)))
    write("npy", "truncated_data.npy", npy("|u1", (2, 8), bytes(15)))
    write("npy", "truncated_preamble.npy", b"\x93NUMPY\x01")
    write("npy", "bad_magic.npy", b"\x93NUMPX\x01\x00\x10\x00{'descr': '|u1'}")
    write("npy", "header_too_long.npy", b"\x93NUMPY\x01\x00\xff\xff{")
    write("npy", "missing_key.npy", npy("|u1", (2,), bytes(2), extra="").replace(b"'fortran_order': False, ", b""))
    write("npy", "unknown_key.npy", npy("|u1", (2,), bytes(2), extra="'x': 1, "))
    write("npy", "bad_version.npy", b"\x93NUMPY\x07\x00" + npy("|u1", (1,), b"\x01")[8:])
    # Checkpoints written by the tool (valid), and damaged copies.
    tool = sys.argv[1] if len(sys.argv) > 1 else None
    if tool:
        tmp = os.path.join(HERE, "corpus", "checkpoint")
        os.makedirs(tmp, exist_ok=True)
        for name, args in [("small_f32.ckp", ["--size", "5", "--batch", "2"]),
                           ("small_f64.ckp", ["--size", "3", "--precision", "float64", "--T-dur", "0"])]:
            path = os.path.join(tmp, name)
            subprocess.run([tool, "simulate", "--backend", "cpu", "--quiet", "--steps", "20", "--rate", "500",
                            "--seed", "2", "--save", path] + args, check=True)
            data = open(path, "rb").read()
            write("checkpoint", name.replace(".ckp", "_truncated.ckp"), data[: len(data) // 2])
            write("checkpoint", name.replace(".ckp", "_header_only.ckp"), data[:81])
            bad = bytearray(data)
            bad[8] = 2
            write("checkpoint", name.replace(".ckp", "_version.ckp"), bytes(bad))
            big = bytearray(data)
            big[17:25] = struct.pack("<q", 2**40)  # units
            write("checkpoint", name.replace(".ckp", "_huge_units.ckp"), bytes(big))
    write("checkpoint", "empty.ckp", b"")
    write("checkpoint", "magic_only.ckp", b"BNMDACKP")


if __name__ == "__main__":
    main()
