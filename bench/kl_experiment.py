#!/usr/bin/env python3
"""Real weights, the truth behind the weight-space proxies (issue 5 item 7).

Trains a small byte-level GPT on text found on this machine (Python standard library sources,
/usr/share/doc, licenses), exports its weights as BF16 `model.safetensors`, quantizes the blocks'
Linear weights with ctq (round-to-nearest and learned rounding, with a sweep of the subspace /
full-error trade-off knob) and with the reference convert_to_quant (RTN and its learned rounding),
for FP8 (float8_e4m3fn, per tensor) and INT8 (int8_tensorwise, per row), and measures on held-out
text: cross-entropy and KL(p_orig || p_quant) of the next-token distribution, where "orig" is the
BF16 file as exported (so only quantization differs). Every model is evaluated in float32 with the
dequantized weights W = q.float() * scale computed in float32, TF32 off.

Runs on torch 1.13 (CPU, manual attention) and torch 2.x (CUDA). safetensors is read and written
here (json + struct + torch.frombuffer) so that no extra package is needed.
  python3 bench/kl_experiment.py --device cuda            (GPU machine; see bench/kl_experiment.sh)
  python3 bench/kl_experiment.py --tiny --device cpu      (a few minutes on a laptop CPU)
"""
import argparse, hashlib, json, math, os, struct, subprocess, sys, time, gzip

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------- safetensors, by hand
ST_DTYPES = {  # safetensors code -> (torch dtype to view the bytes as, bytes per element)
    "F32": (torch.float32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2),
    "I64": (torch.int64, 8), "I32": (torch.int32, 4), "I16": (torch.int16, 2),
    "I8": (torch.int8, 1), "U8": (torch.uint8, 1), "BOOL": (torch.bool, 1),
    # FP8 stays raw bytes: torch 1.13 has no float8 dtype; decoded through a table below
    "F8_E4M3": (torch.uint8, 1), "F8_E5M2": (torch.uint8, 1),
}


def st_read(path):
    """Returns {name: (safetensors dtype code, tensor)}; FP8 tensors come back as uint8 bytes."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        blob = bytearray(f.read())
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype, size = ST_DTYPES[info["dtype"]]
        raw = torch.frombuffer(blob, dtype=torch.uint8, count=end - begin, offset=begin) if end > begin \
            else torch.empty(0, dtype=torch.uint8)
        t = raw.view(dtype) if size > 1 or dtype != torch.uint8 else raw
        out[name] = (info["dtype"], t.reshape(info["shape"]).clone())
    return out


def st_write(path, tensors):
    """tensors: {name: torch tensor of F32/BF16/F16}; written atomically (tmp + rename)."""
    codes = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16"}
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        data = t.view(torch.int16 if t.element_size() == 2 else torch.int32).numpy().tobytes()
        header[name] = {"dtype": codes[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb)
        for c in chunks:
            f.write(c)
    os.replace(path + ".tmp", path)


def fp8_table(exp_bits, bias):
    """The 256 values of an FP8 byte (e4m3fn: no infinities, S.1111.111 is NaN; e5m2: IEEE-like)."""
    man_bits = 7 - exp_bits
    vals = []
    for b in range(256):
        s, e, m = b >> 7, (b >> man_bits) & ((1 << exp_bits) - 1), b & ((1 << man_bits) - 1)
        if exp_bits == 4 and e == 15 and m == 7:
            v = float("nan")
        elif exp_bits == 5 and e == 31:
            v = float("inf") if m == 0 else float("nan")
        elif e == 0:
            v = m / (1 << man_bits) * 2.0 ** (1 - bias)
        else:
            v = (1 + m / (1 << man_bits)) * 2.0 ** (e - bias)
        vals.append(-v if s else v)
    return torch.tensor(vals, dtype=torch.float32)


FP8_DECODE = {"F8_E4M3": fp8_table(4, 7), "F8_E5M2": fp8_table(5, 15)}


def check_fp8_table():
    if hasattr(torch, "float8_e4m3fn"):  # torch >= 2.1: the table must match torch's own decode
        b = torch.arange(256, dtype=torch.uint8)
        ref = b.view(torch.float8_e4m3fn).float()
        ok = torch.equal(ref.nan_to_num(123.0), FP8_DECODE["F8_E4M3"].nan_to_num(123.0))
        assert ok, "e4m3fn decode table differs from torch.float8_e4m3fn"


def dequantize(tensors, name):
    """float32 weight of `name` (a '.weight' key): q.float() * weight_scale, scale 0-d, per row or blocks."""
    code, w = tensors[name]
    q = FP8_DECODE[code][w.long()] if code in FP8_DECODE else w.float()
    base = name[: -len(".weight")]
    scale_entry = tensors.get(base + ".weight_scale") or tensors.get(base + ".scale_weight")
    if scale_entry is None:
        return q, None
    s = scale_entry[1].float()
    M, N = q.shape
    if s.numel() == 1:
        return q * s.reshape(()), "tensor"
    if s.numel() == M and (s.dim() == 1 or s.shape[-1] == 1):
        return q * s.reshape(M, 1), "row"
    if s.dim() == 2:  # blocks [ceil(M/b), ceil(N/b)]
        bm, bn = math.ceil(M / s.shape[0]), math.ceil(N / s.shape[1])
        full = s.repeat_interleave(bm, 0).repeat_interleave(bn, 1)[:M, :N]
        return q * full, "block%d" % bm
    raise ValueError("%s: weight_scale of shape %s does not fit weight %s" % (name, list(s.shape), [M, N]))


# ---------------------------------------------------------------- text
def gather_text(cap_bytes):
    """Real text on any Ubuntu/Debian machine, in a fixed (hashed path) order. Held-out = files whose path
    hashes to 0 mod 20 (about 5%, spread over every source, unseen in training)."""
    roots = [os.path.dirname(os.__file__), "/usr/share/common-licenses", "/usr/share/doc"]
    paths = []
    for root in roots:
        for dirpath, dirnames, files in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in ("site-packages", "dist-packages", "__pycache__"))
            for f in sorted(files):
                if f.endswith((".py", ".txt", ".md", ".rst", ".gz")) or root.endswith("licenses") or "copyright" in f:
                    paths.append(os.path.join(dirpath, f))
    paths.sort(key=lambda p: hashlib.md5(p.encode()).hexdigest())  # mixes the sources under the cap
    train, held, total = bytearray(), bytearray(), 0
    for p in paths:
        try:
            if os.path.islink(p) or os.path.getsize(p) > 4 << 20:
                continue
            data = gzip.open(p).read() if p.endswith(".gz") else open(p, "rb").read()
        except Exception:  # unreadable or corrupt: not text we can use
            continue
        if not data or b"\0" in data[:4096]:
            continue  # binary
        data = data[:256 << 10]  # no single changelog dominates the corpus or the held-out part
        if int(hashlib.md5(p.encode()).hexdigest(), 16) % 20 == 0:
            held += data + b"\n"
        else:
            train += data + b"\n"
        total += len(data)
        if total >= cap_bytes:
            break
    return torch.frombuffer(train, dtype=torch.uint8).clone(), torch.frombuffer(held, dtype=torch.uint8).clone()


# ---------------------------------------------------------------- model
class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.ModuleDict({"qkv": nn.Linear(d, 3 * d, bias=False), "proj": nn.Linear(d, d, bias=False)})
        self.mlp = nn.ModuleDict({"fc": nn.Linear(d, 4 * d, bias=False), "proj": nn.Linear(4 * d, d, bias=False)})

    def attention(self, x):
        B, T, D = x.shape
        q, k, v = self.attn["qkv"](x).view(B, T, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        if hasattr(F, "scaled_dot_product_attention"):
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # torch 1.13
            att = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
            mask = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
            y = att.masked_fill(mask, float("-inf")).softmax(-1) @ v
        return self.attn["proj"](y.transpose(1, 2).reshape(B, T, D))

    def forward(self, x):
        x = x + self.attention(self.ln1(x))
        return x + self.mlp["proj"](F.gelu(self.mlp["fc"](self.ln2(x))))


class GPT(nn.Module):
    def __init__(self, layers, d, heads, ctx):
        super().__init__()
        self.tok_emb, self.pos_emb = nn.Embedding(256, d), nn.Embedding(ctx, d)
        self.blocks = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln_f, self.lm_head = nn.LayerNorm(d), nn.Linear(d, 256, bias=False)
        for n, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * layers) if n.endswith("proj.weight") else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, idx):
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(idx.shape[1], device=idx.device))
        for b in self.blocks:
            x = b(x)
        return self.lm_head(self.ln_f(x))


def quantized_names(model):
    """The weights the quantizers may touch: the blocks' Linear layers (embeddings, head, norms stay)."""
    return [n for n, p in model.state_dict().items() if n.startswith("blocks.") and p.dim() == 2]


EXCLUDE_REGEX = r"^(tok_emb|pos_emb|lm_head)\."


def train(args, model, data, device):
    g = torch.Generator(device="cpu").manual_seed(args.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    data = data.to(device)
    use_bf16 = device.type == "cuda"
    t0, step, loss_ema = time.time(), 0, None
    while True:
        frac = step / args.train_steps if args.train_steps else (time.time() - t0) / args.train_seconds
        if frac >= 1:
            break
        lr = args.lr * min(1.0, (step + 1) / 100) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for group in opt.param_groups:
            group["lr"] = lr
        starts = torch.randint(0, len(data) - args.ctx - 1, (args.batch,), generator=g).to(device)
        win = data[starts[:, None] + torch.arange(args.ctx + 1, device=device)].long()
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_bf16):
            logits = model(win[:, :-1])
        loss = F.cross_entropy(logits.float().reshape(-1, 256), win[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 100 == 0:
            loss_ema = loss.item()
            print("  step %5d  %6.1f s  train loss %.4f  lr %.2e" % (step, time.time() - t0, loss_ema, lr), flush=True)
    return step, time.time() - t0


# ---------------------------------------------------------------- evaluation
def eval_windows(held, ctx, count):
    """`count` deterministic windows of ctx+1 bytes, evenly spaced over the held-out stream."""
    count = min(count, (len(held) - 1) // (ctx + 1))
    stride = (len(held) - ctx - 1) // count
    starts = torch.arange(count) * stride
    return held[starts[:, None] + torch.arange(ctx + 1)].long()


def load_state(model, tensors, device):
    """Puts a file's tensors into the model (dequantizing), all float32. Returns {layout: count}."""
    state, layouts = model.state_dict(), {}
    for name in state:
        if name not in tensors:
            raise KeyError("tensor %s missing from the file" % name)
        w, layout = dequantize(tensors, name) if name.endswith(".weight") else (tensors[name][1].float(), None)
        if layout is None and tensors[name][0] not in ("F32", "BF16", "F16"):
            raise ValueError("%s is %s without a weight_scale" % (name, tensors[name][0]))
        if layout:
            layouts[layout] = layouts.get(layout, 0) + 1
        state[name] = w.reshape(state[name].shape)
    model.load_state_dict(state)
    return layouts


@torch.no_grad()
def evaluate(model, windows, batch, device, ref_logp=None):
    """Per-window mean loss, and per-window mean KL(ref || model) when ref_logp (a list) is given;
    without it, the list is filled with this model's log-probabilities (kept on the CPU)."""
    losses, kls, fill = [], [], ref_logp is not None and len(ref_logp) == 0
    for i in range(0, len(windows), batch):
        win = windows[i : i + batch].to(device)
        logp = model(win[:, :-1]).float().log_softmax(-1)
        nll = -logp.gather(-1, win[:, 1:, None]).squeeze(-1)
        losses.append(nll.mean(1).cpu().double())
        if fill:
            ref_logp.append(logp.cpu())
        elif ref_logp is not None:
            ref = ref_logp[i // batch].to(device)
            kls.append((ref.exp() * (ref - logp)).sum(-1).mean(1).cpu().double())
    loss = torch.cat(losses)
    return loss, (torch.cat(kls) if kls else None)


# ---------------------------------------------------------------- quantizers
FORMATS = {"fp8": [], "int8": ["--int8", "--scaling_mode", "row"]}


def methods(args):
    """(label, tool, extra args); `ours` rows sweep the subspace / full-error trade-off knob."""
    rows = [("RTN (ctq --simple)", "ctq", ["--simple"]),
            ("reference RTN", "ref", ["--simple", "--optimizer", "original"]),
            ("reference learned (prodigy)", "ref", [])]
    for spec in args.ours:
        few, ratio = spec.split(":")
        label = "ours, full_error_weight %s, max_full_ratio %s%s" % (few, ratio, " (defaults)" if spec == "2:1.005" else "")
        rows.append((label, "ctq", ["--full_error_weight", few, "--max_full_ratio", ratio]))
    return [r for r in rows if not (args.skip_reference and r[1] == "ref")]


def quantize(args, tool, extra, fmt, model_path, out_path, log_path):
    common = ["-i", model_path, "-o", out_path, "--manual_seed", "1", "--exclude_layers", EXCLUDE_REGEX] + FORMATS[fmt] + extra
    if tool == "ctq":
        cmd = [args.ctq] + common + ["--device", args.device, "--no_progress"]
        env = os.environ
    else:
        cmd = [sys.executable, "-m", "convert_to_quant.convert_to_quant"] + common + ["--comfy_quant"]
        env = dict(os.environ, PYTHONPATH=args.ref + os.pathsep + os.path.join(args.ref, "shims"))
    if os.path.exists(out_path):
        os.remove(out_path)
    t0 = time.time()
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=args.tool_timeout)
        rc, text = r.returncode, r.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        rc, text = "timeout", (e.stdout or b"").decode(errors="replace")
    seconds = time.time() - t0
    with open(log_path, "a") as log:  # one file for every run: the device returns few files
        log.write("==== %s (%.1f s, rc %s)\n%s\n%s\n" % (" ".join(cmd), seconds, rc, text.rstrip(), "=" * 40))
    if rc != 0 or not os.path.exists(out_path):
        tail = [l for l in text.splitlines() if l.strip()][-1:]
        raise RuntimeError("%s exited %s: %s (log: %s)" % (tool, rc, (tail or ["no output"])[0].strip(), log_path))
    return seconds


def weight_errors(args, model_path, out_path):
    """ctq verify's weight-space proxies, averaged over the layers: relative full error and
    relative error in the principal subspace (the quantity learned rounding minimises)."""
    report_path = out_path + ".verify.json"
    try:
        # The exact subspace (--full_matrix): a randomized one can flatter a rounding tuned to it.
        subprocess.run([args.ctq, "verify", "--orig", model_path, "--quant", out_path, "--report", report_path,
                        "--full_matrix", "--device", args.device],
                       capture_output=True, timeout=args.tool_timeout, check=True)
        layers = json.load(open(report_path))["layers"]
        mean = lambda key: sum(l[key] for l in layers) / len(layers)
        return {"weight_rel_error": mean("rel_error"), "subspace_rel_error": mean("subspace_rel_error"),
                "snr_db": mean("snr_db")}
    except Exception as e:  # missing proxies must not lose the KL numbers
        return {"verify_error": "%s: %s" % (type(e).__name__, e)}


# ---------------------------------------------------------------- report
def compare_to_rtn(r, rtn):
    """Ratios against round-to-nearest of the same format; the s.e. of the KL ratio comes from the
    per-window paired difference (all methods see the same windows)."""
    r["kl_ratio_vs_rtn"] = ratio = r["kl"] / rtn["kl"]
    d = torch.tensor(r["kl_per_window"]) - ratio * torch.tensor(rtn["kl_per_window"])
    r["kl_ratio_se"] = float(d.std() / math.sqrt(len(d)) / rtn["kl"]) if len(d) > 1 else 0.0
    for key in ("weight_rel_error", "subspace_rel_error"):
        r[key + "_vs_rtn"] = r.get(key, float("nan")) / rtn.get(key, float("nan"))


def table_line(r):
    if "kl" not in r:
        return "| %s | %s | failed: %s |" % (r["format"], r["method"], r["error"].splitlines()[0])
    nan = float("nan")
    return "| %s | %s | %.5f | %+.5f ± %.5f | %.4e ± %.1e | %.4f ± %.4f | %.4f | %.4f | %.1f | %s |" % (
        r["format"], r["method"], r["loss"], r["delta_loss"], r["delta_loss_se"], r["kl"], r["kl_se"],
        r.get("kl_ratio_vs_rtn", nan), r.get("kl_ratio_se", nan), r.get("weight_rel_error_vs_rtn", nan),
        r.get("subspace_rel_error_vs_rtn", nan), r["seconds"], r["layouts"])


def report(rows, orig_loss, args, meta, final=True):
    rtn = {r["format"]: r for r in rows if r["method"].startswith("RTN") and "kl" in r}
    for r in rows:
        if "kl" in r and r["format"] in rtn:
            compare_to_rtn(r, rtn[r["format"]])
    lines = ["# KL experiment: quantized vs original (BF16) small GPT on held-out text", "",
             "model: %s" % meta["model"], "held-out: %s" % meta["heldout"],
             "original held-out loss: %.5f nats/byte" % orig_loss, "",
             "| format | method | loss | Δloss ± s.e. | KL (nats/token) ± s.e. | KL / RTN ± s.e. "
             "| weight err / RTN | subspace err / RTN | quantize s | layouts |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    lines += [table_line(r) for r in rows]
    lines += ["", "Δloss, KL: means over the held-out windows; s.e. from the per-window spread (paired with the",
              "original, resp. with RTN of the same format, for the ratio). weight err / subspace err: ctq verify's",
              "mean relative weight error over the quantized layers, full and in the top-k principal subspace."]
    lines += ["- %s %s: ctq verify failed: %s" % (r["format"], r["method"], r["verify_error"])
              for r in rows if r.get("verify_error")]
    text = "\n".join(lines) + "\n"
    if final:
        print("\n" + text)
    with open(os.path.join(args.out, "kl_results.md"), "w") as f:
        f.write(text)
    slim = [{k: v for k, v in r.items() if k != "kl_per_window"} for r in rows]
    with open(os.path.join(args.out, "kl_results.json"), "w") as f:
        json.dump({"meta": meta, "original_loss": orig_loss, "results": slim}, f, indent=1)


# ---------------------------------------------------------------- main
def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tiny", action="store_true", help="2 layers, d 128, 200 steps: a CPU smoke run")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--d_model", type=int, default=512)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--ctx", type=int, default=256)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--train_seconds", type=float, default=120)
    p.add_argument("--train_steps", type=int, default=0, help="fixed step count instead of --train_seconds")
    p.add_argument("--text_mb", type=float, default=40)
    p.add_argument("--eval_windows", type=int, default=512, help="held-out windows of ctx bytes")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--ctq", default=os.environ.get("CTQ", "build-gpu/bin/ctq"))
    p.add_argument("--ref", default=os.environ.get("REF", ".ref"))
    p.add_argument("--out", default=os.environ.get("OUT", "/tmp/kl-out"))
    p.add_argument("--work", default="/tmp/kl-work")
    p.add_argument("--formats", nargs="+", default=["fp8", "int8"], choices=sorted(FORMATS))
    p.add_argument("--ours", nargs="*", default=["2:1.005", "0.5:1.005", "8:1.005", "2:1.02", "0.5:1.05"],
                   help="ctq learned runs as FULL_ERROR_WEIGHT:MAX_FULL_RATIO (ctq's defaults: 2:1.005)")
    p.add_argument("--skip_reference", action="store_true")
    p.add_argument("--tool_timeout", type=float, default=300, help="seconds per quantizer run")
    args = p.parse_args()
    if args.tiny:
        args.layers, args.d_model, args.heads, args.ctx, args.batch = 2, 128, 4, 128, 16
        args.train_steps, args.text_mb, args.eval_windows = args.train_steps or 200, min(args.text_mb, 4), 64
    return args


class Experiment:
    """The trained model's file, the held-out windows and the original's log-probabilities on them."""

    def __init__(self, args, device):
        t0 = time.time()
        train_data, held = gather_text(int(args.text_mb * (1 << 20)))
        print("text: %.1f MB train, %.2f MB held-out (%.1f s)" % (len(train_data) / 1e6, len(held) / 1e6, time.time() - t0))
        self.args, self.device = args, device
        self.model = GPT(args.layers, args.d_model, args.heads, args.ctx).to(device)
        steps, seconds = train(args, self.model, train_data, device)
        self.model_path = os.path.join(args.work, "model.safetensors")
        st_write(self.model_path, {n: t.to(torch.bfloat16) for n, t in self.model.state_dict().items()})
        self.linears = len(quantized_names(self.model))
        self.windows = eval_windows(held, args.ctx, args.eval_windows)
        self.batch = 32 if device.type != "cpu" else 16
        self.meta = {"model": "GPT %d layers, d %d, %d heads, ctx %d, byte vocab, %d steps x %d x %d bytes in %.0f s, %s" % (
                         args.layers, args.d_model, args.heads, args.ctx, steps, args.batch, args.ctx, seconds, device),
                     "heldout": "%d windows x %d bytes = %d tokens (fp32 eval, TF32 off)" % (
                         len(self.windows), args.ctx, self.windows[:, 1:].numel()),
                     "quantized_linears": self.linears, "torch": torch.__version__}
        self.model.float()
        load_state(self.model, st_read(self.model_path), device)  # the original = the BF16 file, read back
        self.ref_logp = []
        self.orig_window_loss, _ = evaluate(self.model, self.windows, self.batch, device, self.ref_logp)
        self.orig_loss = float(self.orig_window_loss.mean())
        print("original (BF16 file) held-out loss %.5f" % self.orig_loss)

    def measure(self, row, out_path):
        """Loads a quantized file into the model and fills `row` with its held-out numbers."""
        layouts = load_state(self.model, st_read(out_path), self.device)
        if sum(layouts.values()) != self.linears:
            raise RuntimeError("%d of %d block linears quantized (%s)" % (sum(layouts.values()), self.linears, layouts))
        row["layouts"] = " ".join("%s:%d" % kv for kv in sorted(layouts.items()))
        loss, kl = evaluate(self.model, self.windows, self.batch, self.device, self.ref_logp)
        n, delta = len(kl), loss - self.orig_window_loss  # paired: the same windows
        row.update(loss=float(loss.mean()), delta_loss=float(delta.mean()),
                   delta_loss_se=float(delta.std() / math.sqrt(n)) if n > 1 else 0.0,
                   kl=float(kl.mean()), kl_se=float(kl.std() / math.sqrt(n)) if n > 1 else 0.0,
                   kl_per_window=kl.tolist())
        row.update(weight_errors(self.args, self.model_path, out_path))


def main():
    args = parse_args()
    torch.manual_seed(args.seed)
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 evaluation means fp32, not TF32
    torch.backends.cudnn.allow_tf32 = False
    check_fp8_table()
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    log_path = os.path.join(args.out, "quantize_logs.txt")
    open(log_path, "w").close()
    t0 = time.time()
    exp = Experiment(args, torch.device(args.device))
    out_path = os.path.join(args.work, "q.safetensors")
    rows = []
    for fmt in args.formats:
        for label, tool, extra in methods(args):
            row = {"format": fmt, "method": label, "tool": tool, "args": extra}
            try:
                row["seconds"] = quantize(args, tool, extra, fmt, exp.model_path, out_path, log_path)
                exp.measure(row, out_path)
                print("%-5s %-52s loss %.5f  KL %.4e  (%.1f s)" % (fmt, label, row["loss"], row["kl"], row["seconds"]), flush=True)
            except Exception as e:  # one failed method must not lose the others
                row["error"] = "%s: %s" % (type(e).__name__, e)
                print("%-5s %-52s FAILED %s" % (fmt, label, row["error"]), flush=True)
            rows.append(row)
            report(rows, exp.orig_loss, args, exp.meta, final=False)  # a run cut short still leaves its rows
    report(rows, exp.orig_loss, args, exp.meta)
    print("total %.0f s" % (time.time() - t0))


if __name__ == "__main__":
    main()
