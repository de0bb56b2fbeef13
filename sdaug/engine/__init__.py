"""The generation engine: the only package that imports torch and diffusers."""

import logging


class _TorchvisionFallbackFilter(logging.Filter):
    """Drops transformers' import-time note that torchvision is missing.

    sdaug never uses transformers' image processors (the safety checker is off), so the note
    would only alarm users of the CPU install, where torchvision must not be installed.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "requires torchvision (not installed)" not in record.getMessage()


logging.getLogger("transformers.utils.import_utils").addFilter(_TorchvisionFallbackFilter())
