import torch

from sdaug.engine.tiny import TEXT_LAYERS, tiny_controlnet, tiny_pipeline, tiny_tokenizer


def test_tokenizer_splits_words_and_has_a_comma_token() -> None:
    tokenizer = tiny_tokenizer()
    assert tokenizer.model_max_length == 77
    assert ",</w>" in tokenizer.get_vocab()
    prompt = "a snowy street at night, with overflowing garbage bins"
    tokens = tokenizer.tokenize(prompt)
    assert ",</w>" in tokens
    assert len(tokens) > prompt.count(" ") + 5
    ids = tokenizer("snow, rain").input_ids
    assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id


def test_pipeline_is_sd15_shaped_and_deterministic() -> None:
    first, second = tiny_pipeline(), tiny_pipeline()
    assert first.unet is not second.unet
    assert first.vae_scale_factor == 8
    assert first.text_encoder.config.max_position_embeddings == 77
    assert first.text_encoder.config.num_hidden_layers == TEXT_LAYERS
    for a, b in zip(first.unet.parameters(), second.unet.parameters(), strict=True):
        assert torch.equal(a, b)
    assert not torch.equal(next(tiny_pipeline(seed=1).unet.parameters()), next(first.unet.parameters()))
    assert tiny_controlnet().config.cross_attention_dim == first.unet.config.cross_attention_dim


def test_pipeline_runs_at_64px() -> None:
    images = tiny_pipeline()("snow", num_inference_steps=2, height=64, width=64,
                             generator=torch.Generator().manual_seed(0), output_type="np").images
    assert images.shape == (1, 64, 64, 3)
    assert images.std() > 0.01


def test_text_encoder_output_mean_is_well_away_from_zero() -> None:
    # A1111's emphasis restores the embedding mean after weighting: a mean ~0 would divide by ~0.
    pipe, again = tiny_pipeline(), tiny_pipeline()
    bias = pipe.text_encoder.final_layer_norm.bias
    assert torch.equal(bias, again.text_encoder.final_layer_norm.bias)
    assert bias.min() >= 0.5
    with torch.no_grad():
        embedding = pipe.text_encoder(pipe.tokenizer("a photo of snow", return_tensors="pt").input_ids)[0]
    assert embedding.mean() > 0.5
