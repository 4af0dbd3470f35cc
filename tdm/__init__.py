"""tdm: text-prompted alpha matting with a single-step diffusion U-Net."""
from .build import build_pipeline
from .config import Preset, get_preset
from .pipeline import TDMPipeline, TDMPipelineOutput

__all__ = ["TDMPipeline", "TDMPipelineOutput", "Preset", "build_pipeline", "get_preset"]
