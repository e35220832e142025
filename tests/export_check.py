"""Checks the files of `dmmp export` and a checkpoint's layout table with numpy
and h5py alone (no code of the project), as a user of the files would:

  export_check.py DIR

DIR holds (tests/export_numpy.sh makes them): data.h5 (the dataset), run_<v>/
(trained runs), vec_<v>.*.npy and vec_<v>.h5 (export vectors), pred_<v>.csv and
pred_<v>.h5 (export predictions of the test split), retrieve_<v>_<user>.txt
(dmmp retrieve --k 10 output) for v in the variants given after DIR.

For every variant it checks that
  - a brute-force inner-product top 10 over the exported item rows, queried
    with the exported user rows (what faiss.IndexFlatIP computes; faiss itself
    is used too when it is installed), gives dmmp retrieve's items and scores;
  - the .h5 export holds the same numbers as the .npy files;
  - the item and user vectors rebuilt from the checkpoint (README: the
    forward of every variant) with the layout table equal the exported ones;
  - the teacher's pCTR and pCVR rebuilt the same way equal the exported
    predictions (variants with a teacher);
  - the AUCs recomputed from the CSV and the HDF5 predictions equal the ones
    dmmp eval stored in results.h5.
Prints one line per check and 'N passed, N failed' at the end; exits 1 on a
failure."""
import re
import sys

import h5py
import numpy as np

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print("ok   " + what)
    else:
        failed += 1
        print("FAIL " + what)


def s(x):
    return x.decode() if isinstance(x, bytes) else str(x)


def auc(p, y):
    """Mann-Whitney AUC with tied scores sharing their average rank."""
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y).astype(bool)
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    sp = p[order]
    i = 0
    while i < len(p):
        j = i
        while j + 1 < len(p) and sp[j + 1] == sp[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    npos, nneg = y.sum(), (~y).sum()
    return (ranks[y].sum() - npos * (npos + 1) / 2.0) / (npos * nneg)


class Checkpoint:
    """The weights of a checkpoint, found through /model/layout alone."""

    def __init__(self, path):
        f = h5py.File(path, "r")
        self.f = f
        self.params = f["model/params"][:]
        L = f["model/layout/params"]
        self.blocks = {}
        for n, o, r, c, a in zip(L["name"][:], L["offset"][:], L["rows"][:], L["cols"][:], L["activation"][:]):
            self.blocks[s(n)] = (int(o), int(r), int(c), s(a))
        E = f["model/layout/embeddings"]
        self.tables = []
        for i in range(len(E["table"])):
            self.tables.append({k: E[k][i] for k in E.keys()})
        self.l2norm = int(f["model/layout/l2norm"][()])
        self.pooling = s(f["model/layout/pooling"][()])
        self.kind = s(f["model/layout/model_kind"][()])

    def block(self, name):
        o, r, c, a = self.blocks[name]
        return self.params[o:o + r * c].reshape(r, c), a

    def mlp(self, prefix, x):
        j = 0
        while prefix + "/layer%d/W" % j in self.blocks:
            W, act = self.block(prefix + "/layer%d/W" % j)
            b, _ = self.block(prefix + "/layer%d/b" % j)
            x = x @ W + b[0]
            if act == "relu":
                x = np.maximum(x, 0)
            j += 1
        return x

    def embed(self, input_name, sparse_cols, bags):
        """The input of one view: sparse_cols[field] = ids (one per row),
        bags[field] = (offsets, indices, weights); tables in input order."""
        parts = []
        for t in self.tables:
            if s(t["input"]) != input_name:
                continue
            W = self.f[s(t["table"])][:]
            field = s(t["field"])
            if int(t["multi"]):
                off, idx, wt = bags[field]
                n = len(off) - 1
                out = np.zeros((n, W.shape[1]))
                for r in range(n):
                    lo, hi = off[r], off[r + 1]
                    if hi > lo:
                        v = (wt[lo:hi, None] * W[idx[lo:hi]]).sum(0)
                        if self.pooling == "mean":
                            v = v / wt[lo:hi].sum() if wt[lo:hi].sum() != 0 else 0 * v
                        out[r] = v
                parts.append((int(t["input_offset"]), out))
            else:
                ids = sparse_cols[field]
                if int(t["hashed"]):
                    ids = self.f["model/layout/hash/%s.%s/row" % (input_name, field)][:][ids]
                parts.append((int(t["input_offset"]), W[ids]))
        parts.sort(key=lambda p: p[0])
        return np.concatenate([p[1] for p in parts], axis=1)


def norm(v):
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def dataset_fields(d):
    names = [s(n) for n in d["fields/name"][:]]
    sides = d["fields/side"][:]
    multi = d["fields/multi"][:]
    return names, sides, multi


def side_columns(d, side):
    names, sides, multi = dataset_fields(d)
    return [n for n, sd, m in zip(names, sides, multi) if sd == side and not m]


def rebuild_vectors(ck, d, item_index, user_index):
    names, sides, multi = dataset_fields(d)
    default = {s(t["field"]): int(t["default_id"]) for t in ck.tables}
    items = d["items/sparse"][:][item_index]
    cols = {n: items[:, i] for i, n in enumerate(side_columns(d, 1))}
    x_i = ck.embed("item", cols, {})
    users = d["users/sparse"][:][user_index]
    cols = {n: users[:, i] for i, n in enumerate(side_columns(d, 0))}
    for n, sd in zip(names, sides):
        if sd == 2:  # context fields: the default id in every query
            cols[n] = np.full(len(user_index), default[n])
    bags = {}
    for n, sd, m in zip(names, sides, multi):
        if m and sd == 0:
            g = d["users/multi/" + n]
            off, idx, wt = g["offsets"][:], g["indices"][:], g["weights"][:]
            o2 = [0]
            i2, w2 = [], []
            for u in user_index:
                i2.extend(idx[off[u]:off[u + 1]])
                w2.extend(wt[off[u]:off[u + 1]])
                o2.append(len(i2))
            bags[n] = (np.array(o2), np.array(i2, dtype=np.int64), np.array(w2))
    x_u = ck.embed("user", cols, bags)
    u = ck.mlp("student/user_tower", x_u)
    vc = ck.mlp("student/click_item_tower", x_i)
    if ck.l2norm:
        u, vc = norm(u), norm(vc)
    if ck.kind == "two_tower":
        return vc, u
    vv = ck.mlp("student/conversion_item_tower", x_i)
    if ck.l2norm:
        vv = norm(vv)
    if "student/gate/layer0/W" in ck.blocks:
        z = ck.mlp("student/gate", x_u)
        w = np.exp(z - z.max(1, keepdims=True))
        w = w / w.sum(1, keepdims=True)
    else:
        w = np.full((len(user_index), 2), 0.5)
    return np.concatenate([vc, vv], 1), np.concatenate([w[:, :1] * u, w[:, 1:] * u], 1)


def ekey_group(e):
    return re.match(r"expert_(ctr|cvr|shared)(\d+)$", e).group(1)


def ekey(e):
    """Level order of the experts: CTR's specific ones, CVR's, then the shared ones."""
    m = re.match(r"expert_(ctr|cvr|shared)(\d+)$", e)
    return (["ctr", "cvr", "shared"].index(m.group(1)), int(m.group(2)))


def rebuild_teacher(ck, d, rows):
    names, sides, multi = dataset_fields(d)
    sp = d["samples/sparse"][:][rows]
    single = [n for n, m in zip(names, multi) if not m]
    cols = {n: sp[:, i] for i, n in enumerate(single)}
    bags = {}
    for n, m in zip(names, multi):
        if m:
            g = d["samples/multi/" + n]
            off, idx, wt = g["offsets"][:], g["indices"][:], g["weights"][:]
            o2, i2, w2 = [0], [], []
            for r in rows:
                i2.extend(idx[off[r]:off[r + 1]])
                w2.extend(wt[off[r]:off[r + 1]])
                o2.append(len(i2))
            bags[n] = (np.array(o2), np.array(i2, dtype=np.int64), np.array(w2))
    x = ck.embed("teacher", cols, bags)
    levels = sorted({k.split("/")[1] for k in ck.blocks if k.startswith("teacher/level")})
    inp = {"ctr": x, "cvr": x, "shared": x}
    for lv in levels:
        experts = sorted({k.split("/")[2] for k in ck.blocks if k.startswith("teacher/%s/expert_" % lv)}, key=ekey)
        out = {e: ck.mlp("teacher/%s/%s" % (lv, e), inp[ekey_group(e)]) for e in experts}
        shared = [e for e in experts if e.startswith("expert_shared")]
        nxt = {}
        for task in ("ctr", "cvr"):
            mine = [e for e in experts if e.startswith("expert_" + task)] + shared
            if "teacher/%s/gate_%s/W" % (lv, task) in ck.blocks:
                W, _ = ck.block("teacher/%s/gate_%s/W" % (lv, task))
                b, _ = ck.block("teacher/%s/gate_%s/b" % (lv, task))
                z = inp[task] @ W + b[0]
                g = np.exp(z - z.max(1, keepdims=True))
                g = g / g.sum(1, keepdims=True)
                nxt[task] = sum(g[:, k:k + 1] * out[e] for k, e in enumerate(mine))
            else:  # shared_bottom: one shared expert, no gate
                nxt[task] = out[shared[0]]
        if "teacher/%s/shared_gate/W" % lv in ck.blocks:
            W, _ = ck.block("teacher/%s/shared_gate/W" % lv)
            b, _ = ck.block("teacher/%s/shared_gate/b" % lv)
            z = inp["shared"] @ W + b[0]
            g = np.exp(z - z.max(1, keepdims=True))
            g = g / g.sum(1, keepdims=True)
            nxt["shared"] = sum(g[:, k:k + 1] * out[e] for k, e in enumerate(experts))
        inp = nxt
    sig = lambda z: 1 / (1 + np.exp(-z))
    return sig(ck.mlp("teacher/tower_ctr", inp["ctr"])[:, 0]), sig(ck.mlp("teacher/tower_cvr", inp["cvr"])[:, 0])


def parse_retrieve(path):
    ids, scores = [], []
    for line in open(path):
        p = line.split()
        if len(p) >= 4 and p[0].isdigit() and p[1].isdigit():
            ids.append(int(p[1]))
            scores.append(float(p[3]))
    return ids, scores


def check_variant(dirname, v, users_checked):
    pre = "%s/vec_%s" % (dirname, v)
    I = np.load(pre + ".items.npy", allow_pickle=False)
    Ii = np.load(pre + ".items_index.npy", allow_pickle=False)
    U = np.load(pre + ".users.npy", allow_pickle=False)
    Ui = np.load(pre + ".users_index.npy", allow_pickle=False)
    Ur = np.load(pre + ".users_raw_id.npy", allow_pickle=False)
    check(I.dtype == np.float32 and U.dtype == np.float32 and I.shape[1] == U.shape[1],
          "%s: float32 vectors, items %s, users %s" % (v, I.shape, U.shape))
    with h5py.File(pre + ".h5", "r") as h:
        same = (np.array_equal(h["items/vector"][:], I) and np.array_equal(h["users/vector"][:], U)
                and np.array_equal(h["items/index"][:], Ii) and np.array_equal(h["users/raw_id"][:], Ur)
                and int(h.attrs["dim"]) == I.shape[1] and s(h.attrs["metric"]) == "inner_product")
        check(same, "%s: the .h5 export holds the .npy rows and says dim %d, %s" % (v, h.attrs["dim"], s(h.attrs["scoring"])))
    try:
        import faiss
        index = faiss.IndexFlatIP(I.shape[1])
        index.add(I)
        search = lambda q, k: index.search(q, k)
        how = "faiss.IndexFlatIP"
    except ImportError:
        def search(q, k):
            sc = q.astype(np.float64) @ I.astype(np.float64).T
            top = np.argsort(-sc, axis=1, kind="stable")[:, :k]
            return np.take_along_axis(sc, top, 1), top
        how = "numpy brute force (faiss not installed)"
    for user in users_checked:
        ids, scores = parse_retrieve("%s/retrieve_%s_%d.txt" % (dirname, v, user))
        row = int(np.where(Ui == user)[0][0])
        D, top = search(U[row:row + 1], len(ids))
        got = list(Ii[top[0]])
        # equal ids, or a swap between items whose scores tie to 1e-5
        ok = len(ids) == 10 and all(
            a == b or abs(D[0][k] - scores[k]) < 1e-5 for k, (a, b) in enumerate(zip(got, ids)))
        ok = ok and np.allclose(D[0], scores, atol=2e-6, rtol=1e-5)
        check(ok, "%s: user %d top 10 by %s = dmmp retrieve %s" % (v, user, how, ids[:4]))
    ck = Checkpoint("%s/run_%s/checkpoint.h5" % (dirname, v))
    d = h5py.File("%s/data.h5" % dirname, "r")
    iv, uv = rebuild_vectors(ck, d, Ii, Ui)
    check(np.abs(iv - I).max() < 1e-4 and np.abs(uv - U).max() < 1e-4,
          "%s: vectors rebuilt from the checkpoint's layout table equal the export (max diff %.2g, %.2g)"
          % (v, np.abs(iv - I).max(), np.abs(uv - U).max()))
    cols = {}
    with h5py.File("%s/pred_%s.h5" % (dirname, v), "r") as p:
        for k in p.keys():
            cols[k] = p[k][:]
    csv = np.genfromtxt("%s/pred_%s.csv" % (dirname, v), delimiter=",", names=True, dtype=None, encoding="utf-8")
    for k in cols:
        if cols[k].dtype.kind == "f":
            check(np.array_equal(csv[k].astype(np.float32), cols[k]), "%s: CSV column %s = HDF5 column" % (v, k))
    if "teacher_pctr" in cols:
        pc, pv = rebuild_teacher(ck, d, cols["row"])
        check(np.abs(pc - cols["teacher_pctr"]).max() < 1e-4 and np.abs(pv - cols["teacher_pcvr"]).max() < 1e-4,
              "%s: teacher pCTR, pCVR rebuilt from the layout table equal the export (max diff %.2g)"
              % (v, np.abs(pc - cols["teacher_pctr"]).max()))
    split = d["samples/split"][:]
    check(np.array_equal(cols["row"], np.where(split == 2)[0]), "%s: one row per test impression, in file order" % v)
    res = h5py.File("%s/run_%s/results.h5" % (dirname, v), "r")["eval/test"]
    y, c = cols["conversion"], cols["click"]
    prefix = "student_" if "student_pctr" in cols else "teacher_"
    pairs = [("auc_ctr", prefix + "pctr", c, None)]
    if prefix + "pcvr" in cols:
        pairs += [("auc_cvr", prefix + "pcvr", y, c == 1), ("auc_ctcvr", prefix + "pctcvr", y, None)]
    if prefix == "student_" and "teacher_pctr" in cols:
        pairs += [("teacher_auc_ctr", "teacher_pctr", c, None), ("teacher_auc_cvr", "teacher_pcvr", y, c == 1),
                  ("teacher_auc_ctcvr", "teacher_pctcvr", y, None)]
    for metric, col, label, mask in pairs:
        m = np.ones(len(label), bool) if mask is None else mask
        a_h5 = auc(cols[col][m], label[m])
        a_csv = auc(csv[col][m], label[m])
        want = float(res[metric][()])
        check(abs(a_h5 - want) < 1e-9 and abs(a_csv - want) < 1e-9,
              "%s: %s = %.6f from the file, %.6f from dmmp eval" % (v, metric, a_h5, want))


def main():
    dirname, variants = sys.argv[1], sys.argv[2:]
    users = [int(u) for u in open(dirname + "/users.txt").read().split()]
    for v in variants:
        check_variant(dirname, v, users)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


main()
