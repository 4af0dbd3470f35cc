"""Annotation tools: BLIP-2 captions and ViTMatte alpha with tiny random models; closed form."""
import json

import cv2
import numpy as np

from tdm.data.annotate import alpha_from_mask, caption_images, trimap_from_mask


def _tiny_blip2():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (Blip2Config, Blip2ForConditionalGeneration, Blip2Processor, BlipImageProcessor,
                              OPTConfig, PreTrainedTokenizerFast)

    words = ["<pad>", "</s>", "<s>", "<unk>", "<image>"] + [f"w{i}" for i in range(30)]
    vocab = {w: i for i, w in enumerate(words)}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<pad>", eos_token="</s>", bos_token="<s>", unk_token="<unk>")
    tok.add_special_tokens({"additional_special_tokens": ["<image>"]})
    text = OPTConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, ffn_dim=32, num_attention_heads=2,
                     word_embed_proj_dim=16, max_position_embeddings=128, pad_token_id=0, bos_token_id=2, eos_token_id=1)
    cfg = Blip2Config(
        vision_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, image_size=32, patch_size=16),
        qformer_config=dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, encoder_hidden_size=16, vocab_size=40),
        text_config=text.to_dict(), num_query_tokens=4, image_token_index=vocab["<image>"])
    processor = Blip2Processor(image_processor=BlipImageProcessor(size={"height": 32, "width": 32}), tokenizer=tok, num_query_tokens=4)
    return Blip2ForConditionalGeneration(cfg), processor


def test_caption_images_writes_json(tmp_path):
    for name in ("a.jpg", "b.png"):
        cv2.imwrite(str(tmp_path / name), np.random.default_rng(0).integers(0, 255, (20, 30, 3), dtype=np.uint8))
    model, processor = _tiny_blip2()
    out = tmp_path / "captions.json"
    caps = caption_images(tmp_path, out, model, processor, batch_size=2, max_new_tokens=3)
    assert set(json.loads(out.read_text())) == {"a.jpg", "b.png"} == set(caps)
    assert all(isinstance(v, str) for v in caps.values())


def _soft_disc(h=48, w=48):
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot(yy - h / 2, xx - w / 2)
    gt = np.clip((14 - r) / 4 + 0.5, 0, 1)
    fg, bg = np.array([230, 40, 40.0]), np.array([20, 60, 200.0])
    image = (gt[..., None] * fg + (1 - gt[..., None]) * bg).round().astype(np.uint8)
    return image, gt


def test_trimap_and_closed_form_close_to_gt():
    image, gt = _soft_disc()
    trimap = trimap_from_mask(gt > 0.5, kernel=7)
    assert set(np.unique(trimap)) == {0.0, 0.5, 1.0}
    alpha = alpha_from_mask(image, gt > 0.5, kernel=7)
    assert alpha.shape == gt.shape and alpha.dtype == np.float32
    assert np.abs(alpha - gt).mean() < 0.02
    assert np.abs(alpha - gt).mean() < 0.5 * np.abs((gt > 0.5) - gt).mean()  # better than the mask


def test_vitmatte_tiny_model_runs():
    from transformers import VitDetConfig, VitMatteConfig, VitMatteForImageMatting, VitMatteImageProcessor

    backbone = VitDetConfig(num_channels=4, image_size=32, patch_size=16, hidden_size=16, num_hidden_layers=1,
                            num_attention_heads=2, mlp_ratio=2, out_features=["stage1"])
    cfg = VitMatteConfig(backbone_config=backbone, hidden_size=16, convstream_hidden_sizes=[8, 8, 8],
                         fusion_hidden_sizes=[8, 8, 8, 8])
    image, gt = _soft_disc(40, 44)
    alpha = alpha_from_mask(image, gt > 0.5, model=VitMatteForImageMatting(cfg), processor=VitMatteImageProcessor(), kernel=7)
    assert alpha.shape == (40, 44) and 0 <= alpha.min() and alpha.max() <= 1
    assert alpha[20, 22] == 1.0 and alpha[0, 0] == 0.0
