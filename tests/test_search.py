"""The co-search: data, sampling modes, heterogeneous sampling's memory, the integer export, resume."""
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from hw_model.errors import ConfigError
from hw_model.numerics import conv2d_int, requantize as np_requantize
from search import data as D
from search.supernet import PRESETS, MixQuant, SuperNet, _top2_gates, derived_choice, gumbel, sample_arch_step

ROOT = Path(__file__).resolve().parent.parent


def _write_cifar(folder: Path, n=6):
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        d = {b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8), b"labels": list(rng.integers(0, 10, n))}
        (folder / name).write_bytes(pickle.dumps(d))


def test_cifar_python_pickle_folder_loads(tmp_path):
    _write_cifar(tmp_path / "cifar-10-batches-py")
    d = D.load("cifar10", str(tmp_path))
    assert d.train.x.shape == (30, 3, 32, 32) and d.test.x.shape == (6, 3, 32, 32) and d.num_classes == 10
    assert float(d.train.x.max()) <= 1.0


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/trips_pwned",))


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    _write_cifar(tmp_path)
    (tmp_path / "test_batch").write_bytes(pickle.dumps({b"data": _Evil(), b"labels": [0]}))
    with pytest.raises(ConfigError):
        D.load("cifar10", str(tmp_path))
    assert not Path("/tmp/trips_pwned").exists()


def test_missing_data_folder_names_the_field(tmp_path):
    with pytest.raises(ConfigError) as e:
        D.load("cifar10", str(tmp_path / "nope"))
    assert e.value.field == "DATA_DIR"


@pytest.mark.parametrize("args, field", [
    (["--preset", "huge"], "PRESET"), (["--bits", "3,8"], "--bits"), (["--metric", "speed"], "METRIC"),
    (["--data", "cifar10"], "DATA_DIR"), (["--epochs", "0"], "--epochs"),
])
def test_bad_search_options_one_line_exit_2(tmp_path, args, field):
    r = subprocess.run([sys.executable, "-m", "search", "--out", str(tmp_path / "out"), *args], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 2 and field in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert not (tmp_path / "out" / "best.json").exists()


def _saved_bytes(j: int) -> int:
    x = torch.rand(8, 16, 32, 32, requires_grad=True)
    w = torch.softmax(torch.randn(j, requires_grad=True), 0)
    total = 0

    def pack(t):
        nonlocal total
        total += t.numel() * t.element_size()
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = MixQuant.apply(x, w, torch.full((j,), 0.01), [0] * j, [255] * j)
    y.sum().backward()
    return total


def test_heterogeneous_sampling_memory_does_not_grow_with_bit_widths():
    x_bytes = 8 * 16 * 32 * 32 * 4
    sizes = [_saved_bytes(j) for j in (2, 3, 5)]
    assert sizes[0] >= x_bytes                       # the input itself is kept
    assert sizes[2] - sizes[0] <= 64                 # only the J-long weight and scale vectors grow


def test_arch_sampling_forward_is_top1_and_gradient_reaches_top2():
    logits = torch.tensor([0.3, 1.0, -0.5, 0.2], requires_grad=True)
    gates = _top2_gates(logits, 1.0, gumbel(logits.shape, torch.Generator().manual_seed(0)))
    assert len(gates) == 2
    values = sorted(float(g.detach()) for g in gates.values())
    assert values == [0.0, 1.0]
    sum(g * (i + 1) for i, g in gates.items()).backward()
    assert (logits.grad != 0).sum() >= 2


def test_arch_step_output_equals_the_sampled_discrete_network():
    torch.manual_seed(0)
    net = SuperNet(PRESETS["default"]).eval()
    x = torch.rand(4, 1, 16, 16)
    choice = sample_arch_step(net, 5.0, torch.Generator().manual_seed(1))
    top = []
    for gates, bws in choice:
        o = next(i for i, g in gates.items() if float(g.detach()) == 1.0)
        top.append((o, max(bws[o], key=lambda j: float(bws[o][j].detach()))))
    with torch.no_grad():
        assert torch.equal(net(x, choice), net(x, derived_choice(net, top)))


def test_integer_graph_runs_as_hw_model_numerics_in_both_forms():
    """The exported stem equals conv2d_int + requantize on its own (hw_model.numerics), and the search's torch form
    of the integer model gives hw_model.intnet.int_forward's logits on a whole graph."""
    from hw_model.intnet import int_forward
    from search.export import int_forward_torch, integer_graph, quantize_split
    torch.manual_seed(0)
    net = SuperNet(PRESETS["default"])
    net.train()
    x = torch.rand(8, 1, 16, 16)
    ops = list(net.ops)
    geno = [(ops.index(o), j % len(net.bits)) for j, o in
            enumerate(["k3_e3", "k3_e1_g2", "skip", "k5_e6", "k3_e1"][:len(net.layers)])]
    net(x, derived_choice(net, geno))            # sets the activation ranges
    net.eval()
    g = integer_graph(net, geno)
    stem = g.nodes[0]
    q = quantize_split(x, g)
    ref = np_requantize(conv2d_int(q[0].numpy(), stem.weight, 1, 1), stem.bias, stem.mult, stem.shift,
                        stem.out_bits)
    _, t = int_forward(g, q.numpy(), keep=True)
    assert np.array_equal(t["stem"][0], ref)
    want = int_forward(g, q.numpy())
    assert np.array_equal(int_forward_torch(g, q).numpy(), want)
    assert {n.op for n in g.nodes} >= {"conv", "add", "avgpool", "fc"} and len(np.unique(want)) > 4


def _search(out: Path, extra=()):
    return [sys.executable, "-m", "search", "--out", str(out), "--epochs", "4", "--warmup", "2",
            "--finetune-epochs", "1", "--seed", "3", *extra]


def test_search_resumes_after_kill_9_with_the_same_result(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    a = subprocess.run(_search(tmp_path / "a"), cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert a.returncode == 0, a.stderr[-2000:]
    b_out = tmp_path / "b"
    p = subprocess.Popen(_search(b_out), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = b_out / "search_log.jsonl"
    t0 = time.time()                                 # killed in the first searching epoch (after the warm-up's
    while (not log.exists() or len(log.read_text().splitlines()) < 2) and time.time() - t0 < 300:    # two):
        time.sleep(0.05)                             # the accelerator engine's state must resume too
    time.sleep(0.3)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    b = subprocess.run(_search(b_out), cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert b.returncode == 0, b.stderr[-2000:]
    ja, jb = (json.loads((d / "best.json").read_text()) for d in (tmp_path / "a", b_out))
    for key in ("network", "accelerator", "mapping", "predicted", "accuracy"):
        assert ja[key] == jb[key], key
    la, lb = ((d / "search_log.jsonl").read_text().splitlines() for d in (tmp_path / "a", b_out))
    strip = lambda lines: [{k: v for k, v in json.loads(l).items() if k != "seconds"} for l in lines]
    assert strip(la) == strip(lb)
    # and the result is a configuration hw_model accepts whole: every layer maps onto the chunk best.json names
    from hw_model.config import Accelerator, Layer
    from hw_model.mapping import geometry
    acc = Accelerator.load(tmp_path / "a" / "best.json")
    geoms = [geometry(acc, Layer.from_dict(l)) for l in ja["network"]["layers"]]
    assert {g.layer.name: g.chunk.name for g in geoms} == ja["mapping"]
    from hw_model.intnet import WEIGHTS_FORMAT, load_weights
    w = load_weights(tmp_path / "a" / "weights.npz")
    assert str(w["format"]) == WEIGHTS_FORMAT and any(k.endswith(".weight") for k in w)
    assert w["test.images"].shape[1:] == (1, 16, 16) and len(w["test.labels"]) == len(w["test.images"])


# A search, the RTL of its accelerator and the whole searched network on it (Icarus): `make test` covers each part
# (the resume above, `make rtl` and the reference network on the default in test_cli and test_network), this is
# the chain end to end on a searched configuration, ~10 minutes on two cores
@pytest.mark.slow
def test_searched_network_runs_whole_on_its_rtl(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    a = subprocess.run(_search(tmp_path / "a"), cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert a.returncode == 0, a.stderr[-2000:]
    r = subprocess.run([sys.executable, "-m", "rtl_gen", "--config", str(tmp_path / "a" / "best.json"),
                        "--out", str(tmp_path / "rtl")], cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rep_path = tmp_path / "report.json"
    # (Icarus: its build of a whole top takes seconds where Verilator's C++ build takes minutes)
    r = subprocess.run([sys.executable, "-m", "sim", "--config", str(tmp_path / "a" / "best.json"), "--images", "2",
                        "--frames", "0", "--simulator", "icarus", "--out", str(rep_path)], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=900)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    rep = json.loads(rep_path.read_text())
    assert rep["logits_bit_exact"] and rep["all_cycle_exact"] and rep["all_bit_exact"]
    assert {"op", "chunk"} <= set(rep["layers"][0]) and {l["op"] for l in rep["layers"]} >= {"conv", "avgpool", "fc"}


@pytest.mark.parametrize("shape,channels_last", [((2, 3, 4, 4), False), ((2, 40, 64, 64), True),
                                                  ((2, 40, 64, 64), False)])
def test_mixquant_matches_plain_autograd_of_the_mixture(shape, channels_last):
    """Value and gradients (input and mixing weights) of MixQuant, whose forward works slice by slice and whose
    backward skips the masks where nothing clamps, against autograd through the textbook mixture; the
    larger shapes span several slices, and x reaches past the 4-bit clamp (scale 0.1 x 15 levels)."""
    torch.manual_seed(0)
    x = torch.rand(*shape) * 2
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_()
    logits = torch.randn(3, requires_grad=True)
    w = torch.softmax(logits, 0)
    scales = torch.tensor([0.1, 0.03, 0.01])
    lo, hi = [0, 0, 0], [15, 63, 255]
    y = MixQuant.apply(x, w, scales, lo, hi)
    probe = torch.randn(shape)
    (y * probe).sum().backward()
    gx, gl = x.grad.clone(), logits.grad.clone()
    x.grad = None
    logits.grad = None
    from search.quant import fake_quant_act
    w = torch.softmax(logits, 0)
    ref = sum(w[j] * fake_quant_act(x, scales[j], (4, 6, 8)[j]) for j in range(3))
    assert torch.allclose(y, ref, atol=1e-6)
    (ref * probe).sum().backward()
    assert torch.allclose(gx, x.grad, atol=1e-5) and torch.allclose(gl, logits.grad, rtol=1e-4, atol=1e-3)


def _mixquant_run(x, w, scales, lo, hi, probe, x_range=None):
    x = x.detach().clone().requires_grad_()
    w = w.detach().clone().requires_grad_()
    y = MixQuant.apply(x, w, scales, lo, hi, x_range)
    (y * probe).sum().backward()
    return y.detach(), x.grad, w.grad


@pytest.mark.parametrize("channels_last", [True, False])
@pytest.mark.parametrize("weights", ["soft", "one_hot"])
def test_mixquant_c_kernels_equal_the_torch_form(monkeypatch, channels_last, weights):
    """search/mixquant.c (one sweep, torch's OpenMP threads) against the torch form it replaces on the CPU:
    value, input gradient (x past every clamp) and the mixing weights' gradient, on a tensor of many blocks."""
    from search import ckernels
    if shutil.which("cc") or shutil.which("gcc"):
        assert ckernels.lib() is not None, "a C compiler is here, yet the kernels did not build"
    else:
        pytest.skip("no C compiler")
    torch.manual_seed(3)
    x = torch.rand(4, 48, 33, 31) * 1.3
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    w = torch.softmax(torch.randn(3), 0) if weights == "soft" else torch.tensor([0.0, 1.0, 0.0])
    scales = torch.tensor([1.0, 1.0, 1.0]) / torch.tensor([15.0, 63.0, 255.0])
    lo, hi = [0, 0, 0], [15, 63, 255]
    probe = torch.randn(x.shape)
    assert ckernels.usable(x)
    got = _mixquant_run(x, w, scales, lo, hi, probe)
    monkeypatch.setenv("TRIPS_NO_CKERNELS", "1")
    assert not ckernels.usable(x)
    ref = _mixquant_run(x, w, scales, lo, hi, probe)
    assert torch.allclose(got[0], ref[0], rtol=0, atol=1e-6)
    assert torch.allclose(got[1], ref[1], rtol=0, atol=1e-6)
    assert torch.allclose(got[2], ref[2], rtol=1e-5, atol=1e-3)
    assert not torch.equal(ref[1], probe * w.sum())      # the clamps were reached: masks mattered


def test_mixquant_one_hot_gradient_reaches_the_zero_weight_choice():
    """An architecture step's bits: forward value exactly the top-1 copy, gradient to the top-2 (weight 0)."""
    torch.manual_seed(1)
    x = (torch.rand(2, 8, 16, 16) * 0.9).contiguous(memory_format=torch.channels_last).requires_grad_()
    v = torch.tensor([1.0, 0.0], requires_grad=True)
    scales = torch.tensor([1 / 15, 1 / 255])
    y = MixQuant.apply(x, v, scales, [0, 0], [15, 255])
    q = [torch.round(x.detach() / s) * s for s in scales]
    assert torch.equal(y, q[0])
    probe = torch.randn(y.shape)
    (y * probe).sum().backward()
    assert torch.allclose(v.grad, torch.stack([(probe * qj).sum() for qj in q]), rtol=1e-4)
    assert torch.allclose(x.grad, probe)


def test_data_parallel_search_on_two_gloo_processes(tmp_path):
    torchrun = Path(sys.executable).parent / "torchrun"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    r = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "search", "--out",
                        str(tmp_path / "ddp"), "--epochs", "3", "--warmup", "1", "--finetune-epochs", "1"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    best = json.loads((tmp_path / "ddp" / "best.json").read_text())
    # three epochs do not train the network (its cross-entropy stays near ln 10): check the result is whole
    from hw_model.config import Accelerator
    assert 0.0 <= best["accuracy"]["integer_test"] <= 1.0
    acc = Accelerator.from_dict(best)
    assert all(acc.chunk(c) for c in best["mapping"].values())
    log = (tmp_path / "ddp" / "search_log.jsonl").read_text().splitlines()
    assert len(log) == 3                              # one writer: rank 0


def test_hardware_layers_are_the_integer_graph_nodes():
    """network_layers (what the search costs and the hardware runs) and integer_graph (what the weights file
    holds) name the same nodes in the same order, with the same shapes and bit-widths, for a genotype with
    residual, grouped-and-shuffled, strided and skip blocks."""
    from hw_model.config import Accelerator
    from search.export import fold_network, integer_graph
    from search.supernet import network_layers
    from search.space import Workload

    torch.manual_seed(0)
    net = SuperNet(PRESETS["default"])
    ops = list(net.ops)
    genotype = [(ops.index(o), j % len(net.bits)) for j, o in
                enumerate(["k3_e3", "k3_e1_g2", "skip", "k5_e6", "skip"][:len(net.layers)])]
    layers = network_layers(net, genotype)
    net.eval()
    fold_network(net, genotype)
    graph = integer_graph(net, genotype)
    assert [L.name for L in layers] == [n.name for n in graph.nodes]
    for L, n in zip(layers, graph.nodes):
        assert L.out_bits == n.out_bits and L.bits == n.bits, L.name
        if n.op in ("conv", "fc"):
            assert n.out_channels == L.out_channels and n.kernel == L.kernel, L.name
        else:
            assert L.op == n.op, L.name
    assert {L.op for L in layers} == {"conv", "add", "avgpool"} and layers[-1].out_bits == 32
    # and every design the accelerator search proposes carries the vector chunks these layers need
    work = Workload(layers)
    acc = work.space().to_accelerator(np.zeros(work.space().shape, dtype=np.int64))
    assert all(acc.chunk_for(L) for L in layers)
    assert isinstance(acc, Accelerator)


def test_recalibrated_statistics_are_the_derived_networks_own():
    from search.cosearch import recalibrated
    torch.manual_seed(0)
    net = SuperNet(PRESETS["default"]).train()
    x = torch.rand(256, 1, 16, 16)
    for _ in range(3):        # shared statistics from other paths
        with torch.no_grad():
            net(x[:64] * 3, sample_arch_step(net, 5.0, torch.Generator().manual_seed(_)))
    genotype = [(1, 0)] * len(net.layers)
    before = {n: b.clone() for n, b in net.named_buffers()}
    cal = recalibrated(net, genotype, x)
    assert all(torch.equal(before[n], b) for n, b in net.named_buffers())          # the supernet is untouched
    assert all(torch.equal(before[n], b) for n, b in cal.named_buffers() if n.endswith(("act_max", "pool_max")))
    seen = []               # the stem's convolution output on the calibration images (independent of any BN)
    h = net.stem.bn.register_forward_hook(lambda m, i, o: seen.append(i[0]))
    net.eval()
    with torch.no_grad():
        net(x, derived_choice(net, genotype))
    h.remove()
    y = seen[0]
    assert torch.allclose(cal.stem.bn.running_mean, y.mean(dim=(0, 2, 3)), atol=1e-4)
    assert torch.allclose(cal.stem.bn.running_var, y.var(dim=(0, 2, 3)), rtol=1e-3)
    assert not torch.allclose(net.stem.bn.running_mean, y.mean(dim=(0, 2, 3)), atol=1e-2)   # shared stats differ


def test_selection_takes_the_best_validation_design_of_the_final_window_that_meets_the_target():
    from search.cosearch import SearchConfig, select
    cfg = SearchConfig(target=25000.0, epochs=30, warmup=10)        # final window: epochs 25-30
    rec = lambda e, fps, val, searching=True, within=True: {"epoch": e, "searching": searching, "fps": fps,
                                                           "val_accuracy": val, "within_budget": within,
                                                           "energy_uj": 1.0}
    early = [rec(1, 90000, 0.99, searching=False), rec(20, 40000, 0.99), rec(24, 30000, 0.995)]
    hist = early + [rec(25, 20000, 0.98), rec(26, 30000, 0.90), rec(27, 26000, 0.93), rec(28, 40000, 0.93),
                    rec(29, 50000, 0.97, within=False), rec(30, 24000, 0.96)]
    assert select(hist, cfg)["epoch"] == 28         # 27 and 28 tie on accuracy: the faster one; 20, 24 transients
    assert select(hist[:5], cfg)["epoch"] == 26
    assert select(early + [rec(25, 20000, 0.98)], cfg) is None
    assert select(hist, SearchConfig(target=None, epochs=30, warmup=10))["epoch"] == 25


def test_lambda_rises_with_the_miss_holds_in_the_band_and_never_falls_in_the_projected_window():
    from search.target import (BAND, LAMBDA_MAX, LAMBDA_MIN, STEP, final_window, next_lambda, projected_window,
                               shortfall)
    assert shortfall(9000.0, 10000.0, "latency") == pytest.approx(0.1)          # FPS under the target: a miss
    assert shortfall(2.0, 1.0, "energy") == pytest.approx(1.0)                  # energy over it: a miss
    assert shortfall(11000.0, 10000.0, "latency") < 0
    assert next_lambda(1.0, 0.01, projected=False) > STEP - 1e-9                    # any miss: at least one step
    assert next_lambda(1.0, 2 * BAND, projected=False) == pytest.approx(STEP ** 3)  # a far miss climbs faster
    assert next_lambda(1.0, -BAND / 2, projected=False) == 1.0                      # met by a little: held
    assert next_lambda(1.0, -2 * BAND, projected=False) == pytest.approx(1 / STEP)  # far above: relaxed
    assert next_lambda(1.0, -2 * BAND, projected=True) == 1.0                       # ... except at the end
    assert next_lambda(LAMBDA_MAX, 1.0, projected=False) == LAMBDA_MAX
    assert next_lambda(LAMBDA_MIN, -1.0, projected=False) == LAMBDA_MIN
    assert final_window(150) == 121 and final_window(3) == 3 and projected_window(150) == 106


def test_projection_keeps_a_step_only_if_its_design_still_meets_the_target():
    """In the projected window a step that moves the derived design under the target goes back; one that keeps
    it above stays. The golden numbers are hw_model's exact predictions of the two designs."""
    from search.cosearch import AcceleratorState, Projection, SearchConfig, predict
    from search.supernet import OPS, derive, network_layers
    net = SuperNet(PRESETS["default"])
    k3, k5 = OPS.index("k3_e1"), OPS.index("k5_e6")
    with torch.no_grad():
        net.alpha.zero_()
        net.alpha[:, k3] = 1.0
        net.beta.zero_()
        net.beta[..., -1] = 1.0                  # 8 bits everywhere
    cfg = SearchConfig(epochs=10, warmup=1)
    accel = AcceleratorState(cfg)
    accel.research(network_layers(net, derive(net)), 300, seed=0)
    fast = predict(network_layers(net, derive(net)), accel.acc, cfg)["fps"]
    slow_g = [(k5, len(net.bits) - 1)] + derive(net)[1:]
    slow = predict(network_layers(net, slow_g), accel.acc, cfg)["fps"]
    assert slow < fast
    for target, kept in ((fast, False), (slow, True)):
        cfg.target = target
        guard = Projection(net, accel, cfg)
        old_a, old_b = net.alpha.detach().clone(), net.beta.detach().clone()
        with torch.no_grad():
            net.alpha[0, k5] = 2.0               # the "step": layer 0 turns to k5_e6
        guard.after_step(old_a, old_b)
        assert (derive(net) == slow_g) == kept
        assert torch.equal(net.alpha, old_a) != kept
        with torch.no_grad():
            net.alpha.copy_(old_a)


@pytest.mark.parametrize("step", ["weight", "arch"])
def test_device_path_computes_what_the_cpu_path_does(monkeypatch, step):
    """The GPU path (no host synchronisation: masks for every bit-width, weights kept as tensors), run here on
    the CPU, gives the CPU path's outputs, weight and architecture gradients and activation ranges."""
    import search.supernet as S
    results = []
    for dev in (False, True):
        monkeypatch.setattr(S, "device_path", lambda x, dev=dev: dev)
        torch.manual_seed(0)
        net = SuperNet(PRESETS["default"]).train()
        x = torch.rand(8, 1, 16, 16)
        g = torch.Generator().manual_seed(3)
        choice = S.sample_weight_step(net, 5.0, g) if step == "weight" else sample_arch_step(net, 5.0, g)
        out = net(x, choice)
        (out * torch.linspace(-1, 1, out.shape[1])).sum().backward()
        grads = [p.grad.clone() if p.grad is not None else None for p in net.parameters()]
        results.append((out.detach(), grads, {n: b.clone() for n, b in net.named_buffers() if n.endswith("_max")}))
    (o0, g0, b0), (o1, g1, b1) = results
    assert torch.allclose(o0, o1, rtol=1e-5, atol=1e-6)
    assert all((a is None) == (b is None) for a, b in zip(g0, g1))
    assert all(torch.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(g0, g1) if a is not None)
    assert any(a is not None and a.abs().sum() > 0 for a in g0[-2:])        # alpha/beta got gradients (arch)
    assert torch.equal(b0["stem.act_max"], b1["stem.act_max"])        # the stem's input range: the same data
    assert all(torch.allclose(b0[n], b1[n], rtol=1e-5) for n in b0)
