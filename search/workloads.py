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


def resnet18(image: int = 32, bits: int = 8) -> list[Layer]:
    """ResNet-18's convolutions: the 3x3 convolutions of the four stages, the 1x1 downsampling projections and
    the stem (3x3 stride 1 at CIFAR size, 7x7 stride 2 then a 3x3/2 max pool at ImageNet size, which we stand
    in for by halving the map)."""
    if image >= 64:
        layers = [Layer(name="stem7x7", in_channels=3, out_channels=64, in_size=(image, image), kernel=7, stride=2,
                        padding=3, bits=bits)]
        size = (image + 6 - 7) // 2 + 1
        size = (size + 2 - 3) // 2 + 1
    else:
        layers = [Layer(name="stem3x3", in_channels=3, out_channels=64, in_size=(image, image), kernel=3, padding=1,
                        bits=bits)]
        size = image
    c_in = 64
    for stage, (c, s) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)]):
        for blk in range(2):
            st = s if blk == 0 else 1
            layers.append(Layer(name=f"s{stage}b{blk}a", in_channels=c_in, out_channels=c, in_size=(size, size),
                                kernel=3, stride=st, padding=1, bits=bits))
            if st != 1 or c_in != c:
                layers.append(Layer(name=f"s{stage}b{blk}proj", in_channels=c_in, out_channels=c,
                                    in_size=(size, size), kernel=1, stride=st, bits=bits))
            size = (size + 2 - 3) // st + 1
            layers.append(Layer(name=f"s{stage}b{blk}b", in_channels=c, out_channels=c, in_size=(size, size),
                                kernel=3, padding=1, bits=bits))
            c_in = c
    return layers


def mobilenet_v2(image: int = 32, bits: int = 8) -> list[Layer]:
    """MobileNetV2's convolutions (width 1.0): stem, inverted residual blocks (1x1 expand, 3x3 depthwise, 1x1
    project) and the 1x1 head. At CIFAR size the stem and the first stage keep stride 1."""
    cifar = image < 64
    layers = [Layer(name="stem", in_channels=3, out_channels=32, in_size=(image, image), kernel=3,
                    stride=1 if cifar else 2, padding=1, bits=bits)]
    size = image if cifar else (image + 2 - 3) // 2 + 1
    c_in = 32
    cfg = [(1, 16, 1, 1), (6, 24, 2, 1 if cifar else 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
           (6, 160, 3, 2), (6, 320, 1, 1)]
    for si, (t, c, n, s) in enumerate(cfg):
        for i in range(n):
            st = s if i == 0 else 1
            mid = c_in * t
            p = f"b{si}_{i}"
            if t != 1:
                layers.append(Layer(name=f"{p}_exp", in_channels=c_in, out_channels=mid, in_size=(size, size),
                                    kernel=1, bits=bits))
            layers.append(Layer(name=f"{p}_dw", in_channels=mid, out_channels=mid, groups=mid, in_size=(size, size),
                                kernel=3, stride=st, padding=1, bits=bits))
            size = (size + 2 - 3) // st + 1
            layers.append(Layer(name=f"{p}_proj", in_channels=mid, out_channels=c, in_size=(size, size), kernel=1,
                                bits=bits))
            c_in = c
    layers.append(Layer(name="head", in_channels=c_in, out_channels=1280, in_size=(size, size), kernel=1, bits=bits))
    return layers
