"""The texts of :data:`sdaug.errors.MESSAGES`: ``key: (english, chinese)`` with the same
``{placeholders}`` in both (a test checks). Grouped by area in the modules of this package; data only.

``ZH_WORDS`` are English words that fill a placeholder (field names, statuses, splits, ...) and
their Chinese, used when a message is shown in Chinese.
"""

from __future__ import annotations

from sdaug.error_messages import dataset, general, generation

MESSAGES: dict[str, tuple[str, str]] = {**general.MESSAGES, **dataset.MESSAGES, **generation.MESSAGES}

# Words filled into messages, in Chinese mode: field and option names that a person meets in the
# UI, statuses, splits and other words of ours. A value the message quotes ({name!r}) is never
# translated (it is the user's own text).
ZH_WORDS = {
    "prompt": "提示词", "negative prompt": "反向提示词", "image": "图片", "category": "类别",
    # Generation fields (sdaug.engine.request) and pasted parameters (sdaug.prompts.params).
    "mode": "模式", "steps": "步数", "cfg_scale": "CFG 引导强度", "width": "宽度", "height": "高度",
    "batch_size": "每批张数", "batch_count": "批次数", "denoising_strength": "改变强度",
    "control_weight": "控制权重", "control_start": "控制开始", "control_end": "控制结束", "clip_skip": "CLIP 跳过层数",
    "seed": "种子", "seeds": "种子", "negative_prompt": "反向提示词", "sampler": "采样器",
    "schedule_type": "调度类型", "control_type": "控制类型", "model": "模型", "controlnet_model": "ControlNet 模型",
    "Steps": "步数", "CFG scale": "CFG 引导强度", "Seed": "种子", "Denoising strength": "改变强度",
    "Clip skip": "CLIP 跳过层数", "Schedule type": "调度类型", "RNG": "随机数来源",
    # Jobs, exports, settings.
    "format": "格式", "image format": "图片格式", "JPEG quality": "JPEG 质量", "split": "数据划分",
    "status": "状态", "engine": "引擎", "backend": "运行方式", "variants": "每张源图的变体数",
    "batch size": "每批张数", "preset kind": "预设类型", "epochs": "训练轮数", "image_size": "图片尺寸",
    "device": "设备", "dtype": "数据类型", "memory_mode": "显存模式", "lang": "语言", "attention": "注意力实现",
    "variant_format": "变体图片格式", "variant_quality": "变体图片质量",
    # Statuses, splits and other words.
    "unlabelled": "未标注", "labelled": "已标注", "review": "待审核", "reviewed": "已审核", "rejected": "已拒绝",
    "train": "训练集", "val": "验证集", "test": "测试集", "any": "任意", "unknown": "未知",
    "origin": "来源", "weather": "天气", "lighting": "光照", "control type": "控制类型", "box_strength": "框内强度",
    "background_strength": "背景强度", "strength": "改变强度（strength）",
    "reorder": "调整顺序", "delete": "删除", "CLIP model": "CLIP 模型", "detector": "检测器", "workers": "工作进程数",
    "only .bin pickled weights": "只有 .bin 格式的 pickle 权重",
}
