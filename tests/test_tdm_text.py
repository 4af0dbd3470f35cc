"""Offline tokenizer, frozen text encoder and the text adapter."""
import json

import pytest
import torch
from safetensors.torch import load_file
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


def test_default_adapter_is_clip_adapters():
    """sd15 (and tiny): Linear(no bias) - ReLU - Linear(no bias) - ReLU, blended at 0.2."""
    for preset in (get_preset("sd15"), TINY):
        adapter = build_text_adapter(preset)
        d = preset.text_hidden_size
        assert dict(adapter.named_parameters()).keys() == {"mlp.0.weight", "mlp.2.weight"}
        assert adapter.mlp[0].weight.shape == (d // 4, d) and adapter.mlp[2].weight.shape == (d, d // 4)
        assert adapter.config.form == "blend" and adapter.config.ratio == 0.2
    torch.manual_seed(0)
    x = torch.randn(2, 77, 32)
    adapter = build_text_adapter(TINY)
    w1, w2 = adapter.mlp[0].weight, adapter.mlp[2].weight
    by_hand = 0.8 * x + 0.2 * torch.relu(torch.relu(x @ w1.T) @ w2.T)
    torch.testing.assert_close(adapter(x), by_hand)
    assert (adapter.mlp(x) >= 0).all()  # the final ReLU
    # a zero-initialised last layer behind a ReLU gets no gradient, ever
    with pytest.raises(ValueError):
        TextAdapter(32, zero_init=True, final_relu=True)


def test_old_adapter_folders_load_and_give_the_same_output(tmp_path):
    """A folder saved before bias/final_relu existed (the first shipped demos) keeps its
    biased residual form: the missing fields mean the old defaults."""
    torch.manual_seed(0)
    TextAdapter(32, form="residual", zero_init=False, bias=True, final_relu=False).save_pretrained(tmp_path / "old")
    config_path = tmp_path / "old" / "config.json"
    config = json.loads(config_path.read_text())
    del config["bias"], config["final_relu"]
    config_path.write_text(json.dumps(config))
    saved = load_file(tmp_path / "old" / "diffusion_pytorch_model.safetensors")
    adapter = TextAdapter.from_pretrained(tmp_path / "old")
    assert adapter.config.bias and not adapter.config.final_relu
    x = torch.randn(2, 77, 32)
    hidden = torch.relu(x @ saved["mlp.0.weight"].T + saved["mlp.0.bias"])
    by_hand = x + 0.2 * (hidden @ saved["mlp.2.weight"].T + saved["mlp.2.bias"])
    torch.testing.assert_close(adapter(x), by_hand)
    # every preset now builds CLIP-Adapter's exact form, and a new folder keeps its fields
    demo = build_text_adapter(get_preset("demo"))
    assert demo.config.form == "blend" and not demo.config.bias and demo.config.final_relu
    build_text_adapter(TINY).save_pretrained(tmp_path / "new")
    assert not TextAdapter.from_pretrained(tmp_path / "new").config.bias


def test_adapter_forms_differ():
    x = torch.randn(2, 77, 32)
    torch.manual_seed(0)
    residual = TextAdapter(32, ratio=0.5, zero_init=False)
    blend = TextAdapter(32, ratio=0.5, form="blend", zero_init=False)
    blend.load_state_dict(residual.state_dict())
    mlp = residual.mlp(x)
    torch.testing.assert_close(residual(x), x + 0.5 * mlp)
    torch.testing.assert_close(blend(x), 0.5 * x + 0.5 * mlp)
    with pytest.raises(ValueError):
        TextAdapter(32, form="other")
