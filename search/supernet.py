"""The FBNet supernet: per searchable layer, 9 candidate operators x J bit-widths.

Block (inverted residual): 1x1 conv (groups g) -> BN -> ReLU -> [channel shuffle] -> kxk depthwise (stride s)
-> BN -> ReLU -> 1x1 conv (groups g) -> BN -> ReLU -> (+ input when shapes match). The ReLU after the last
1x1 conv is ours (FBNet's is linear): every activation stays unsigned, as the hardware's requantizer (which
clamps at 0) and its integer arithmetic want (search/quant.py); the residual adds two non-negative tensors.
`skip` is the identity, or 1x1 conv -> BN -> ReLU when stride or width change.

Precision (heterogeneous sampling): each quantized convolution mixes its input's and its weight's J quantized
copies with one weight per bit-width (MixQuant, which recomputes the copies in backward instead of storing
them), then runs ONE convolution: memory does not grow with J.
Operators: single-path forward, multi-path backward (arch steps: top-1 forward, top-2 gets a gradient).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from hw_model.config import LOGIT_BITS, Layer

from . import ckernels
from .quant import act_levels, weight_levels

OPS = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")


def op_spec(op: str):
    """(kernel, expansion, groups) of an operator; None for skip."""
    if op == "skip":
        return None
    k, e, *g = op.split("_")
    return int(k[1:]), int(e[1:]), 2 if g else 1


@dataclass(frozen=True)
class Preset:
    name: str
    in_channels: int
    image_size: int
    stem_channels: int
    stem_stride: int
    stages: tuple            # (channels, layers, stride) per stage
    head_channels: int
    num_classes: int = 10
    bits: tuple = (4, 6, 8)
    fixed_bits: int = 8      # stem, head and classifier


PRESETS = {
    # small enough to search on two CPU cores in minutes (digits upsampled to 16x16)
    "default": Preset("default", 1, 16, 8, 1, ((8, 1, 1), (16, 2, 2), (24, 2, 2)), 64),
    # the method's CIFAR macro-architecture: 22 searchable layers
    "paper": Preset("paper", 3, 32, 16, 1, tuple(zip((16, 24, 32, 64, 112, 184, 352), (1, 4, 4, 4, 4, 4, 1),
                                                    (1, 1, 2, 2, 1, 2, 1))), 1504),
}


def _channels_last(t: torch.Tensor) -> bool:
    return t.dim() == 4 and not t.is_contiguous() and t.is_contiguous(memory_format=torch.channels_last)


def dense(t: torch.Tensor, like: torch.Tensor | None = None) -> torch.Tensor:
    """t in one dense memory order: that of `like` when given, else its own (channels-last or contiguous)."""
    cl = _channels_last(like if like is not None else t)
    return t.contiguous(memory_format=torch.channels_last if cl else torch.contiguous_format)


def flat(t: torch.Tensor) -> torch.Tensor:
    """A 1-D view of a dense t in memory order (no copy for channels-last tensors, whose reshape(-1) copies)."""
    if _channels_last(t):
        return t.permute(0, 2, 3, 1).reshape(-1)
    return t.reshape(-1)


# Elementwise passes over activations are bound by memory bandwidth: MixQuant works through its input in
# slices of this many elements (1 MiB of float32), so that the J quantized copies of a slice stay in cache and
# the input is read once and the output written once (3x faster than whole-tensor passes on the paper preset).
# (On a GPU one pass over the whole tensor is the fast way.)
SLICE = 1 << 18


def _slices(x: torch.Tensor, *others: torch.Tensor):
    """(x slice, the same slice of each tensor in `others` (x's size and memory order), a scratch buffer of the
    slice's length), slice after slice in memory order."""
    n = x.numel()
    step = SLICE if x.device.type == "cpu" else max(1, n)
    flats = [flat(x)] + [flat(t) for t in others]
    tmp = torch.empty(min(step, n), dtype=x.dtype, device=x.device)
    for a in range(0, n, step):
        parts = [f[a:a + step] for f in flats]
        yield (*parts, tmp[:parts[0].numel()])


def _quantized(xs, tmp, s, lo, hi, clamp):
    t = torch.div(xs, s, out=tmp).round_()
    return t.clamp_(lo, hi) if clamp else t


def mix_quantized(x, w, s, lo, hi, clamp) -> torch.Tensor:
    """sum_j w_j * s_j * clamp(round(x / s_j), lo_j, hi_j), slice by slice (the output has x's memory format)."""
    out = torch.empty_like(x)
    js = [j for j in range(len(w)) if w[j] != 0]
    if not js:
        return out.zero_()
    for xs, os_, t in _slices(x, out):
        for n, j in enumerate(js):
            q = _quantized(xs, os_ if n == 0 else t, s[j], lo[j], hi[j], clamp[j])
            if n == 0:
                q.mul_(w[j] * s[j])
            else:
                os_.add_(q, alpha=w[j] * s[j])
    return out


def dot_quantized(g, x, s, lo, hi, clamp) -> float:
    """<g, clamp(round(x / s), lo, hi)>, slice by slice (x dense)."""
    return sum(float(torch.dot(gs, _quantized(xs, t, s, lo, hi, clamp))) for xs, gs, t in _slices(x, dense(g, x)))


def ste_gradient(g, x, free, masked) -> torch.Tensor:
    """g * (free + sum over (w, lo, hi) in masked of w * [lo <= x < hi]), slice by slice (x dense)."""
    gx = torch.empty_like(x)
    for xs, gs, os_, t in _slices(x, dense(g, x), gx):
        torch.mul(gs, free, out=os_)
        for w, lo, hi in masked:
            torch.mul(gs, w, out=t)
            t.masked_fill_((xs < lo) | (xs >= hi), 0.0)
            os_.add_(t)
    return gx


class MixQuant(torch.autograd.Function):
    """sum_j w_j * clamp(round(x / s_j), lo_j, hi_j) * s_j with straight-through rounding.

    The J quantized copies are never stored. Where no element of x reaches a clamp (x / s_j within
    [lo_j - 0.5, hi_j + 0.5) for every j: the usual case, as scales follow the running maximum), the gradient
    to x is g * sum_j w_j, and x is saved only when the mixing weights need a gradient (architecture steps);
    that gradient recomputes the copies, except for a one-hot mixture's chosen copy, which is the output.
    `x_range` = (min, max) of x when the caller knows them."""

    @staticmethod
    def forward(ctx, x, weights, scales, lo, hi, x_range=None):
        ctx.device_path = device_path(x)
        if ctx.device_path:
            return _device_forward(ctx, x, weights, scales, lo, hi)
        w, s = weights.tolist(), scales.tolist()
        x_min, x_max = (float(v) for v in torch.aminmax(flat(x))) if x_range is None else x_range
        clamp = [x_max / s[j] >= hi[j] + 0.5 or x_min / s[j] < lo[j] - 0.5 for j in range(len(lo))]
        x = dense(x)
        if ckernels.usable(x):      # one C sweep (search/mixquant.c)
            js = [j for j in range(len(w)) if w[j] != 0]
            out = ckernels.forward(x, [w[j] * s[j] for j in js], [s[j] for j in js], [lo[j] for j in js],
                                   [hi[j] for j in js]) if js else torch.zeros_like(x)
        else:
            out = mix_quantized(x, w, s, lo, hi, clamp)
        ctx.clamp, ctx.lo, ctx.hi = clamp, lo, hi
        need_w = ctx.needs_input_grad[1]
        ctx.one_hot = need_w and sum(v != 0 for v in w) == 1
        ctx.save_for_backward(x if any(clamp) or need_w else None, weights, scales,
                              out if ctx.one_hot else None)
        return out

    @staticmethod
    def backward(ctx, g):
        if ctx.device_path:
            return _device_backward(ctx, g)
        x, weights, scales, out = ctx.saved_tensors
        w, s = weights.tolist(), scales.tolist()
        gx = gw = None
        free = sum(w[j] for j in range(len(w)) if not ctx.clamp[j])
        masked = [(w[j], (ctx.lo[j] - 0.5) * s[j], (ctx.hi[j] + 0.5) * s[j])
                  for j in range(len(w)) if ctx.clamp[j] and w[j] != 0]
        want_x = ctx.needs_input_grad[0] and bool(masked)
        gd = dense(g, x) if want_x or ctx.needs_input_grad[1] else None     # x is saved in these cases
        if gd is not None and ckernels.usable(gd, x):   # one C sweep for both
            gx, sums = ckernels.backward(gd, x, want_x, free, masked, ctx.needs_input_grad[1], s, ctx.lo, ctx.hi)
            if ctx.needs_input_grad[0] and not masked:
                gx = g if abs(free - 1.0) < 1e-6 else g * free
            if sums is not None:
                gw = torch.tensor([v * s[j] for j, v in enumerate(sums)], dtype=weights.dtype)
            return gx, gw, None, None, None, None
        if ctx.needs_input_grad[0]:
            # straight through where the rounded value is not clamped (weights that sum to 1 pass g as it is)
            if not masked:
                gx = g if abs(free - 1.0) < 1e-6 else g * free
            else:
                gx = ste_gradient(g, x, free, masked)
        if ctx.needs_input_grad[1]:
            gw = torch.zeros_like(weights)
            for j in range(len(w)):
                if ctx.one_hot and w[j] != 0:
                    gw[j] = torch.dot(flat(dense(g, out)), flat(out)) / w[j]      # out = w_j * s_j * q_j
                else:
                    gw[j] = dot_quantized(g, x, s[j], ctx.lo[j], ctx.hi[j], ctx.clamp[j]) * s[j]
        return gx, gw, None, None, None, None


def device_path(x: torch.Tensor) -> bool:
    """Whether MixQuant and QConv take the path without host synchronisation (GPUs: every value the CPU path
    reads back to decide, a sync of the whole queue, is replaced by tensor arithmetic)."""
    return x.device.type != "cpu"


def _device_forward(ctx, x, weights, scales, lo, hi):
    """MixQuant on a GPU: the same sum, the mixing weights and scales kept on the device, every bit-width's copy
    computed (no host-side test for zero weights or clamping); x is saved (one tensor, whatever the number of
    bit-widths) for the clamp masks and the mixing weights' gradient."""
    w = weights.to(x.device, x.dtype)
    s = scales.to(x.device, x.dtype)
    out = None
    for j in range(len(lo)):
        q = torch.clamp(torch.round(x / s[j]), lo[j], hi[j])
        out = q * (w[j] * s[j]) if out is None else out.add_(q * (w[j] * s[j]))
    ctx.lo, ctx.hi = lo, hi
    ctx.save_for_backward(x, weights, scales)
    return out


def _device_backward(ctx, g):
    x, weights, scales = ctx.saved_tensors
    w = weights.to(x.device, x.dtype)
    s = scales.to(x.device, x.dtype)
    gx = gw = None
    if ctx.needs_input_grad[0]:        # straight through where x / s_j rounds inside [lo_j, hi_j]
        f = None
        for j in range(len(ctx.lo)):
            m = ((x >= (ctx.lo[j] - 0.5) * s[j]) & (x < (ctx.hi[j] + 0.5) * s[j])).to(x.dtype) * w[j]
            f = m if f is None else f.add_(m)
        gx = g * f
    if ctx.needs_input_grad[1]:
        gw = torch.stack([(g * torch.clamp(torch.round(x / s[j]), ctx.lo[j], ctx.hi[j])).sum() * s[j]
                          for j in range(len(ctx.lo))]).to(weights.dtype)
    return gx, gw, None, None, None, None


def bit_mixture(bits: tuple, bw, device=None) -> tuple[tuple, torch.Tensor]:
    """The bit-widths in play and their weights: `bw` is a tensor over all `bits` (heterogeneous sampling's
    soft weights) or a dict {bit index: weight} (hard samples: only the listed bit-widths are computed and
    receive a gradient)."""
    if isinstance(bw, dict):
        idx = sorted(bw)
        return tuple(bits[j] for j in idx), torch.stack([torch.as_tensor(bw[j], dtype=torch.float32, device=device)
                                                         for j in idx])
    return tuple(bits), bw


def _running_max(buf: torch.Tensor, m: torch.Tensor, momentum: float) -> None:
    """buf <- m at the first update (buf == 0), else the exponential average (no host sync)."""
    buf.copy_(torch.where(buf == 0, m, (1 - momentum) * buf + momentum * m))


class QConv(nn.Module):
    """A convolution whose input and weight are quantized at the bit-widths `bits`, mixed by `bw`."""

    def __init__(self, c_in, c_out, k, stride=1, groups=1, bias=False, bn=True, relu=True, momentum=0.1,
                 per_channel=True):
        super().__init__()
        self.per_channel = per_channel   # per-output-channel weight scales (per tensor for the classifier)
        self.all_paths = False           # baseline for the benchmark: J convolutions, outputs mixed
        self.conv = nn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=bias)
        self.bn = nn.BatchNorm2d(c_out) if bn else None
        self.relu = relu
        self.register_buffer("act_max", torch.tensor(0.0))   # running max of the (non-negative) input
        self.momentum = momentum

    def scale(self, bits: int) -> torch.Tensor:
        return self.act_max.clamp_min(1e-8) / act_levels(bits)

    def forward(self, x, bits: tuple, bw: torch.Tensor):
        if device_path(x):     # no host sync: the range stays on the device, MixQuant masks every bit-width
            x_range, m = None, x.detach().amax()
        else:
            x_range = tuple(float(v) for v in torch.aminmax(flat(x.detach())))
            m = self.act_max.new_tensor(x_range[1])
        if self.training:
            with torch.no_grad():
                _running_max(self.act_max, m, self.momentum)
        if self.all_paths and len(bits) > 1:
            if isinstance(bw, dict):    # the baseline mixes every bit-width's output
                bw = sum(F.one_hot(torch.tensor(j, device=x.device), len(bits)).float() * v for j, v in bw.items())
            return self._forward_all_paths(x, bits, bw)
        bits, bw = bit_mixture(bits, bw, x.device)
        s_x = torch.stack([self.scale(b) for b in bits])
        xq = MixQuant.apply(x, bw, s_x, [0] * len(bits), [act_levels(b) for b in bits], x_range)
        w = self.conv.weight
        wmax = w.detach().abs().flatten(1).amax(1).clamp_min(1e-8)
        if not self.per_channel:
            wmax = wmax.max().expand_as(wmax)
        # per-channel weight scales differ per bit-width: quantize channel-wise by folding the scale in
        wn = w / wmax.view(-1, 1, 1, 1)                       # in [-1, 1]
        lv = [weight_levels(b) for b in bits]
        s_w = torch.tensor([1.0 / v for v in lv], dtype=w.dtype, device=w.device)
        wq = MixQuant.apply(wn, bw, s_w, [-v for v in lv], lv, (-1.0, 1.0)) * wmax.view(-1, 1, 1, 1)
        y = F.conv2d(xq, wq, self.conv.bias, self.conv.stride, self.conv.padding, 1, self.conv.groups)
        if self.bn is not None:
            y = self.bn(y)
        return F.relu(y, inplace=self.bn is not None) if self.relu else y


def _all_paths(self, x, bits, bw):
    """The naive alternative to heterogeneous sampling: one convolution per bit-width, outputs mixed. Its
    memory grows with the number of bit-widths (bench/search_speed.py measures both)."""
    from .quant import fake_quant_act, fake_quant_weight
    w = self.conv.weight
    y = None
    for j, b in enumerate(bits):
        xq = fake_quant_act(x, self.scale(b), b)
        wq = fake_quant_weight(w, b)
        yj = F.conv2d(xq, wq, self.conv.bias, self.conv.stride, self.conv.padding, 1, self.conv.groups)
        y = yj * bw[j] if y is None else y + yj * bw[j]
    if self.bn is not None:
        y = self.bn(y)
    return F.relu(y) if self.relu else y


QConv._forward_all_paths = _all_paths


def channel_shuffle(x, groups=2):
    b, c, h, w = x.shape
    # on the NHWC memory (channels-last): one copy, and the result is channels-last again
    y = x.permute(0, 2, 3, 1).reshape(b, h, w, groups, c // groups).transpose(3, 4).reshape(b, h, w, c)
    return y.permute(0, 3, 1, 2)


class Candidate(nn.Module):
    def __init__(self, op: str, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.op, self.c_in, self.c_out, self.stride = op, c_in, c_out, stride
        spec = op_spec(op)
        if spec is None:
            self.convs = nn.ModuleList([] if (stride == 1 and c_in == c_out) else [QConv(c_in, c_out, 1, stride)])
            self.residual = False
            return
        k, e, g = spec
        mid = c_in * e
        mid += mid % g
        self.k, self.e, self.g, self.mid = k, e, g, mid
        self.convs = nn.ModuleList([QConv(c_in, mid, 1, 1, groups=g), QConv(mid, mid, k, stride, groups=mid),
                                    QConv(mid, c_out, 1, 1, groups=g)])
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x, bits, bw):
        if self.op == "skip":
            return self.convs[0](x, bits, bw) if len(self.convs) else x
        y = self.convs[0](x, bits, bw)
        if self.g > 1:
            y = channel_shuffle(y, self.g)
        y = self.convs[1](y, bits, bw)
        y = self.convs[2](y, bits, bw)
        return y + x if self.residual else y

    def hw_layers(self, name: str, size: int, bits: int, out_bits: int) -> list[Layer]:
        """The layers the hardware runs for this candidate at this position, named as search.export's integer
        graph names them. A residual block's pw2 writes at the block's input bits (so that both inputs of the
        add share one packing) and the add writes at out_bits."""
        if self.op == "skip":
            if not len(self.convs):
                return []
            return [Layer(name=f"{name}_proj", in_channels=self.c_in, out_channels=self.c_out, in_size=(size, size),
                          kernel=1, stride=self.stride, bits=bits, out_bits=out_bits)]
        out = (size - 1) // self.stride + 1
        layers = [Layer(name=f"{name}_pw1", in_channels=self.c_in, out_channels=self.mid, in_size=(size, size),
                        kernel=1, groups=self.g, bits=bits, out_bits=bits),
                  Layer(name=f"{name}_dw", in_channels=self.mid, out_channels=self.mid, groups=self.mid,
                        in_size=(size, size), kernel=self.k, stride=self.stride, padding=self.k // 2, bits=bits),
                  Layer(name=f"{name}_pw2", in_channels=self.mid, out_channels=self.c_out, in_size=(out, out),
                        kernel=1, groups=self.g, bits=bits, out_bits=bits if self.residual else out_bits)]
        if self.residual:
            layers.append(Layer(name=f"{name}_add", op="add", in_channels=self.c_out, out_channels=self.c_out,
                                in_size=(out, out), bits=bits, out_bits=out_bits))
        return layers


@dataclass
class SearchableLayer:
    index: int
    c_in: int
    c_out: int
    stride: int
    in_size: int


class SuperNet(nn.Module):
    def __init__(self, preset: Preset, ops: tuple = OPS):
        super().__init__()
        self.preset, self.ops, self.bits = preset, ops, tuple(preset.bits)
        fb = (preset.fixed_bits,)
        self.fixed_bw = nn.Parameter(torch.ones(1), requires_grad=False)
        self.stem = QConv(preset.in_channels, preset.stem_channels, 3, preset.stem_stride)
        size = (preset.image_size - 1) // preset.stem_stride + 1
        self.layers: list[SearchableLayer] = []
        blocks = []
        c_in = preset.stem_channels
        for c, n, s in preset.stages:
            for i in range(n):
                stride = s if i == 0 else 1
                self.layers.append(SearchableLayer(len(self.layers), c_in, c, stride, size))
                blocks.append(nn.ModuleList([Candidate(op, c_in, c, stride) for op in ops]))
                size = (size - 1) // stride + 1
                c_in = c
        self.blocks = nn.ModuleList(blocks)
        self.final_size = size
        self.head = QConv(c_in, preset.head_channels, 1)
        self.fc = QConv(preset.head_channels, preset.num_classes, 1, bias=True, bn=False, relu=False,
                        per_channel=False)
        self.register_buffer("pool_max", torch.tensor(0.0))   # running max of the head's output (pool input)
        L, O, J = len(self.layers), len(ops), len(self.bits)
        self.alpha = nn.Parameter(1e-3 * torch.randn(L, O))
        self.beta = nn.Parameter(1e-3 * torch.randn(L, O, J))
        self._fixed = fb

    def weight_parameters(self):
        return [p for n, p in self.named_parameters() if n not in ("alpha", "beta", "fixed_bw")]

    def arch_parameters(self):
        return [self.alpha, self.beta]

    def forward(self, x, choice):
        """choice: a list, per searchable layer, of (op gates {op index: gate}, bit weights per op)."""
        one = self.fixed_bw
        # channels-last (NHWC) activations: the CPU convolution kernels (oneDNN) run about 2x faster on them
        y = self.stem(x.contiguous(memory_format=torch.channels_last), self._fixed, one)
        for block, (gates, bws) in zip(self.blocks, choice):
            out = None
            host = getattr(gates, "host", None)      # gate values known on the host (no device sync)
            for o, gate in gates.items():
                if isinstance(gate, torch.Tensor) and (host[o] if host is not None else float(gate.detach())) == 0.0:
                    # a gate of value 0 (arch steps' top-2): its gradient needs the output, but nothing needs
                    # a gradient through the output (it is multiplied by 0), so skip its backward pass
                    with torch.no_grad():
                        z = block[o](y, self.bits, bws[o])
                else:
                    z = block[o](y, self.bits, bws[o])
                if not isinstance(gate, torch.Tensor) and gate == 1.0:
                    zg = z          # weight steps and derived networks: no gate to multiply by
                else:
                    zg = z * gate
                out = zg if out is None else out + zg
            y = out
        y = self.head(y, self._fixed, one)
        if self.training:
            with torch.no_grad():
                _running_max(self.pool_max, y.detach().amax(), 0.1)
        y = F.adaptive_avg_pool2d(y, 1)
        return self.fc(y, self._fixed, one).flatten(1)


# ------------------------------------------------------------------------------------------------ sampling
def gumbel(shape, generator=None, device=None):
    """Gumbel noise drawn on the CPU from `generator` (the same draws on every device), then moved."""
    u = torch.rand(shape, generator=generator).clamp(1e-10, 1 - 1e-10)
    return (-torch.log(-torch.log(u))).to(device or "cpu")


def sample_weight_step(net: SuperNet, tau: float, generator=None):
    """Weight step: one operator per layer (hard sample, no gradient to alpha); bits mixed with soft
    Gumbel-softmax weights (heterogeneous sampling). The operators' noise is drawn first, for all layers, so
    the operators sampled for a seed do not depend on the number of bit-widths; choices are made on a CPU
    copy of the logits (no device round trip per layer)."""
    dev = net.alpha.device
    ops = torch.argmax(net.alpha.detach().cpu() + gumbel(net.alpha.shape, generator), dim=-1).tolist()
    noise = gumbel(net.beta.shape, generator, dev)
    return [({o: 1.0}, {o: F.softmax((net.beta[li, o].detach() + noise[li, o]) / tau, dim=-1)})
            for li, o in enumerate(ops)]


def _top2_gates(logits, tau, noise, logits_cpu=None):
    """Hard Gumbel-softmax with the top-2 kept: forward value one-hot(top-1), gradients to both. `noise` is
    a CPU tensor; the top-2 are found on the CPU (`logits_cpu`: a CPU copy of the logits, if at hand)."""
    ref = logits.detach().cpu() if logits_cpu is None else logits_cpu
    top = torch.topk(ref + noise, min(2, logits.numel())).indices.tolist()
    p = F.softmax((logits + noise.to(logits.device)) / tau, dim=-1)
    gates = Gates()
    for rank, i in enumerate(top):
        gates.host[i] = 1.0 if rank == 0 else 0.0
        gates[i] = gates.host[i] + (p[i] - p[i].detach())   # exactly 1 or 0 in value
    return gates


class Gates(dict):
    """{index: gate tensor} whose values (exactly 1 or 0) the host also knows, in `.host`."""

    def __init__(self):
        super().__init__()
        self.host: dict[int, float] = {}


def sample_arch_step(net: SuperNet, tau: float, generator=None):
    """Architecture step: operators and bits sampled hard, top-1 forward, top-2 backward (operator noise
    first, for all layers, then the bits' noise)."""
    a_cpu, b_cpu = net.alpha.detach().cpu(), net.beta.detach().cpu()
    na = gumbel(net.alpha.shape, generator)
    nb = gumbel(net.beta.shape, generator)
    choice = []
    for li in range(len(net.layers)):
        gates = _top2_gates(net.alpha[li], tau, na[li], a_cpu[li])
        bws = {o: _top2_gates(net.beta[li, o], tau, nb[li, o], b_cpu[li, o]) for o in gates}
        choice.append((gates, bws))
    return choice


def derived_choice(net: SuperNet, genotype):
    """The discrete network: (op index, bit index) per layer, as a forward choice."""
    out = []
    for o, j in genotype:
        out.append(({o: 1.0}, {o: {j: 1.0}}))
    return out


def derive(net: SuperNet):
    """argmax of alpha, then argmax of beta for the chosen operator."""
    g = []
    for li in range(len(net.layers)):
        o = int(torch.argmax(net.alpha[li]))
        g.append((o, int(torch.argmax(net.beta[li, o]))))
    return g


def rescale_active_logits(param: torch.Tensor, old: torch.Tensor, active: list) -> None:
    """After an architecture step, shift the active logits so their log-sum-exp is unchanged (ProxylessNAS),
    computed stably (the method's code overflows above ~88)."""
    with torch.no_grad():
        idx = torch.tensor(active)
        delta = torch.logsumexp(param[idx], 0) - torch.logsumexp(old[idx], 0)
        param[idx] -= delta


def consumer_bits(net: SuperNet, genotype) -> list[int]:
    """in_bits[i]: the bit-width at which block i's input is stored, that of its first consumer (identity
    skips pass their input on; after the last block, the head at the fixed bit-width)."""
    fb = net.preset.fixed_bits
    out = [fb] * (len(genotype) + 1)
    for i in range(len(genotype) - 1, -1, -1):
        o, j = genotype[i]
        out[i] = net.bits[j] if len(net.blocks[i][o].convs) else out[i + 1]
    return out


def network_layers(net: SuperNet, genotype) -> list[Layer]:
    """The hardware layers of a derived network, in execution order and named as search.export's integer graph
    names its nodes: stem, each block's layers, head, pool, fc (int32 logits)."""
    p = net.preset
    fb = p.fixed_bits
    in_bits = consumer_bits(net, genotype)
    size0 = p.image_size
    out = [Layer(name="stem", in_channels=p.in_channels, out_channels=p.stem_channels, in_size=(size0, size0),
                 kernel=3, stride=p.stem_stride, padding=1, bits=fb, out_bits=in_bits[0])]
    for li, (o, j) in enumerate(genotype):
        sl = net.layers[li]
        out += net.blocks[li][o].hw_layers(f"l{li}", sl.in_size, net.bits[j], in_bits[li + 1])
    c_last = p.stages[-1][0]
    fs = net.final_size
    out.append(Layer(name="head", in_channels=c_last, out_channels=p.head_channels, in_size=(fs, fs), kernel=1,
                     bits=fb, out_bits=fb))
    out.append(Layer(name="pool", op="avgpool", in_channels=p.head_channels, out_channels=p.head_channels,
                     in_size=(fs, fs), bits=fb, out_bits=fb))
    out.append(Layer(name="fc", in_channels=p.head_channels, out_channels=p.num_classes, in_size=(1, 1), kernel=1,
                     bits=fb, out_bits=LOGIT_BITS))
    return out
