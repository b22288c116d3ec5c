"""Derive, fine-tune, and export the searched network as the integer program the hardware runs.

- fold: BatchNorm is folded into each convolution of the derived network (weights and bias), and
  fine-tuning continues on the folded network with fake quantization, so that the weights trained are the
  weights exported;
- integer graph: every convolution becomes integer weights (per-channel symmetric, per-tensor for the
  classifier), an int32 bias and per-channel (mult, shift) requantizing to the consumer's input scale and
  bit-width (hw_model.numerics); channel shuffles are folded into the producing convolution's output order;
  residual adds and the global average pool are integer ops with 16-bit multipliers; the classifier's int32
  accumulators are the logits;
- the graph is hw_model.intnet's IntGraph; int_forward_torch runs it exactly (integers held in float64 for the
  convolutions), as hw_model.intnet.int_forward does in numpy, and gives the accuracy reported in out/best.json.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from hw_model.config import LOGIT_BITS
from hw_model.intnet import INPUT, AddNode, ConvNode, IntGraph, PoolNode, quantize_input, shuffle_perm
from hw_model.numerics import dense_weights, requantize, round_shift_clamp

from .quant import int_weight, mult_shift
from .supernet import QConv, SuperNet, derived_choice


# ------------------------------------------------------------------------------------------ BN folding
def fold_bn(q: QConv) -> None:
    """Fold a QConv's BatchNorm into its convolution (in place)."""
    if q.bn is None:
        return
    bn, conv = q.bn, q.conv
    g = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    b = bn.bias.detach() - bn.running_mean * g
    if conv.bias is not None:
        b = b + conv.bias.detach() * g
    new = torch.nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                          groups=conv.groups, bias=True).to(conv.weight.device)
    with torch.no_grad():
        new.weight.copy_(conv.weight * g.view(-1, 1, 1, 1))
        new.bias.copy_(b)
    q.conv, q.bn = new, None


def derived_qconvs(net: SuperNet, genotype) -> list[QConv]:
    out = [net.stem]
    for li, (o, _) in enumerate(genotype):
        out += list(net.blocks[li][o].convs)
    return out + [net.head, net.fc]


def fold_network(net: SuperNet, genotype) -> None:
    for q in derived_qconvs(net, genotype):
        fold_bn(q)


def finetune(net: SuperNet, genotype, data, epochs: int, device, lr: float = 0.01, batch: int = 64, seed: int = 0,
             progress=None) -> None:
    """Quantization-aware fine-tuning of the derived, BN-folded network at its searched bit-widths."""
    if epochs <= 0:
        return
    params = [p for q in derived_qconvs(net, genotype) for p in q.parameters()]
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=5e-4)
    choice = derived_choice(net, genotype)
    g = torch.Generator().manual_seed(seed)
    n = len(data.train.y)
    steps = max(1, n // batch)
    for ep in range(epochs):
        for pg in opt.param_groups:
            pg["lr"] = 0.5 * lr * (1 + math.cos(math.pi * ep / epochs))
        perm = torch.randperm(n, generator=g)
        for i in range(steps):
            b = perm[i * batch:(i + 1) * batch]
            loss = F.cross_entropy(net(data.train.x[b].to(device), choice), data.train.y[b].to(device))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
        if progress:
            progress(ep)


# ------------------------------------------------------------------------------------------ integer graph
def _act_scale(q: QConv, bits: int) -> float:
    return float(q.act_max.clamp_min(1e-8)) / ((1 << bits) - 1)


def _conv_node(name, q: QConv, bits, s_in, s_out, out_bits, inp, perm=None, logits=False) -> ConvNode:
    qw, s_w = int_weight(q.conv.weight, bits, q.per_channel)
    b = q.conv.bias.detach().double() if q.conv.bias is not None else torch.zeros(qw.shape[0], dtype=torch.float64)
    groups = q.conv.groups
    if perm is not None:
        # a shuffle after a grouped convolution moves channels across groups: permute the rows of the
        # block-diagonal dense weights (the hardware runs grouped convolutions dense anyway)
        if groups > 1:
            qw = torch.from_numpy(dense_weights(qw.numpy(), groups))
            groups = 1
        p = torch.from_numpy(perm)
        qw, s_w, b = qw[p], s_w[p], b[p]
    bias = torch.round(b / (s_in * s_w)).long().numpy()
    weight = qw.long().numpy()
    if logits:
        return ConvNode(name, inp, q.conv.stride[0], q.conv.padding[0], groups, bits, LOGIT_BITS, weight, bias)
    mult, shift = mult_shift(s_in * s_w / s_out)
    return ConvNode(name, inp, q.conv.stride[0], q.conv.padding[0], groups, bits, out_bits, weight, bias,
                    mult.numpy(), shift.numpy())


def joint_mult_shift(ms: list[float]) -> tuple[list[int], int]:
    """Real multipliers sharing one shift: the largest as precise as 16 bits allow, the others on its scale."""
    _, shift = mult_shift(torch.tensor([max(ms)]))
    sh = int(shift[0])
    return [int(min((1 << 16) - 1, round(m * 2.0 ** sh))) for m in ms], sh


def integer_graph(net: SuperNet, genotype) -> IntGraph:
    """The derived (BN-folded) network as integer nodes (hw_model.intnet). Tensors flow as unsigned integers;
    each producer requantizes to its consumer's input scale and bit-width."""
    fb = net.preset.fixed_bits
    bits = [net.bits[j] for _, j in genotype]

    def first_consumer(i):
        """(QConv, bits) that first reads the input of block i (head after the last block)."""
        while i < len(genotype):
            o = genotype[i][0]
            convs = net.blocks[i][o].convs
            if len(convs):
                return convs[0], bits[i]
            i += 1
        return net.head, fb

    nodes = []
    s_img = _act_scale(net.stem, fb)
    c0, b0 = first_consumer(0)
    nodes.append(_conv_node("stem", net.stem, fb, s_img, _act_scale(c0, b0), b0, INPUT))
    cur = "stem"
    s_cur = _act_scale(c0, b0)
    for i, (o, j) in enumerate(genotype):
        cand = net.blocks[i][o]
        b = bits[i]
        nxt_q, nxt_b = first_consumer(i + 1)
        s_next = _act_scale(nxt_q, nxt_b)
        if cand.op == "skip":
            if len(cand.convs):
                nodes.append(_conv_node(f"l{i}_proj", cand.convs[0], b, s_cur, s_next, nxt_b, cur))
                cur, s_cur = f"l{i}_proj", s_next
            # identity: the producer already requantized to the next consumer (first_consumer skips it)
            continue
        pw1, dw, pw2 = cand.convs
        s_dw, s_pw2 = _act_scale(dw, b), _act_scale(pw2, b)
        perm = shuffle_perm(cand.mid) if cand.g > 1 else None
        nodes.append(_conv_node(f"l{i}_pw1", pw1, b, s_cur, s_dw, b, cur, perm=perm))
        nodes.append(_conv_node(f"l{i}_dw", dw, b, s_dw, s_pw2, b, f"l{i}_pw1"))
        out = f"l{i}_pw2"
        if cand.residual:
            # pw2 writes the sum's range at the block's input bits b, so that both inputs of the add share one
            # packing; out = clamp((pw2 * mult_a + in * mult_b + round) >> shift) at the next consumer's scale
            s_a = s_next * ((1 << nxt_b) - 1) / ((1 << b) - 1)
            nodes.append(_conv_node(out, pw2, b, s_pw2, s_a, b, f"l{i}_dw"))
            (ma, mb), sh = joint_mult_shift([s_a / s_next, s_cur / s_next])
            nodes.append(AddNode(f"l{i}_add", (out, cur), ma, mb, sh, b, nxt_b))
            out = f"l{i}_add"
        else:
            nodes.append(_conv_node(out, pw2, b, s_pw2, s_next, nxt_b, f"l{i}_dw"))
        cur, s_cur = out, s_next
    s_fc = _act_scale(net.fc, fb)
    # the head's outputs keep their own range (the pool's input); the pool requantizes their mean to the
    # classifier's input scale
    s_head = float(net.pool_max.clamp_min(1e-8)) / ((1 << fb) - 1)
    nodes.append(_conv_node("head", net.head, fb, s_cur, s_head, fb, cur))
    hw = net.final_size ** 2
    mult, shift = mult_shift(torch.tensor([s_head / (hw * s_fc)]))
    nodes.append(PoolNode("pool", "head", int(mult[0]), int(shift[0]), fb, fb))
    nodes.append(_conv_node("fc", net.fc, fb, s_fc, 1.0, LOGIT_BITS, "pool", logits=True))
    return IntGraph(s_img, fb, tuple(nodes))


def int_forward_torch(graph: IntGraph, q_img: torch.Tensor) -> torch.Tensor:
    """hw_model.intnet.int_forward in torch, for the accuracy over a whole test split (tests/test_search.py checks
    that both give the same logits): integers held in float64 for the convolutions (exact for every int32
    accumulator), the requantizer hw_model.numerics' own."""
    t = {INPUT: q_img.long()}
    for n in graph.nodes:
        ins = [t[k] for k in n.inputs]
        if isinstance(n, ConvNode):
            acc = torch.round(F.conv2d(ins[0].double(), torch.from_numpy(n.weight).double(), None, n.stride,
                                       n.padding, 1, n.groups)).long()
            zeros = torch.zeros(len(n.bias), dtype=torch.long)
            mult, shift = (zeros, zeros) if n.mult is None else (torch.from_numpy(n.mult), torch.from_numpy(n.shift))
            t[n.name] = requantize(acc, torch.from_numpy(n.bias), mult, shift, n.out_bits, axis=1)
        elif isinstance(n, AddNode):
            t[n.name] = round_shift_clamp(ins[0] * n.mult_a + ins[1] * n.mult_b, n.shift, n.out_bits)
        else:
            t[n.name] = round_shift_clamp(ins[0].sum(dim=(2, 3), keepdim=True) * n.mult_a, n.shift, n.out_bits)
    return t[graph.nodes[-1].name].flatten(1)


def quantize_split(x: torch.Tensor, graph: IntGraph) -> torch.Tensor:
    return torch.from_numpy(quantize_input(x.numpy(), graph))


def int_accuracy(graph: IntGraph, split, batch: int = 512) -> float:
    correct = 0
    for i in range(0, len(split.y), batch):
        logits = int_forward_torch(graph, quantize_split(split.x[i:i + batch], graph))
        correct += int((logits.argmax(1) == split.y[i:i + batch]).sum())
    return correct / max(1, len(split.y))
