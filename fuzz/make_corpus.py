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
    write("npy", "duplicate_key.npy", npy("|u1", (2,), bytes(2), extra="'shape': (2,), "))
    # Option values: the first byte picks the parser (see fuzz_options.cpp:
    # 0 --size in [-5, 10^6], 1 --steps, 2 --seed, 3 --dt, 4 --g0 number or
    # file, 5 --record over 37 units, 6 --sizes (NUL-separated), 7 quoting).
    for name, which, text in [
            ("size_ok", 0, "1000"), ("size_negative", 0, "-5"), ("size_exponent", 0, "1e3"),
            ("size_300_digits", 0, "1" + "0" * 300), ("steps_max", 1, "9223372036854775807"),
            ("steps_overflow", 1, "9223372036854775808"), ("steps_leading_zeros", 1, "0007"),
            ("seed_max", 2, "18446744073709551615"), ("seed_2_64", 2, "18446744073709551616"),
            ("seed_negative", 2, "-1"), ("seed_exponent", 2, "1e23"), ("seed_hex", 2, "0x10"),
            ("dt_ok", 3, "0.1"), ("dt_exponent", 3, "1e-3"), ("dt_nan", 3, "nan"), ("dt_inf", 3, "-Infinity"),
            ("dt_overflow", 3, "1e400"), ("dt_underflow", 3, "1e-400"), ("dt_hex", 3, "0x1p-3"),
            ("dt_space", 3, " 0.1"), ("g0_ok", 4, "0.25"), ("g0_file", 4, "g0.txt"), ("g0_range", 4, "1.5"),
            ("record_list", 5, "3,0,36"), ("record_all", 5, "all"), ("record_none", 5, "none"),
            ("record_exponent", 5, "1e0"), ("record_hex", 5, "0x3"), ("record_space", 5, " 1"),
            ("record_trailing_comma", 5, "1,2,"), ("record_duplicate", 5, "1,1,1"), ("record_range", 5, "37"),
            ("record_huge", 5, "99999999999999999999999"), ("sizes_ok", 6, "65536\0001"),
            ("sizes_nan", 6, "1000\0nan"), ("sizes_float", 6, "1e30"), ("sizes_fraction", 6, "1000.7"),
            ("quote_binary", 7, "\x00\xff\n" * 40), ("quote_long", 7, "q" * 1000)]:
        write("options", name, bytes([which]) + text.encode("latin-1"))
    # Parameter files: the fuzz target reads text for 0 and 3 units (values
    # >= 0) and .npy for 3 units (values in [0, 1]).
    write("unit_values", "valid.txt", "1\n2.5\n3e-1\n")
    write("unit_values", "blank_crlf.txt", "\n 1\t\r\n\r\n2\r\n3")
    write("unit_values", "nan.txt", "1\nnan\n3\n")
    write("unit_values", "inf.txt", "1\n2\n-inf\n")
    write("unit_values", "overflow.txt", "1e999\n2\n3\n")
    write("unit_values", "negative.txt", "1\n-2\n3\n")
    write("unit_values", "hex.txt", "1\n0x10\n3\n")
    write("unit_values", "too_many.txt", "1\n2\n3\n4\n")
    write("unit_values", "too_few.txt", "1\n2\n")
    write("unit_values", "long_line.txt", "1\n" + "7" * 5000 + "x\n3\n")
    write("unit_values", "valid_f8.npy", npy("<f8", (3,), struct.pack("<3d", 0.0, 0.5, 1.0)))
    write("unit_values", "valid_f4.npy", npy("<f4", (3,), struct.pack("<3f", 0.25, 0.5, 0.75)))
    write("unit_values", "nan_f8.npy", npy("<f8", (3,), struct.pack("<3d", 0.0, float("nan"), 1.0)))
    write("unit_values", "inf_f4.npy", npy("<f4", (3,), struct.pack("<3f", 0.0, 0.5, float("inf"))))
    write("unit_values", "range_f8.npy", npy("<f8", (3,), struct.pack("<3d", 0.0, 1.5, 1.0)))
    write("unit_values", "two_d.npy", npy("<f8", (3, 1), struct.pack("<3d", 0.0, 0.5, 1.0)))
    write("unit_values", "int_dtype.npy", npy("<i8", (3,), struct.pack("<3q", 0, 1, 1)))
    write("unit_values", "duplicate_key.npy", npy("<f8", (3,), struct.pack("<3d", 0.0, 0.5, 1.0),
                                                  extra="'descr': '<f4', "))
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
