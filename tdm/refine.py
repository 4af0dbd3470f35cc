"""Sparse upsampler: alpha at processing size -> alpha at output size (up to 2K).

Two interpolation-convolution groups (appendix 6.4). Each group bilinearly upsamples the
alpha (and the previous group's hidden features) to its scale, concatenates the image at
that scale and the matting decoder's context feature read bilinearly from the decoder's
resolution, and runs 3x3 submanifold convolutions on the active set (low < alpha < high,
the paper's 0.01 < alpha < 0.99, optionally dilated) only; it adds the predicted residual
there and keeps the interpolated alpha everywhere else. Group 1 works at half the
requested size, group 2 at the requested size exactly, so no further resize is needed.

Backends for the submanifold convolutions:
- ``torch``: pure torch, exact submanifold semantics (outputs only at active sites, inputs
  only from active sites). Active sites get a row index; each 3x3 conv is 9 gathers of
  neighbour rows plus matmuls, so the cost grows with the number of active pixels.
- ``spconv``: spconv.pytorch SubMConv2d (Native algorithm), CUDA only (on CPU the torch
  backend is as exact and faster).
- ``auto``: spconv on CUDA when importable, else torch.
Weights are ordinary conv weights (Cout,Cin,3,3) shared by both backends.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import partial
from typing import Callable

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

BACKENDS = ("auto", "torch", "spconv")


@dataclass
class ActiveSet:
    """Active sites of a (B,H,W) mask.

    coords: (N,3) long (b, y, x) in row-major order; flat: (N,) their index in the padded
    grid (B,H+2,W+2); index_map: (B,H+2,W+2) long, the row of each active site and N (the
    zero row appended to features) elsewhere, including the one-pixel border;
    offsets: (9,) flat offsets of the 3x3 neighbours (dy, dx in -1..1, row-major).
    """

    coords: torch.Tensor
    flat: torch.Tensor
    index_map: torch.Tensor
    offsets: torch.Tensor

    @property
    def num(self) -> int:
        return self.coords.shape[0]

    @classmethod
    def from_mask(cls, mask: torch.Tensor) -> "ActiveSet":
        """Build from a bool mask (B,H,W)."""
        b, h, w = mask.shape
        coords = mask.nonzero()
        n = coords.shape[0]
        hp, wp = h + 2, w + 2
        flat = coords[:, 0] * (hp * wp) + (coords[:, 1] + 1) * wp + coords[:, 2] + 1
        index_map = torch.full((b, hp, wp), n, dtype=torch.long, device=mask.device)
        index_map.view(-1)[flat] = torch.arange(n, device=mask.device)
        offsets = torch.tensor([dy * wp + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1)], device=mask.device)
        return cls(coords, flat, index_map, offsets)

    def neighbours(self, rows: slice = slice(None)) -> torch.Tensor:
        """(n,9) feature rows of the 3x3 neighbours of the active sites ``rows`` (made per
        chunk: for a whole 2K frame they would be the largest tensor of the upsampler)."""
        return self.index_map.view(-1)[self.flat[rows, None] + self.offsets]

    def gather(self, dense: torch.Tensor) -> torch.Tensor:
        """(B,C,H,W) dense -> (N,C) values at the active sites."""
        b, c, h, w = dense.shape
        idx = self.coords[:, 0] * (h * w) + self.coords[:, 1] * w + self.coords[:, 2]
        return dense.movedim(1, -1).reshape(-1, c).index_select(0, idx)

    def scatter(self, feats: torch.Tensor, size: tuple[int, int], batch: int) -> torch.Tensor:
        """(N,C) -> dense (B,C,H,W) with zeros at inactive sites."""
        out = feats.new_zeros(batch, feats.shape[1], *size)
        b, y, x = self.coords.unbind(1)
        out[b, :, y, x] = feats
        return out


def submanifold_conv3x3(
    feats: torch.Tensor, active: ActiveSet, weight: torch.Tensor, bias: torch.Tensor | None, chunk: int = 1 << 15
) -> torch.Tensor:
    """3x3 submanifold convolution (N,Cin) -> (N,Cout) with a conv2d weight (Cout,Cin,3,3).

    Equals conv2d(x * mask, padding=1) * mask at the active sites. Rows are processed in
    chunks: gather the 9 neighbour rows (chunk, 9*Cin), one matmul with the (9*Cin, Cout)
    weight, so memory stays bounded at 2K.
    """
    cin, cout, n = weight.shape[1], weight.shape[0], feats.shape[0]
    taps = weight.permute(2, 3, 1, 0).reshape(9 * cin, cout)
    bias = feats.new_zeros(cout) if bias is None else bias

    def rows(i: int) -> torch.Tensor:
        # row n (an inactive neighbour) reads as zeros, without copying feats to append it
        nbr = active.neighbours(slice(i, i + chunk)).reshape(-1)
        gathered = feats.index_select(0, nbr.clamp(max=n - 1)) * (nbr < n).unsqueeze(1).to(feats.dtype)
        return torch.addmm(bias, gathered.view(-1, 9 * cin), taps)

    outs = [rows(i) for i in range(0, n, chunk)]
    return torch.cat(outs) if outs else feats.new_zeros(0, cout)


Reader = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def _bilinear(read: Reader, dst_coords: torch.Tensor, src_size: tuple[int, int], dst_size: tuple[int, int],
              dtype: torch.dtype, chunk: int = 1 << 16) -> torch.Tensor:
    """Bilinear resize (align_corners=False) read at dst_coords (N,3) (b,y,x) of a grid of
    dst_size; ``read(coords, y, x)`` returns the (n,C) source values at source rows/columns
    y, x (n,) for the sites ``coords`` (n,3)."""

    def axis(dst: torch.Tensor, n_in: int, n_out: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        pos = ((dst.to(dtype) + 0.5) * (n_in / n_out) - 0.5).clamp(min=0)
        lo = pos.floor().long().clamp(max=n_in - 1)
        hi = (lo + 1).clamp(max=n_in - 1)
        return lo, hi, (pos - lo.to(dtype))[:, None]

    def rows(coords: torch.Tensor) -> torch.Tensor:
        y0, y1, ly = axis(coords[:, 1], src_size[0], dst_size[0])
        x0, x1, lx = axis(coords[:, 2], src_size[1], dst_size[1])
        top = read(coords, y0, x0) * (1 - lx) + read(coords, y0, x1) * lx
        bottom = read(coords, y1, x0) * (1 - lx) + read(coords, y1, x1) * lx
        return top * (1 - ly) + bottom * ly

    # in chunks of sites, so the temporaries stay small at 2K
    return torch.cat([rows(c) for c in dst_coords.split(chunk)]) if len(dst_coords) else rows(dst_coords)


def sparse_bilinear(
    feats: torch.Tensor, src: ActiveSet, src_size: tuple[int, int], dst_coords: torch.Tensor, dst_size: tuple[int, int]
) -> torch.Tensor:
    """Bilinear resize (align_corners=False) of sparse features, read at dst_coords.

    feats (N_src,C) live on ``src`` (zeros elsewhere); dst_coords (N_dst,3) (b,y,x) on a
    grid of dst_size -> (N_dst,C), equal to F.interpolate of the zero-filled dense map.
    """
    padded = torch.cat([feats, feats.new_zeros(1, feats.shape[1])])
    hp, wp = src_size[0] + 2, src_size[1] + 2
    rows = src.index_map.view(-1)

    def read(coords: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return padded.index_select(0, rows.index_select(0, coords[:, 0] * (hp * wp) + (y + 1) * wp + x + 1))

    return _bilinear(read, dst_coords, src_size, dst_size, feats.dtype)


def dense_bilinear(dense: torch.Tensor, dst_coords: torch.Tensor, dst_size: tuple[int, int]) -> torch.Tensor:
    """F.interpolate(dense (B,C,H,W), dst_size, bilinear) read at dst_coords (N,3) -> (N,C),
    without building the dense map at dst_size."""
    b, c, h, w = dense.shape
    flat = dense.movedim(1, -1).reshape(-1, c)

    def read(coords: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return flat.index_select(0, coords[:, 0] * (h * w) + y * w + x)

    return _bilinear(read, dst_coords, (h, w), dst_size, dense.dtype)


def _spconv_weight(conv_weight_shape: torch.Size, weight: torch.Tensor) -> torch.Tensor:
    """Convert a (Cout,Cin,3,3) weight to the layout an spconv SubMConv2d holds."""
    from spconv.constants import FILTER_HWIO

    candidates = {
        "KRSC": weight.permute(0, 2, 3, 1),
        "RSCK": weight.permute(2, 3, 1, 0),
        "RSKC": weight.permute(2, 3, 0, 1),
    }
    matches = [k for k, v in candidates.items() if v.shape == conv_weight_shape]
    if len(matches) > 1 and "KRSC" not in matches:
        matches = ["RSCK" if FILTER_HWIO else "RSKC"]
    if not matches:
        raise RuntimeError(f"unexpected spconv weight shape {tuple(conv_weight_shape)}")
    return candidates[matches[0]].contiguous()


class _SpconvGroup:
    """Runs one group's convolutions with spconv SubMConv2d (CUDA only), sharing the rulebook."""

    def __init__(self, active: ActiveSet, size: tuple[int, int], batch: int):
        import spconv.pytorch as spconv
        from spconv.core import ConvAlgo

        self.spconv, self.algo = spconv, ConvAlgo.Native
        # spconv reads the index buffer as a dense (N,3) int32 array: torch's nonzero() may
        # return it column-major, and .int() keeps those strides, so make it contiguous.
        indices = active.coords.int().contiguous()
        self.tensor = spconv.SparseConvTensor(
            torch.empty(active.num, 0, device=indices.device), indices, list(size), batch
        )

    def conv(self, feats: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """(N,Cin) -> (N,Cout); gradients flow to ``weight`` and ``bias``."""
        # Native (gather-GEMM-scatter) takes any channel count and dtype, where the implicit
        # GEMM kernels refuse some ("can't find suitable algorithm", spconv issue #455);
        # it is also the algorithm CI runs on CPU (tests/test_tdm_refine.py).
        layer = self.spconv.SubMConv2d(weight.shape[1], weight.shape[0], 3, bias=True,
                                       indice_key="group", algo=self.algo)
        layer = layer.to(device=feats.device, dtype=feats.dtype)
        shape = layer.weight.shape
        del layer.weight, layer.bias
        layer.weight = _spconv_weight(shape, weight)
        layer.bias = bias
        self.tensor = layer(self.tensor.replace_feature(feats))
        return self.tensor.features


def spconv_available() -> bool:
    """True when spconv is importable and CUDA is present (its CPU path is never used)."""
    return torch.cuda.is_available() and importlib.util.find_spec("spconv") is not None


def downscale(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Antialiased bilinear resize of (B,C,H,W) to ``size``; computed in float32 where
    torch lacks a half-precision kernel (antialias on CPU)."""
    work = image.float() if image.device.type == "cpu" else image
    return F.interpolate(work, size=size, mode="bilinear", align_corners=False, antialias=True).to(image.dtype)


class SparseUpsampler(ModelMixin, ConfigMixin):
    """Two interpolation-convolution groups refining alpha only where it is transparent.

    Each group: ``num_convs`` 3x3 convs (ReLU between) from (alpha, RGB, decoder context,
    previous group's hidden) to ``hidden_channels`` and a last 3x3 conv to a 1-channel
    residual (zero-initialised, so an untrained upsampler is bilinear interpolation).

    ``context_channels``: channels of the decoder's context feature it reads (the
    decoder's ``context_channels``); 0, the value of folders saved before this input
    existed, reads none. The active set is ``low < alpha < high`` dilated by
    ``dilation`` px (0: the paper's rule; old folders were saved with 2).
    """

    @register_to_config
    def __init__(
        self,
        hidden_channels: int = 16,
        num_convs: int = 2,
        dilation: int = 0,
        low: float = 0.01,
        high: float = 0.99,
        backend: str = "auto",
        context_channels: int = 0,
    ):
        super().__init__()
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.groups = nn.ModuleList()
        for g in range(2):
            in_ch = 4 + context_channels + (hidden_channels if g else 0)
            widths = [in_ch] + [hidden_channels] * num_convs
            body = nn.ModuleList(nn.Conv2d(widths[i], widths[i + 1], 3, padding=1) for i in range(num_convs))
            out = nn.Conv2d(hidden_channels, 1, 3, padding=1)
            nn.init.zeros_(out.weight)
            nn.init.zeros_(out.bias)
            self.groups.append(nn.ModuleDict({"body": body, "out": out}))

    def resolve_backend(self, device: torch.device, backend: str | None = None) -> str:
        """The backend actually used on ``device`` ("torch" or "spconv")."""
        backend = backend or self.config.backend
        if backend == "auto":
            return "spconv" if device.type == "cuda" and spconv_available() else "torch"
        if backend == "spconv" and device.type != "cuda":
            raise ValueError("the spconv backend runs on CUDA only (on CPU use the torch backend)")
        return backend

    def active_mask(self, alpha: torch.Tensor) -> torch.Tensor:
        """(B,1,H,W) alpha -> (B,H,W) bool: (low < alpha < high), dilated by ``dilation``."""
        m = ((alpha > self.config.low) & (alpha < self.config.high)).to(alpha.dtype)
        r = self.config.dilation
        if r > 0:
            m = F.max_pool2d(m, 2 * r + 1, stride=1, padding=r)
        return m[:, 0] > 0

    def _check_context(self, alpha: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor | None:
        """The context to read: None when the upsampler has no context input."""
        want = self.config.context_channels
        if not want:
            return None
        if context is None:
            raise ValueError(f"this upsampler reads the decoder's context feature ({want} channels): pass context")
        if context.shape[1] != want or context.shape[-2:] != alpha.shape[-2:]:
            raise ValueError(f"context must be (B,{want},H,W) at the alpha's size {tuple(alpha.shape[-2:])}, "
                             f"got {tuple(context.shape)}")
        return context.to(alpha.dtype)

    def forward(self, image: torch.Tensor, alpha: torch.Tensor, context: torch.Tensor | None = None,
                backend: str | None = None) -> torch.Tensor:
        """image (B,3,H2,W2) in [-1,1], alpha (B,1,H,W) in [0,1], context (B,Cc,H,W) the
        decoder's context feature (ignored when ``context_channels`` is 0) -> alpha
        (B,1,H2,W2) in [0,1].

        Frames are refined one at a time (they never interact), so the sparse tensors of
        a 2K output exist for one frame only: memory does not grow with the batch."""
        context = self._check_context(alpha.to(image.dtype), context)
        which, live = self.resolve_backend(image.device, backend), self.refining_groups()
        return torch.cat([
            self._refine(image[i:i + 1], alpha[i:i + 1], None if context is None else context[i:i + 1],
                         which, live)
            for i in range(image.shape[0])])

    def refining_groups(self) -> int:
        """How many groups, from the first, can change alpha: the groups after them have a
        zero last conv (zero-initialised, never trained), so their residual is exactly 0
        and without gradients to take (``torch.is_grad_enabled()`` False) only their
        interpolation runs. 0 for an untrained upsampler: bilinear at no convolution cost."""
        if torch.is_grad_enabled():
            return len(self.groups)
        live = len(self.groups)
        while live and not any(p.any() for p in self.groups[live - 1]["out"].parameters()):
            live -= 1
        return live

    def _refine(self, image: torch.Tensor, alpha: torch.Tensor, context: torch.Tensor | None,
                which: str, live: int) -> torch.Tensor:
        """``forward`` for one frame (B = 1), on backend ``which``, convolving the first
        ``live`` groups (``refining_groups``; both decided once per batch)."""
        batch, (h2, w2) = image.shape[0], image.shape[-2:]
        sizes = [((h2 + 1) // 2, (w2 + 1) // 2), (h2, w2)]
        alpha = alpha.to(image.dtype)
        hidden: tuple[torch.Tensor, ActiveSet, tuple[int, int]] | None = None
        for g, (group, size) in enumerate(zip(self.groups, sizes)):
            alpha = F.interpolate(alpha, size=size, mode="bilinear", align_corners=False)
            if g >= live:
                continue
            active = ActiveSet.from_mask(self.active_mask(alpha))
            if active.num == 0:
                hidden = None
                continue
            img = image if size == (h2, w2) else downscale(image, size)
            inputs = [active.gather(alpha), active.gather(img)]
            if context is not None:
                inputs.append(dense_bilinear(context, active.coords, size))
            if g:
                inputs.append(
                    sparse_bilinear(hidden[0], hidden[1], hidden[2], active.coords, size)
                    if hidden is not None
                    else alpha.new_zeros(active.num, self.config.hidden_channels)
                )
            feats = torch.cat(inputs, dim=1)
            del inputs  # at 2K each of them is a large (N, C) tensor
            conv = _SpconvGroup(active, size, batch).conv if which == "spconv" else partial(submanifold_conv3x3, active=active)
            for layer in group["body"]:
                feats = F.relu(conv(feats, weight=layer.weight, bias=layer.bias), inplace=True)
            hidden = (feats, active, size)
            residual = conv(feats, weight=group["out"].weight, bias=group["out"].bias)[:, 0]
            b, y, x = active.coords.unbind(1)
            alpha = alpha.clone()
            alpha[b, 0, y, x] = (alpha[b, 0, y, x] + residual).clamp(0, 1)
        return alpha
