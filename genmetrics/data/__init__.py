"""Image sources: folders, zips, npy/npz arrays, tensors and iterables -> HxWx3 uint8 images."""
from .archives import load_array_file
from .sources import (IMAGE_EXTENSIONS, ArraySource, BadImage, FileListSource, FolderSource, IterableSource, Source,
                      ZipSource, open_images)

__all__ = ["IMAGE_EXTENSIONS", "ArraySource", "BadImage", "FileListSource", "FolderSource", "IterableSource", "Source",
           "ZipSource", "load_array_file", "open_images"]
