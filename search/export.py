"""Derive, fine-tune, and export the searched network as the integer program the hardware runs.

- fold: BatchNorm is folded into each convolution of the derived network (weights and bias), and
  fine-tuning continues on the folded network with fake quantization, so that the weights trained are the
  weights exported;
- integer graph: every convolution becomes integer weights (per-channel symmetric, per-tensor for the
  classifier), an int32 bias and per-channel (mult, shift) requantizing to the consumer's input scale and
  bit-width (hw_model.numerics); channel shuffles are folded into the producing convolution's output order;
  residual adds and the global average pool are integer ops with 16-bit multipliers; the classifier's int32
  accumulators are the logits;
- int_forward runs that graph exactly (integers held in float64 for the convolutions) and gives the accuracy
  reported in out/best.json.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from hw_model.config import LOGIT_BITS
from hw_model.numerics import dense_weights

from .quant import int_weight, mult_shift, requantize
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
def shuffle_perm(c: int, groups: int = 2) -> torch.Tensor:
    """Output channel j of a channel shuffle reads input channel perm[j]."""
    j = torch.arange(c)
    return (j % groups) * (c // groups) + j // groups


def _act_scale(q: QConv, bits: int) -> float:
    return float(q.act_max.clamp_min(1e-8)) / ((1 << bits) - 1)


def _conv_node(name, q: QConv, bits, s_in, s_out, out_bits, perm=None, logits=False):
    qw, s_w = int_weight(q.conv.weight, bits, q.per_channel)
    b = q.conv.bias.detach().double() if q.conv.bias is not None else torch.zeros(qw.shape[0], dtype=torch.float64)
    groups = q.conv.groups
    if perm is not None:
        # a shuffle after a grouped convolution moves channels across groups: permute the rows of the
        # block-diagonal dense weights (the hardware runs grouped convolutions dense anyway)
        if groups > 1:
            qw = torch.from_numpy(dense_weights(qw.numpy(), groups))
            groups = 1
        qw, s_w, b = qw[perm], s_w[perm], b[perm]
    bias = torch.round(b / (s_in * s_w)).long()
    node = {"op": "conv", "name": name, "stride": q.conv.stride[0], "padding": q.conv.padding[0],
            "groups": groups, "bits": bits, "out_bits": out_bits, "weight": qw.long(), "bias": bias,
            "in_scale": s_in, "weight_scale": s_w}
    if logits:
        node.update(op="fc", out_bits=LOGIT_BITS)
    else:
        mult, shift = mult_shift(s_in * s_w / s_out)
        node.update(mult=mult, shift=shift, out_scale=s_out)
    return node


def joint_mult_shift(ms: list[float]) -> tuple[list[int], int]:
    """Real multipliers sharing one shift: the largest as precise as 16 bits allow, the others on its scale."""
    _, shift = mult_shift(torch.tensor([max(ms)]))
    sh = int(shift[0])
    return [int(min((1 << 16) - 1, round(m * 2.0 ** sh))) for m in ms], sh


def integer_graph(net: SuperNet, genotype) -> dict:
    """The derived (BN-folded) network as integer nodes. Tensors flow as unsigned integers; each producer
    requantizes to its consumer's input scale and bit-width."""
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
    nodes.append(_conv_node("stem", net.stem, fb, s_img, _act_scale(c0, b0), b0))
    cur = "stem"
    s_cur = _act_scale(c0, b0)
    for i, (o, j) in enumerate(genotype):
        cand = net.blocks[i][o]
        b = bits[i]
        nxt_q, nxt_b = first_consumer(i + 1)
        s_next = _act_scale(nxt_q, nxt_b)
        if cand.op == "skip":
            if len(cand.convs):
                nodes.append(dict(_conv_node(f"l{i}_proj", cand.convs[0], b, s_cur, s_next, nxt_b), input=cur))
                cur, s_cur = f"l{i}_proj", s_next
            # identity: the producer already requantized to the next consumer (first_consumer skips it)
            continue
        pw1, dw, pw2 = cand.convs
        s_dw, s_pw2 = _act_scale(dw, b), _act_scale(pw2, b)
        perm = shuffle_perm(cand.mid) if cand.g > 1 else None
        nodes.append(dict(_conv_node(f"l{i}_pw1", pw1, b, s_cur, s_dw, b, perm=perm), input=cur))
        nodes.append(dict(_conv_node(f"l{i}_dw", dw, b, s_dw, s_pw2, b), input=f"l{i}_pw1"))
        out = f"l{i}_pw2"
        if cand.residual:
            # pw2 writes the sum's range at the block's input bits b, so that both inputs of the add share one
            # packing; out = clamp((pw2 * mult_a + in * mult_b + round) >> shift) at the next consumer's scale
            s_a = s_next * ((1 << nxt_b) - 1) / ((1 << b) - 1)
            nodes.append(dict(_conv_node(out, pw2, b, s_pw2, s_a, b), input=f"l{i}_dw"))
            (ma, mb), sh = joint_mult_shift([s_a / s_next, s_cur / s_next])
            nodes.append({"op": "add", "name": f"l{i}_add", "inputs": [out, cur], "mult_a": ma, "mult_b": mb,
                          "shift": sh, "bits": b, "out_bits": nxt_b})
            out = f"l{i}_add"
        else:
            nodes.append(dict(_conv_node(out, pw2, b, s_pw2, s_next, nxt_b), input=f"l{i}_dw"))
        cur, s_cur = out, s_next
    s_fc = _act_scale(net.fc, fb)
    # the head's outputs keep their own range (the pool's input); the pool requantizes their mean to the
    # classifier's input scale
    s_head = float(net.pool_max.clamp_min(1e-8)) / ((1 << fb) - 1)
    nodes.append(dict(_conv_node("head", net.head, fb, s_cur, s_head, fb), input=cur))
    hw = net.final_size ** 2
    mult, shift = mult_shift(torch.tensor([s_head / (hw * s_fc)]))
    nodes.append({"op": "avgpool", "name": "pool", "input": "head", "mult_a": int(mult[0]), "shift": int(shift[0]),
                  "bits": fb, "out_bits": fb})
    nodes.append(dict(_conv_node("fc", net.fc, fb, s_fc, 1.0, LOGIT_BITS, logits=True), input="pool"))
    nodes[0]["input"] = "input"
    return {"input_scale": s_img, "input_bits": fb, "nodes": nodes}


def quantize_input(x: torch.Tensor, graph: dict) -> torch.Tensor:
    return torch.clamp(torch.round(x.double() / graph["input_scale"]), 0, (1 << graph["input_bits"]) - 1).long()


def int_forward(graph: dict, q_img: torch.Tensor, keep: bool = False):
    """Exact integer inference: q_img [B, C, H, W] unsigned ints -> int64 logits [B, classes]; with keep=True
    also every node's output tensor, by name."""
    t = {"input": q_img.long()}
    for n in graph["nodes"]:
        if n["op"] in ("conv", "fc"):
            x = t[n["input"]]
            acc = F.conv2d(x.double(), n["weight"].double(), None, n["stride"], n["padding"], 1, n["groups"])
            acc = torch.round(acc).long()
            if n["op"] == "fc":
                t[n["name"]] = acc + n["bias"].view(1, -1, 1, 1)
            else:
                t[n["name"]] = requantize(acc, n["bias"], n["mult"], n["shift"], n["out_bits"])
        elif n["op"] == "add":
            a, b = (t[k] for k in n["inputs"])
            s = n["shift"]
            y = a * n["mult_a"] + b * n["mult_b"]
            y = (y + ((1 << s) >> 1)) >> s
            t[n["name"]] = torch.clamp(y, 0, (1 << n["out_bits"]) - 1)
        elif n["op"] == "avgpool":
            s = t[n["input"]].sum(dim=(2, 3), keepdim=True)
            y = (s * n["mult_a"] + ((1 << n["shift"]) >> 1)) >> n["shift"]
            t[n["name"]] = torch.clamp(y, 0, (1 << n["out_bits"]) - 1)
    logits = t[graph["nodes"][-1]["name"]].flatten(1)
    return (logits, t) if keep else logits


def int_accuracy(graph: dict, split, batch: int = 512) -> float:
    correct = 0
    for i in range(0, len(split.y), batch):
        logits = int_forward(graph, quantize_input(split.x[i:i + batch], graph))
        correct += int((logits.argmax(1) == split.y[i:i + batch]).sum())
    return correct / max(1, len(split.y))


def graph_for_json(graph: dict) -> list[dict]:
    """The graph without its tensors (those go to the weights file)."""
    keep = ("op", "name", "input", "inputs", "stride", "padding", "groups", "bits", "out_bits", "mult_a", "mult_b",
            "shift")
    out = []
    for n in graph["nodes"]:
        d = {k: n[k] for k in keep if k in n and not torch.is_tensor(n[k])}
        if "weight" in n:
            d["kernel"] = int(n["weight"].shape[-1])
            d["in_channels"] = int(n["weight"].shape[1] * n["groups"])
            d["out_channels"] = int(n["weight"].shape[0])
        out.append(d)
    return out


def graph_tensors(graph: dict) -> dict:
    out = {}
    for n in graph["nodes"]:
        for k in ("weight", "bias", "mult", "shift"):
            if k in n and torch.is_tensor(n[k]):
                out[f"{n['name']}.{k}"] = n[k].to(torch.int32 if k != "weight" else torch.int8)
    return out


def load_integer_graph(network: dict, weights_path) -> dict:
    """The integer graph of a search result: best.json's network.integer_graph with the tensors of its weights
    file (read with torch.load(weights_only=True): data, never code). The inverse of graph_for_json and
    graph_tensors."""
    from hw_model.errors import ConfigError
    try:
        tensors = torch.load(weights_path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ConfigError("weights_file", str(weights_path), "the weights file the search wrote beside best.json") \
            from None
    if not isinstance(tensors, dict) or tensors.get("format") != "trips-int-v1":
        raise ConfigError("weights_file", str(weights_path), "a trips-int-v1 weights file")
    nodes = []
    for n in network.get("integer_graph") or []:
        node = dict(n)
        for k in ("weight", "bias", "mult", "shift"):
            key = f"{n['name']}.{k}"
            if key in tensors:
                node[k] = tensors[key].long()
        nodes.append(node)
    if not nodes:
        raise ConfigError("network.integer_graph", "missing", "the integer graph a search writes")
    return {"input_scale": float(network["input_scale"]), "input_bits": int(network["input_bits"]), "nodes": nodes}
