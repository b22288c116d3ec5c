"""The quantizer is the hardware's integer arithmetic."""
import numpy as np
import torch

from hw_model.numerics import requantize
from search.quant import fake_quant_act, fake_quant_weight, int_weight, mult_shift


def test_requantize_takes_torch_batches_as_numpy_images():
    """hw_model.numerics.requantize is the one requantizer: on a torch batch (channels on axis 1, the search's
    fast integer model) it gives what it gives on each numpy image."""
    rng = np.random.default_rng(0)
    acc = rng.integers(-(1 << 24), 1 << 24, size=(2, 7, 3, 3))
    bias = rng.integers(-(1 << 12), 1 << 12, size=7)
    mult = rng.integers(1, 1 << 16, size=7)
    shift = rng.integers(0, 40, size=7)
    for ob in (4, 6, 8):
        ref = np.stack([requantize(a, bias, mult, shift, ob) for a in acc])
        got = requantize(torch.from_numpy(acc), torch.from_numpy(bias), torch.from_numpy(mult),
                         torch.from_numpy(shift), ob, axis=1).numpy()
        assert np.array_equal(got, ref)


def test_mult_shift_is_16_bit_and_accurate():
    m = torch.tensor([1e-6, 3.7e-4, 0.013, 0.5, 0.99, 1.0, 3.3, 250.0])
    mult, shift = mult_shift(m)
    assert int(mult.max()) < (1 << 16) and int(mult.min()) >= 1 and int(shift.min()) >= 0
    approx = mult.double() / torch.pow(2.0, shift.double())
    assert torch.all((approx / m.double() - 1).abs() < 2 ** -14)


def test_fake_quant_uses_the_integer_levels():
    x = torch.tensor([-1.0, 0.0, 0.26, 0.74, 1.0, 9.0])
    assert fake_quant_act(x, torch.tensor(0.25), 2).tolist() == [0.0, 0.0, 0.25, 0.75, 0.75, 0.75]
    w = torch.tensor([[1.0, -0.55, 0.2], [0.3, 0.0, -0.3]]).view(2, 3, 1, 1)
    q, s = int_weight(w, 4)                    # levels -7..7, scale max|w| / 7 per channel
    assert q.flatten().tolist() == [7.0, -4.0, 1.0, 7.0, 0.0, -7.0]
    assert torch.allclose(fake_quant_weight(w, 4).double(), q * s.view(2, 1, 1, 1))


def test_straight_through_gradient():
    x = torch.tensor([0.3, 0.6], requires_grad=True)
    fake_quant_act(x, torch.tensor(0.25), 4).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
