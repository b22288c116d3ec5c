"""Reference workloads of standard convolutions (CIFAR-sized), for benchmarks and tests of the accelerator
search. Networks from the searched space come from search.supernet once the template has its other ops."""
from __future__ import annotations

from hw_model.config import Layer


def resnet18_cifar(bits_per_stage=(8, 8, 6, 6, 4)) -> list[Layer]:
    """ResNet-18's 17 3x3 convolutions at 32x32 input; stage i (stem = 0) at bits_per_stage[i]."""
    b = list(bits_per_stage) + [bits_per_stage[-1]] * 5
    layers = [Layer(name="stem", in_channels=3, out_channels=64, in_size=(32, 32), kernel=3, padding=1,
                    bits=b[0], out_bits=b[1])]
    c_in, size = 64, 32
    for stage, (c, s) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)]):
        for blk in range(2):
            st = s if blk == 0 else 1
            q = b[stage + 1]
            nxt = b[stage + 2] if blk == 1 else q
            layers.append(Layer(name=f"s{stage}b{blk}a", in_channels=c_in, out_channels=c, in_size=(size, size),
                                kernel=3, stride=st, padding=1, bits=q, out_bits=q))
            size = (size + 2 - 3) // st + 1
            layers.append(Layer(name=f"s{stage}b{blk}b", in_channels=c, out_channels=c, in_size=(size, size),
                                kernel=3, padding=1, bits=q, out_bits=nxt))
            c_in = c
    return layers


def vgg_cifar(bits=(4, 4, 4, 8, 8, 8)) -> list[Layer]:
    """Six 3x3 convolutions, stride 2 in place of pooling, at 32x32 input."""
    layers, c, s = [], 3, 32
    plan = [(64, 1), (128, 2), (256, 1), (256, 2), (512, 1), (512, 2)]
    for i, (co, st) in enumerate(plan):
        layers.append(Layer(name=f"v{i}", in_channels=c, out_channels=co, in_size=(s, s), kernel=3, padding=1,
                            stride=st, bits=bits[i], out_bits=bits[min(i + 1, len(bits) - 1)]))
        c, s = co, (s + 2 - 3) // st + 1
    return layers
