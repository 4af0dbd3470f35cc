"""Text side: CLIP tokenizer and text encoder (frozen) and the text adapter.

The adapter is a two-layer MLP applied per token (sec. 3.2.1, "inspired by" CLIP-Adapter,
Gao et al.). CLIP-Adapter's own form, the ``sd15`` preset's: ``Linear(D, D/4, bias=False)
- ReLU - Linear(D/4, D, bias=False) - ReLU``, mixed as ``(1 - ratio) * x + ratio * MLP(x)``
(``form="blend"``, ratio 0.2), PyTorch's default init. Options (the constructor's defaults,
so folders saved before these fields existed load unchanged): linear biases, no final
ReLU, ``form="residual"`` (``x + ratio * MLP(x)``) and ``zero_init`` (last layer at zero:
a fresh residual adapter is the identity).
"""
from __future__ import annotations

import functools
from collections import Counter

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from .config import Preset

BOS, EOS = "<|startoftext|>", "<|endoftext|>"
END = "</w>"

# A small English corpus for the byte-level BPE merges of our own tokenizers: words
# of referring expressions (people, animals, objects, colours, positions).
_CORPUS = """
the a an of on in at with and or to from by near behind front left right middle center
top bottom side first second third last person man woman boy girl child baby people
player rider guy lady kid adult old young tall short big small little large hair
hairy long curly blonde dark black white red green blue yellow orange pink purple brown
grey gray golden silver light wearing holding sitting standing walking running jumping
shirt jacket coat dress hat cap glasses bag umbrella clothes sweater skirt jeans shoes
dog cat horse cow sheep zebra giraffe elephant bear bird lion tiger monkey fox rabbit
deer wolf animal furry fluffy tail fur feather leaves tree plant flower glass bottle
cup vase car bike bicycle motorcycle chair table couch bed window door wall sky water
grass snow road street field background foreground object thing head face hand arm leg
body dancing smiling looking standing playing posing is are who which that this those
one two three closest farthest nearest smaller larger biggest smallest lighter darker
transparent veil smoke fire net lace wedding bride groom portrait animation painting
""".split()


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP byte -> printable unicode character table (256 entries)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


@functools.lru_cache(maxsize=8)
def learn_merges(vocab_size: int) -> tuple[tuple[str, str], ...]:
    """Byte-level BPE merges learned on the built-in corpus, ``vocab_size - 514`` at most."""
    table = bytes_to_unicode()
    words = Counter(_CORPUS)
    splits = {}
    for word in words:
        symbols = [table[b] for b in word.encode("utf-8")]
        symbols[-1] += END
        splits[word] = symbols
    merges: list[tuple[str, str]] = []
    while len(merges) < vocab_size - 514:
        pairs: Counter = Counter()
        for word, symbols in splits.items():
            for pair in zip(symbols, symbols[1:]):
                pairs[pair] += words[word]
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        merges.append(best)
        for word, symbols in splits.items():
            merged, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    merged.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            splits[word] = merged
    return tuple(merges)


def build_tokenizer(vocab_size: int, max_length: int = 77) -> CLIPTokenizer:
    """An offline CLIP tokenizer: 256 bytes, 256 word-final bytes, learned merges,
    then ``<|startoftext|>`` and ``<|endoftext|>`` (ids ``vocab_size-2``, ``-1``).

    Every string tokenizes (any byte is in the vocabulary); unknown words just split
    into more pieces.
    """
    base = list(bytes_to_unicode().values())
    merges = learn_merges(vocab_size)
    tokens = base + [t + END for t in base] + ["".join(m) for m in merges]
    tokens = list(dict.fromkeys(tokens))
    tokens += [f"<|pad{i}|>" for i in range(vocab_size - 2 - len(tokens))]
    vocab = {tok: i for i, tok in enumerate(tokens + [BOS, EOS])}
    return CLIPTokenizer(vocab=vocab, merges=list(merges),
                         model_max_length=max_length)


def build_text_encoder(preset: Preset) -> CLIPTextModel:
    """A randomly initialised, frozen CLIPTextModel of the preset's size."""
    model = CLIPTextModel(CLIPTextConfig(**preset.text_config()))
    model.requires_grad_(False)
    return model.eval()


class TextAdapter(ModelMixin, ConfigMixin):
    """Two-layer MLP adapter on CLIP token features: (B, L, D) -> (B, L, D).

    ``bias``: biases in both linears; ``final_relu``: a ReLU after the second one too
    (CLIP-Adapter: ``bias=False, final_relu=True``)."""

    @register_to_config
    def __init__(self, dim: int = 768, reduction: int = 4, ratio: float = 0.2,
                 form: str = "residual", zero_init: bool = True, bias: bool = True,
                 final_relu: bool = False):
        super().__init__()
        if form not in ("residual", "blend"):
            raise ValueError(f"form must be 'residual' or 'blend', got {form!r}")
        if zero_init and final_relu:  # ReLU has no gradient at 0: the adapter would never train
            raise ValueError("zero_init and final_relu together leave the adapter untrainable")
        hidden = max(dim // reduction, 1)
        layers = [nn.Linear(dim, hidden, bias=bias), nn.ReLU(inplace=True), nn.Linear(hidden, dim, bias=bias)]
        self.mlp = nn.Sequential(*layers, *([nn.ReLU(inplace=True)] if final_relu else []))
        if zero_init:
            nn.init.zeros_(self.mlp[2].weight)
            if bias:
                nn.init.zeros_(self.mlp[2].bias)

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        """text (B, L, D) CLIP last hidden state -> adapted features (B, L, D)."""
        ratio = self.config.ratio
        if self.config.form == "residual":
            return text + ratio * self.mlp(text)
        return (1 - ratio) * text + ratio * self.mlp(text)


def build_text_adapter(preset: Preset) -> TextAdapter:
    """The preset's text adapter (CLIP-Adapter's for sd15 and tiny, the shipped demo's
    residual identity-at-init form for demo)."""
    return TextAdapter(dim=preset.text_hidden_size, reduction=preset.adapter_reduction,
                       ratio=preset.adapter_ratio, form=preset.adapter_form,
                       zero_init=preset.adapter_zero_init, bias=preset.adapter_bias,
                       final_relu=preset.adapter_final_relu)
