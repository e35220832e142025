#!/usr/bin/python3
"""The DMMP joint training step of `dmmp bench train` written in PyTorch.

The same computation as src/train/recipe.c (recipe_train_step, schedule joint)
on the synthetic batches of src/bench/bench_train.c:
  * 23 single-valued fields (10 user, 3 context, 6 item, 4 user-item cross),
    --vocab rows each (default 100000), embedding dim from the config (16);
    every view has tables of its own, as in dmmp: the teacher reads all 23
    fields, the user tower and gate the 13 user and context fields, the two
    item towers the 6 item fields (42 tables). Ids are Zipf(--zipf) over the
    vocabulary like the bench (or uniform with --ids uniform); labels are
    click ~ Bernoulli(0.1), conversion = click and Bernoulli(0.1).
  * teacher: teacher.kind (shared_bottom, mmoe, cgc, ple), experts and towers
    of the config, ESMM heads (pCTCVR = pCTR pCVR); student: user tower, click
    and conversion item towers, the user preference gate, s = <u, v> / tau + b,
    fused r = w_c s_c + w_v s_v; the 8 loss terms of dmmp (teacher ctr and
    ctcvr, student ctr, ctcvr, fused, KD ctr, ctcvr, fused, the teacher's
    outputs detached) under uncertainty weighting (one learned s_i per term);
  * Adam on the dense parameters, torch.optim.SparseAdam on sparse embedding
    gradients (the closest PyTorch has to dmmp's lazy sparse Adam: it touches
    only the rows of the batch, but its bias correction uses one step count
    per table where dmmp keeps one per row).
The shapes come from an INI file (default experiments/configs/bench_default.ini).
Prints samples/s (median, min, max of --repeat runs of --steps steps after
--warmup steps), ms per phase, parameter counts and model FLOPs counted as dmmp
counts them (dense layers: 2*in*out per sample forward, 4*in*out backward).
"""
import argparse
import configparser
import ctypes
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIELDS = (("user", 10), ("context", 3), ("item", 6), ("cross", 4))
TERMS = ("teacher_ctr", "teacher_ctcvr", "teacher_cvr", "student_ctr", "student_ctcvr", "student_fused",
         "kd_ctr", "kd_ctcvr", "kd_fused", "sampled_ctr", "sampled_ctcvr", "sampled_fused",
         "kd_sampled_ctr", "kd_sampled_ctcvr")
PROB_EPS = 1e-7  # LOSS_PROB_EPS of src/nn/loss.h


def fail(msg):
    print("torch_step.py: " + msg, file=sys.stderr)
    sys.exit(2)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=os.path.join(HERE, "configs", "bench_default.ini"))
    p.add_argument("--batch", type=int, default=0, help="batch size (default: the config's)")
    p.add_argument("--threads", type=int, default=0, help="threads (default: the config's)")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--vocab", type=int, default=100000)
    p.add_argument("--zipf", type=float, default=1.1)
    p.add_argument("--ids", choices=("zipf", "uniform"), default="zipf")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--tables", choices=("per_view", "per_field"), default="per_view",
                   help="per_view: one nn.Embedding per view holding its fields' tables as row ranges "
                        "(the same weights, fewer calls); per_field: one nn.Embedding per field and view")
    p.add_argument("--foreach", action="store_true", help="dense Adam with foreach=True")
    p.add_argument("--profile", action="store_true", help="print the profiler's top operators of one step")
    a = p.parse_args()
    if a.steps < 1 or a.repeat < 1 or a.warmup < 0:
        fail("--steps and --repeat must be >= 1, --warmup >= 0")
    return a


def ints(s):
    return [int(x) for x in s.split(",") if x.strip()]


def load_config(path):
    c = configparser.ConfigParser(inline_comment_prefixes=(";", "#"))
    if not c.read(path):
        fail("cannot read config " + path)
    g = lambda sec, key, d: c.get(sec, key, fallback=d)
    cfg = {
        "kind": g("model", "kind", "dmmp"),
        "dim": int(g("data", "embedding_dim", "16")),
        "pooling": g("data", "pooling", "sum"),
        "teacher": g("teacher", "kind", "cgc"),
        "shared": int(g("teacher", "shared_experts", "2")),
        "specific": int(g("teacher", "specific_experts", "1")),
        "levels": int(g("teacher", "levels", "1")),
        "expert_dims": ints(g("teacher", "expert_dims", "256,128")),
        "tower_dims": ints(g("teacher", "tower_dims", "64")),
        "aux": g("teacher", "aux", "on") == "on",
        "user_tower": ints(g("student", "user_tower", "256,128,64")),
        "item_tower": ints(g("student", "item_tower", "256,128,64")),
        "l2norm": g("student", "l2norm", "off") == "on",
        "tau": float(g("student", "temperature", "1.0")),
        "gate": g("student", "gate", "on") == "on",
        "gate_dims": ints(g("student", "gate_dims", "32")),
        "gate_user_bias": g("student", "gate_user_bias", "off") == "on",
        "negatives": g("student", "negatives", "none"),
        "lam": float(g("fuse", "conversion_weight", "0.5")),
        "kd": g("kd", "enabled", "on") == "on",
        "kd_loss": g("kd", "loss", "bce"),
        "kd_t": float(g("kd", "temperature", "1.0")),
        "weighting": g("weighting", "kind", "uncertainty"),
        "batch": int(g("train", "batch_size", "1024")),
        "lr": float(g("train", "learning_rate", "1e-3")),
        "emb_lr": float(g("train", "embedding_lr", "1e-3")),
        "optimizer": g("train", "optimizer", "adam"),
        "sparse_optimizer": g("train", "sparse_optimizer", "lazy_adam"),
        "schedule": g("train", "schedule", "joint"),
        "threads": int(g("train", "threads", "2")),
    }
    # What this step implements; anything else is refused rather than timed wrongly.
    want = {"kind": "dmmp", "l2norm": False, "gate": True, "gate_user_bias": False, "negatives": "none",
            "kd": True, "kd_loss": "bce", "weighting": "uncertainty", "optimizer": "adam",
            "sparse_optimizer": "lazy_adam", "schedule": "joint", "aux": True}
    for k, v in want.items():
        if cfg[k] != v:
            fail("%s: %s = %r is not implemented here (only %r)" % (path, k, cfg[k], v))
    if cfg["teacher"] not in ("shared_bottom", "mmoe", "cgc", "ple"):
        fail("%s: teacher.kind %s unknown" % (path, cfg["teacher"]))
    return cfg


args = parse_args()
cfg = load_config(args.config)
batch = args.batch or cfg["batch"]
threads = args.threads or cfg["threads"]
# OpenBLAS and OpenMP read these when the libraries load, so before torch is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(threads))
os.environ.setdefault("OMP_NUM_THREADS", str(threads))
try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    print("torch_step.py: %s cannot import torch (%s); Debian: apt-get install python3-torch" % (sys.executable, e),
          file=sys.stderr)
    sys.exit(3)
torch.set_num_threads(threads)
torch.manual_seed(args.seed)


def init_linear(lin, relu):
    """dmmp's initialisation (src/nn/dense.c): uniform, He for ReLU layers, Glorot otherwise; zero biases."""
    fan_in, fan_out = lin.in_features, lin.out_features
    limit = (6.0 / fan_in) ** 0.5 if relu else (6.0 / (fan_in + fan_out)) ** 0.5
    with torch.no_grad():
        lin.weight.uniform_(-limit, limit)
        lin.bias.zero_()


class MLP(nn.Module):
    """in -> dims[0] -> ... with ReLU between layers; last_relu: after the last one too."""

    def __init__(self, d_in, dims, last_relu):
        super().__init__()
        self.layers = nn.ModuleList()
        self.relu = []
        for i, d in enumerate(dims):
            relu = i + 1 < len(dims) or last_relu
            lin = nn.Linear(d_in, d)
            init_linear(lin, relu)
            self.layers.append(lin)
            self.relu.append(relu)
            d_in = d

    def forward(self, x):
        for lin, relu in zip(self.layers, self.relu):
            x = lin(x)
            if relu:
                x = F.relu(x)
        return x


class Teacher(nn.Module):
    """shared_bottom, MMoE, CGC (PLE with one level) or PLE, two tasks (CTR, CVR), one tower each
    (src/model/teacher.c: experts task 0's specific, task 1's, then the shared ones)."""

    def __init__(self, c, d_in):
        super().__init__()
        kind = c["teacher"]
        self.ns = 0 if kind in ("shared_bottom", "mmoe") else c["specific"]
        self.nsh = 1 if kind == "shared_bottom" else c["shared"]
        self.gated = kind != "shared_bottom"
        self.levels = c["levels"] if kind == "ple" else 1
        width = c["expert_dims"][-1]
        self.experts, self.gates, self.shared_gates = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        n_all = 2 * self.ns + self.nsh
        for lvl in range(self.levels):
            lin = d_in if lvl == 0 else width
            self.experts.append(nn.ModuleList([MLP(lin, c["expert_dims"], True) for _ in range(n_all)]))
            if self.gated:
                gates = nn.ModuleList([nn.Linear(lin, self.ns + self.nsh) for _ in range(2)])
                for g in gates:
                    init_linear(g, False)
                self.gates.append(gates)
                if lvl < self.levels - 1:
                    sg = nn.Linear(lin, n_all)
                    init_linear(sg, False)
                    self.shared_gates.append(sg)
        self.towers = nn.ModuleList([MLP(width, c["tower_dims"] + [1], False) for _ in range(2)])

    @staticmethod
    def mix(gate, x, outs):
        w = torch.softmax(gate(x), dim=-1)  # [B, k]
        return torch.bmm(w.unsqueeze(1), torch.stack(outs, dim=1)).squeeze(1)

    def forward(self, x):
        ins = [x, x, x]  # task 0, task 1, shared
        ns = self.ns
        for lvl in range(self.levels):
            src = [0] * ns + [1] * ns + [2] * self.nsh
            outs = [e(ins[s]) for e, s in zip(self.experts[lvl], src)]
            if not self.gated:
                ins = [outs[0], outs[0], None]
                continue
            nxt = []
            for t in range(2):
                mine = outs[t * ns:(t + 1) * ns] + outs[2 * ns:]
                nxt.append(self.mix(self.gates[lvl][t], ins[t], mine))
            nxt.append(self.mix(self.shared_gates[lvl], ins[2], outs) if lvl < self.levels - 1 else None)
            ins = nxt
        return self.towers[0](ins[0]).squeeze(-1), self.towers[1](ins[1]).squeeze(-1)


class Views(nn.Module):
    """The embedding tables of one view: sparse gradients, N(0, 0.05) like dmmp (features.c)."""

    def __init__(self, n_fields, vocab, dim, per_field):
        super().__init__()
        self.n_fields, self.vocab, self.dim, self.per_field = n_fields, vocab, dim, per_field
        if per_field:
            self.tables = nn.ModuleList([nn.Embedding(vocab, dim, sparse=True) for _ in range(n_fields)])
        else:
            self.tables = nn.ModuleList([nn.Embedding(n_fields * vocab, dim, sparse=True)])
            self.register_buffer("offsets", torch.arange(n_fields, dtype=torch.int64) * vocab)
        for t in self.tables:
            with torch.no_grad():
                t.weight.normal_(0.0, 0.05)

    def forward(self, ids):  # ids [B, n_fields] -> [B, n_fields * dim]
        if self.per_field:
            return torch.cat([t(ids[:, f]) for f, t in enumerate(self.tables)], dim=1)
        return self.tables[0](ids + self.offsets).reshape(ids.shape[0], self.n_fields * self.dim)


class DMMP(nn.Module):
    def __init__(self, c, vocab, per_field):
        super().__init__()
        d = c["dim"]
        n_user = FIELDS[0][1] + FIELDS[1][1]
        n_item = FIELDS[2][1]
        n_all = sum(n for _, n in FIELDS)
        self.emb_t = Views(n_all, vocab, d, per_field)
        self.emb_u = Views(n_user, vocab, d, per_field)
        self.emb_i = Views(n_item, vocab, d, per_field)
        self.teacher = Teacher(c, n_all * d)
        self.user_tower = MLP(n_user * d, c["user_tower"], False)
        self.item_towers = nn.ModuleList([MLP(n_item * d, c["item_tower"], False) for _ in range(2)])
        self.gate = MLP(n_user * d, c["gate_dims"] + [2], False)
        self.bias = nn.Parameter(torch.zeros(3))  # b_c, b_v, b_f
        self.log_var = nn.Parameter(torch.zeros(len(TERMS)))  # uncertainty weighting's s_i
        self.tau, self.lam, self.kd_t = c["tau"], c["lam"], c["kd_t"]
        self.n_user, self.n_item = n_user, n_item

    def dense_parameters(self):
        return [p for n, p in self.named_parameters() if not n.startswith("emb_")]

    def embedding_parameters(self):
        return [p for n, p in self.named_parameters() if n.startswith("emb_")]


def bce(z, t):
    return F.binary_cross_entropy_with_logits(z, t)


def bce_product(z1, z2, t):
    """BCE of q = sigmoid(z1) sigmoid(z2) (the ESMM pCTCVR), 1 - q without cancellation as in nn/loss.c."""
    p1, p2 = torch.sigmoid(z1), torch.sigmoid(z2)
    q = (p1 * p2).clamp(PROB_EPS, 1 - PROB_EPS)
    omq = (torch.sigmoid(-z1) + p1 * torch.sigmoid(-z2)).clamp(PROB_EPS, 1 - PROB_EPS)
    return -(t * torch.log(q) + (1 - t) * torch.log(omq)).mean()


def kd_bce(z, t, T):
    """T^2 BCE(z / T, t): Hinton's soft targets (nn/loss.c bce_logits_temp)."""
    return bce(z / T, t) * (T * T) if T != 1.0 else bce(z, t)


def kd_bce_product(z1, z2, t, T):
    return bce_product(z1 / T, z2 / T, t) * (T * T) if T != 1.0 else bce_product(z1, z2, t)


def step_loss(m, ids_t, ids_u, ids_i, click, ctcvr):
    """Forward of the joint step and its weighted total loss (model.c model_forward, model_backward)."""
    x_t, x_u, x_i = m.emb_t(ids_t), m.emb_u(ids_u), m.emb_i(ids_i)
    z_ctr, z_cvr = m.teacher(x_t)
    u = m.user_tower(x_u)
    w = torch.softmax(m.gate(x_u), dim=-1)
    v_c, v_v = m.item_towers[0](x_i), m.item_towers[1](x_i)
    s_c = (u * v_c).sum(-1) / m.tau + m.bias[0]
    s_v = (u * v_v).sum(-1) / m.tau + m.bias[1]
    z_f = w[:, 0] * s_c + w[:, 1] * s_v + m.bias[2]
    lam = m.lam
    y_f = (1 - lam) * click + lam * ctcvr
    with torch.no_grad():  # the teacher's outputs are constants for the student
        pc, pv = torch.sigmoid(z_ctr / m.kd_t), torch.sigmoid(z_cvr / m.kd_t)
        kd_ctr, kd_ctcvr = pc, pc * pv
        kd_fused = (1 - lam) * pc + lam * pc * pv
    terms = {
        "teacher_ctr": bce(z_ctr, click),
        "teacher_ctcvr": bce_product(z_ctr, z_cvr, ctcvr),
        "student_ctr": bce(s_c, click),
        "student_ctcvr": bce_product(s_c, s_v, ctcvr),
        "student_fused": bce(z_f, y_f),
        "kd_ctr": kd_bce(s_c, kd_ctr, m.kd_t),
        "kd_ctcvr": kd_bce_product(s_c, s_v, kd_ctcvr, m.kd_t),
        "kd_fused": kd_bce(z_f, kd_fused, m.kd_t),
    }
    total = 0.0
    for name, loss in terms.items():  # uncertainty weighting: 0.5 exp(-s_i) L_i + 0.5 s_i
        s = m.log_var[TERMS.index(name)]
        total = total + 0.5 * torch.exp(-s) * loss + 0.5 * s
    return total


def zipf_cdf(n, s):
    k = torch.arange(1, n + 1, dtype=torch.float64)
    cdf = torch.cumsum(k.pow(-s), 0)
    cdf /= cdf[-1].clone()
    cdf[-1] = 1.0
    return cdf


def make_batches(m, vocab, n, count, gen):
    """count synthetic batches of n rows (bench_train.c synth_batch: the same shapes, ids and label rates)."""
    n_all = m.emb_t.n_fields
    cdf = zipf_cdf(vocab, args.zipf) if args.ids == "zipf" else None
    out = []
    for _ in range(count):
        click = (torch.rand(n, generator=gen, dtype=torch.float64) < 0.1)
        conv = click & (torch.rand(n, generator=gen, dtype=torch.float64) < 0.1)
        if cdf is not None:
            u = torch.rand(n * n_all, generator=gen, dtype=torch.float64)
            ids = torch.searchsorted(cdf, u, right=True).clamp_(max=vocab - 1).reshape(n, n_all)
        else:
            ids = torch.randint(0, vocab, (n, n_all), generator=gen)
        n_u, n_i = m.n_user, m.n_item
        # the teacher reads every field; the user view user + context, the item view the item fields
        out.append((ids.contiguous(), ids[:, :n_u].contiguous(), ids[:, n_u:n_u + n_i].contiguous(),
                    click.float(), conv.float()))
    return out


def linear_flops(m):
    """dmmp's count (bench_flops.c): every nn.Linear, 2*in*out per sample forward, twice that backward."""
    fwd = sum(2 * l.in_features * l.out_features for l in m.modules() if isinstance(l, nn.Linear))
    return fwd, 2 * fwd


def loaded_blas():
    """The BLAS and oneDNN libraries mapped into this process, resolved."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            base = os.path.basename(path)
            if any(k in base for k in ("blas", "dnnl", "mkl", "lapack")):
                libs.add(os.path.realpath(path))
    return sorted(libs)


def openblas_info():
    for lib in loaded_blas():
        if "openblas" not in lib:
            continue
        try:
            so = ctypes.CDLL(lib)
            so.openblas_get_config.restype = ctypes.c_char_p
            so.openblas_get_corename.restype = ctypes.c_char_p
            return "%s, core %s" % (so.openblas_get_config().decode(), so.openblas_get_corename().decode())
        except (OSError, AttributeError):
            continue
    return "no OpenBLAS loaded"


def cpu_capability():
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage" in line:
            return line.split(":", 1)[1].strip()
    return "unknown"


def main():
    model = DMMP(cfg, args.vocab, args.tables == "per_field")
    dense, emb = model.dense_parameters(), model.embedding_parameters()
    adam = torch.optim.Adam(dense, lr=cfg["lr"], betas=(0.9, 0.999), eps=1e-8, foreach=bool(args.foreach))
    sparse = torch.optim.SparseAdam(emb, lr=cfg["emb_lr"], betas=(0.9, 0.999), eps=1e-8)
    gen = torch.Generator().manual_seed(args.seed)
    batches = make_batches(model, args.vocab, batch, 4, gen)
    phase_names = ("ms_forward", "ms_backward", "ms_adam", "ms_sparse_adam")
    state = {"next": 0}

    def step(phase):
        b = batches[state["next"]]
        state["next"] = (state["next"] + 1) % len(batches)
        t0 = time.perf_counter()
        loss = step_loss(model, *b)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        adam.step()
        adam.zero_grad(set_to_none=True)
        t3 = time.perf_counter()
        sparse.step()
        sparse.zero_grad(set_to_none=True)
        t4 = time.perf_counter()
        if not torch.isfinite(loss):
            fail("the total loss is %g" % loss.item())
        for i, dt in enumerate((t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            phase[i] += dt

    scratch = [0.0] * 4
    for _ in range(args.warmup):
        step(scratch)
    if args.profile:
        from torch.profiler import profile, ProfilerActivity
        with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
            step(scratch)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20))
    rates, phases = [], [[] for _ in phase_names]
    for _ in range(args.repeat):
        ph = [0.0] * 4
        t0 = time.perf_counter()
        for _ in range(args.steps):
            step(ph)
        secs = time.perf_counter() - t0
        rates.append(args.steps * batch / secs)
        for i in range(4):
            phases[i].append(1e3 * ph[i] / args.steps)

    n_dense = sum(p.numel() for p in dense)
    n_emb = sum(p.numel() for p in emb)
    n_tables = 42  # 23 teacher + 13 user + 6 item fields, each its own table
    fwd, bwd = linear_flops(model)
    print("torch %s, python %s, %d threads (torch.get_num_threads %d), ATen CPU capability %s, mkldnn %s" %
          (torch.__version__, sys.version.split()[0], threads, torch.get_num_threads(), cpu_capability(),
           torch.backends.mkldnn.is_available()))
    print("libraries " + " ".join(loaded_blas()))
    print("openblas " + openblas_info())
    print("step batch %d, %d steps per run, %d runs after %d warm-up steps, ids %s, tables %s, dense adam foreach %s" %
          (batch, args.steps, args.repeat, args.warmup, args.ids, args.tables, bool(args.foreach)))
    print("parameters %d dense, %d embedding weights in %d tables" % (n_dense, n_emb, n_tables))
    print("flops_per_sample_train %d" % (fwd + bwd))
    print("flops_per_sample_forward %d" % fwd)

    def figure(name, vals, unit):
        print("  %-22s median %12.4g  min %12.4g  max %12.4g  %s" %
              (name, statistics.median(vals), min(vals), max(vals), unit))

    figure("train_samples_per_s", rates, "samples/s")
    gf = [r * (fwd + bwd) * 1e-9 for r in rates]
    figure("train_gflops", gf, "GFLOP/s")
    for name, vals in zip(phase_names, phases):
        figure(name, vals, "ms/step")


main()
