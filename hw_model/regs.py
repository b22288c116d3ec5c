"""The chunk's run-time registers: one layer's program, as a packed configuration word, and the layer
descriptor that carries it to the accelerator top.

This list is the single definition of the register map: rtl_gen decodes the `cfg` port with it, sim packs it,
and rtl_gen.regmap generates the Markdown, C header and Python module of it.
"""
from __future__ import annotations

from dataclasses import dataclass

from .mapping import LayerGeometry


@dataclass(frozen=True)
class Field:
    name: str
    width: int
    doc: str


REGISTERS: tuple[Field, ...] = (
    Field("in_h", 16, "input map height H"),
    Field("in_w", 16, "input map width W"),
    Field("in_nb", 16, "input channel beats: ceil(N / V_in)"),
    Field("out_h", 16, "output map height"),
    Field("out_w", 16, "output map width"),
    Field("out_nb", 16, "output channel beats: ceil(M / V_out)"),
    Field("kernel", 8, "kernel size K"),
    Field("stride", 8, "stride S"),
    Field("pad", 8, "zero padding P"),
    Field("trb", 16, "output rows per tile"),
    Field("tcb", 16, "output columns per tile"),
    Field("rows_in", 16, "input rows per tile: (trb-1)*S + K"),
    Field("cols_in", 16, "input columns per tile: (tcb-1)*S + K"),
    Field("kb_in", 16, "input-channel tile in beats (tnb = kb_in * V_in)"),
    Field("kb_out", 16, "output-channel tile in beats (tmb = kb_out * V_out)"),
    Field("ng", 16, "input-channel groups of tn per tile: ceil(tnb / tn)"),
    Field("ng_last", 8, "valid lanes of the last input-channel group"),
    Field("mg", 16, "output-channel groups of tm per tile: ceil(tmb / tm)"),
    Field("n_m", 16, "output-channel tiles"),
    Field("n_r", 16, "output-row tiles"),
    Field("n_c", 16, "output-column tiles"),
    Field("n_n", 16, "input-channel tiles"),
    Field("ob_sel", 4, "index of out_bits in the chunk's out_bits list"),
    Field("w_tile_beats", 32, "weight beats per step"),
    Field("p_tile_beats", 16, "requantization-record beats per output-channel tile"),
    Field("in_row_beats", 32, "beats per input row: W * in_nb"),
    Field("out_row_beats", 32, "beats per output row: out_w * out_nb"),
    Field("in_plane", 32, "input-buffer words per channel group: rows_in * cols_in"),
    Field("acc_plane", 32, "accumulator words per channel group: trb * cgs"),
    Field("cgs", 16, "compute column steps per tile row: tcb, or ceil(tcb / tn) on a pixel chunk"),
    # strides of the address generators (rtl_gen.walk): products of the fields above, so the RTL only adds
    Field("in_row_step", 32, "input-buffer words per output row of a tile: S * cols_in"),
    Field("h_step", 16, "input rows per output-row tile: trb * S"),
    Field("w_step", 16, "input columns per output-column tile: tcb * S"),
    Field("in_tile_row", 32, "beats between output-row tiles' inputs: trb * S * in_row_beats"),
    Field("in_tile_col", 32, "beats between output-column tiles' inputs: tcb * S * in_nb"),
    Field("act_origin", 32, "beat address of input pixel (-P, -P): act_base - P * (in_row_beats + in_nb), mod 2^32"),
    Field("out_tile_row", 32, "beats between output-row tiles: trb * out_row_beats"),
    Field("out_tile_col", 32, "beats between output-column tiles: tcb * out_nb"),
    Field("act_base", 32, "beat address of the input activations"),
    Field("w_base", 32, "beat address of the weights"),
    Field("p_base", 32, "beat address of the requantization records"),
    Field("out_base", 32, "beat address of the output activations"),
    # vector chunks (residual add, average pool); conv chunks ignore these
    Field("vop", 2, "vector op: 0 residual add (a at act_base, b at w_base), 1 global average pool"),
    Field("channels", 16, "channels C"),
    Field("pixels", 32, "pixels of the map: H * W"),
    Field("n_steps", 16, "steps of tcb pixels"),
    Field("mult_a", 16, "multiplier of input a (of the pool's sum)"),
    Field("mult_b", 16, "multiplier of input b"),
    Field("vshift", 6, "right shift after the multiply-add (rounding half up)"),
)

CFG_BITS = sum(f.width for f in REGISTERS)


def field_offsets() -> dict[str, tuple[int, int]]:
    """name -> (lsb, width) in the packed cfg word."""
    out, off = {}, 0
    for f in REGISTERS:
        out[f.name] = (off, f.width)
        off += f.width
    return out


@dataclass(frozen=True)
class Addresses:
    act_base: int
    w_base: int
    p_base: int
    out_base: int


def program(g: LayerGeometry, addr: Addresses, vparams: tuple[int, int, int] | None = None) -> dict[str, int]:
    """The register values that run layer `g` on its chunk. Vector ops take vparams = (mult_a, mult_b, shift)."""
    L, m = g.layer, g.mapping
    if L.vector:
        return _vector_program(g, addr, vparams)
    ho, wo = L.out_size
    values = dict(
        in_h=L.in_size[0], in_w=L.in_size[1], in_nb=g.in_nb, out_h=ho, out_w=wo, out_nb=g.out_nb,
        kernel=L.kernel, stride=L.stride, pad=L.padding, trb=m.trb, tcb=m.tcb,
        rows_in=g.rows_in, cols_in=g.cols_in, kb_in=m.kb_in, kb_out=m.kb_out, ng=g.ng, ng_last=g.ng_last,
        mg=g.mg, n_m=g.n_m, n_r=g.n_r, n_c=g.n_c, n_n=g.n_n, ob_sel=g.chunk.out_bits.index(L.out_bits),
        w_tile_beats=g.w_tile_beats, p_tile_beats=g.p_tile_beats,
        in_row_beats=L.in_size[1] * g.in_nb, out_row_beats=wo * g.out_nb,
        in_plane=g.rows_in * g.cols_in, acc_plane=m.trb * g.cgs, cgs=g.cgs,
        in_row_step=L.stride * g.cols_in, h_step=m.trb * L.stride, w_step=m.tcb * L.stride,
        in_tile_row=m.trb * L.stride * L.in_size[1] * g.in_nb, in_tile_col=m.tcb * L.stride * g.in_nb,
        act_origin=(addr.act_base - L.padding * (L.in_size[1] * g.in_nb + g.in_nb)) % (1 << 32),
        out_tile_row=m.trb * wo * g.out_nb, out_tile_col=m.tcb * g.out_nb,
        act_base=addr.act_base, w_base=addr.w_base, p_base=addr.p_base, out_base=addr.out_base,
        vop=0, channels=0, pixels=0, n_steps=0, mult_a=0, mult_b=0, vshift=0,
    )
    return _checked(values)


def _vector_program(g: LayerGeometry, addr: Addresses, vparams) -> dict[str, int]:
    if vparams is None:
        raise ValueError(f"layer {g.layer.name!r}: a vector op needs (mult_a, mult_b, shift)")
    ma, mb, sh = (int(v) for v in vparams)
    values = {f.name: 0 for f in REGISTERS}
    values.update(in_nb=g.in_nb, out_nb=g.out_nb, tcb=g.tcb, ob_sel=g.chunk.out_bits.index(g.layer.out_bits),
                  act_base=addr.act_base, w_base=addr.w_base, out_base=addr.out_base, vop=g.pool, channels=g.C,
                  pixels=g.P, n_steps=g.n_steps, mult_a=ma, mult_b=mb if not g.pool else 0, vshift=sh)
    return _checked(values)


def _checked(values: dict[str, int]) -> dict[str, int]:
    for f in REGISTERS:
        assert 0 <= values[f.name] < (1 << f.width), (f.name, values[f.name])
    return values


def pack_cfg(values: dict[str, int]) -> int:
    word = 0
    for name, (off, width) in field_offsets().items():
        word |= (values[name] & ((1 << width) - 1)) << off
    return word


# A layer descriptor: the top's chunk select and the cfg word, in 32-bit words (little end first):
#   word 0: sel (bits 7:0; the chunk's index in the config), words 1..: cfg bits [32*(i-1), 32*i)
DESC_SEL_BITS = 8
DESC_SEL_WORDS = 1
DESC_CFG_BIT = 32 * DESC_SEL_WORDS   # the cfg word's first bit in the descriptor
CFG_WORDS = -(-CFG_BITS // 32)
DESC_WORDS = DESC_SEL_WORDS + CFG_WORDS


def descriptor(sel: int, cfg_word: int) -> list[int]:
    """One layer's descriptor as 32-bit words."""
    if not 0 <= sel < (1 << DESC_SEL_BITS):
        raise ValueError(f"sel {sel} out of range")
    return [sel] + [(cfg_word >> (32 * i)) & 0xFFFFFFFF for i in range(CFG_WORDS)]
