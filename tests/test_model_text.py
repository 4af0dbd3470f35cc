"""Offline tokenizer, frozen text encoder and the text adapter."""
import pytest
import torch
from transformers import CLIPTokenizer

from tdm.config import get_preset
from tdm.text import TextAdapter, build_text_adapter, build_text_encoder, build_tokenizer

TINY = get_preset("tiny")


def test_tokenizer_handles_any_text_and_roundtrips(tmp_path):
    tok = build_tokenizer(TINY.tokenizer_vocab_size)
    assert len(tok) == TINY.tokenizer_vocab_size and tok.model_max_length == 77
    text = "The LEFT zebra, 2 dogs & a qxzj 🦓 naïve"
    ids = tok(text, padding="max_length", max_length=77, truncation=True).input_ids
    assert len(ids) == 77 and ids[0] == tok.bos_token_id == len(tok) - 2
    assert tok.eos_token_id == len(tok) - 1 and tok.unk_token_id not in ids[1:ids.index(tok.eos_token_id)]
    assert tok.decode(ids, skip_special_tokens=True).split() == text.lower().replace(",", " ,").split()
    # with the demo's vocabulary common words are single tokens
    assert len(build_tokenizer(get_preset("demo").tokenizer_vocab_size)("the zebra").input_ids) == 4
    tok.save_pretrained(tmp_path)
    assert CLIPTokenizer.from_pretrained(tmp_path)(text).input_ids == tok(text).input_ids


def test_text_encoder_is_frozen_and_sized():
    encoder = build_text_encoder(TINY)
    assert not any(p.requires_grad for p in encoder.parameters())
    ids = torch.randint(0, TINY.tokenizer_vocab_size, (2, 77))
    assert encoder(ids).last_hidden_state.shape == (2, 77, TINY.text_hidden_size)


def test_adapter_starts_as_identity_and_forms_differ():
    x = torch.randn(2, 77, 32)
    adapter = build_text_adapter(TINY)
    assert adapter.config.form == "residual" and adapter.config.zero_init
    torch.testing.assert_close(adapter(x), x)
    torch.manual_seed(0)
    residual = TextAdapter(32, ratio=0.5, zero_init=False)
    blend = TextAdapter(32, ratio=0.5, form="blend", zero_init=False)
    blend.load_state_dict(residual.state_dict())
    mlp = residual.mlp(x)
    torch.testing.assert_close(residual(x), x + 0.5 * mlp)
    torch.testing.assert_close(blend(x), 0.5 * x + 0.5 * mlp)
    with pytest.raises(ValueError):
        TextAdapter(32, form="other")
